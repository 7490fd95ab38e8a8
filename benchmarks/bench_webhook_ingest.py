"""Webhook ingest on loopback: requests/s and p50/p99 latency of ``POST /webhooks/jellyfin``, no event lost.

Marquee runs in its own process (uvicorn, no worker) on an embedded PostgreSQL and Redis (or
``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL``); an httpx client sends distinct PlaybackStop payloads
with bounded concurrency. Afterwards every request must be a 202, stored once and queued once.

Run: ``.venv/bin/python -m benchmarks.bench_webhook_ingest`` (goal: >= 1,000 req/s, p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis
from sqlalchemy import text

from sidecar.db.engine import make_engine
from sidecar.db.migrate import migrate
from sidecar.embedded_postgres import start_postgres
from sidecar.embedded_redis import EmbeddedRedis
from sidecar.services import QUEUE_NAME

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "examples/webhooks/jellyfin/playback-stop.json").read_text())
SECRET = "bench-webhook-secret"

SERVER = """
import uvicorn
from sidecar.app import create_app
from sidecar.runtime import tune_gc
from sidecar.settings import Settings
app = create_app(Settings(run_worker=False))
tune_gc()  # as `marquee serve` does
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body(n: int) -> bytes:
    doc = dict(SAMPLE)
    doc["UtcTimestamp"] = f"2026-05-09T20:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}0000Z"
    doc["PlaybackPositionTicks"] = 63_900_000_000 + n
    return json.dumps(doc).encode()


async def load(base: str, total: int, concurrency: int) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    bodies = [body(n) for n in range(total)]
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            nonlocal next_index
            while next_index < total:
                payload = bodies[next_index]
                next_index += 1
                started = time.perf_counter()
                response = await client.post(
                    f"/webhooks/jellyfin?token={SECRET}",
                    content=payload,
                    headers={"Content-Type": "text/plain; charset=utf-8"},
                )
                latencies.append(1000 * (time.perf_counter() - started))
                statuses.append(response.status_code)

        # warm-up (connections, first queries) is not measured
        for n in range(20):
            await client.post(f"/webhooks/jellyfin?token={SECRET}", content=body(10_000_000 + n))
        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, statuses, elapsed


WRK_SCRIPT = """
local template = [==[%s]==]
local counter = 0
function setup(thread)
  thread:set("tid", __tid or 0)
  __tid = (__tid or 0) + 1
end
function request()
  counter = counter + 1
  local body = string.gsub(template, "__N__", tostring(tid * 100000000 + counter))
  return wrk.format("POST", "/webhooks/jellyfin?token=%s", {["Content-Type"] = "text/plain; charset=utf-8"}, body)
end
"""


def load_with_wrk(base: str, seconds: int, connections: int) -> tuple[int, float, dict[str, float], int]:
    """(requests, elapsed s, latency percentiles in ms, non-2xx) from Debian's wrk: a C client that
    leaves the cores to the server. Each request carries a distinct body, so none is a duplicate."""
    doc = dict(SAMPLE)
    doc["PlaybackPositionTicks"] = "__N__"
    template = json.dumps(doc).replace('"__N__"', "__N__")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (template, SECRET))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).group(1))  # type: ignore[union-attr]
    span = re.search(r"requests in ([\d.]+)(m?s)", out)
    assert span is not None
    elapsed = float(span.group(1)) / (1000 if span.group(2) == "ms" else 1)
    percentiles: dict[str, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)", out, re.M):
        percentiles[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, elapsed, percentiles, int(bad.group(1)) if bad else 0


def process_cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process (Linux), 0 where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def run(args: argparse.Namespace, database_url: str, redis_url: str, data_dir: Path) -> None:
    engine = make_engine(database_url)
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE webhook_event CASCADE"))
    redis: Redis = Redis.from_url(redis_url)
    await redis.delete(QUEUE_NAME)
    port = free_port()
    env = {
        **os.environ,
        "MARQUEE_DATA_DIR": str(data_dir),
        "MARQUEE_DATABASE_URL": database_url,
        "MARQUEE_REDIS_URL": redis_url,
        "MARQUEE_WEBHOOK_SECRET": SECRET,
        "MARQUEE_LOG_LEVEL": "WARNING",
    }
    server = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", SERVER.format(port=port)], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(300):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code in (200, 503):
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        if args.client == "wrk":
            async with httpx.AsyncClient(base_url=base) as warm:
                for n in range(20):
                    await warm.post(f"/webhooks/jellyfin?token={SECRET}", content=body(10_000_000 + n))
            server_cpu = process_cpu_s(server.pid)
            requests, elapsed, pcts, bad = await asyncio.to_thread(load_with_wrk, base, args.seconds, args.concurrency)
            server_cpu = process_cpu_s(server.pid) - server_cpu
            await asyncio.sleep(1)  # the last batch commits
        else:
            server_cpu = process_cpu_s(server.pid)
            client_cpu = time.process_time()
            latencies, statuses, elapsed = await load(base, args.requests, args.concurrency)
            server_cpu = process_cpu_s(server.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 10)
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM webhook_event"))).scalar_one()
    queued = await redis.zcard(QUEUE_NAME)
    await redis.aclose()
    await engine.dispose()
    if args.client == "wrk":
        expected = requests + 20
        print(f"webhook ingest (wrk): {requests} requests in {elapsed:.1f} s, {args.concurrency} connections")
        print(f"  throughput   {requests / elapsed:8.0f} req/s")
        print(f"  latency p50  {pcts.get('50', float('nan')):8.1f} ms")
        print(f"  latency p99  {pcts.get('99', float('nan')):8.1f} ms")
        print(f"  CPU          server {1000 * server_cpu / requests:.2f} ms/req")
        print(f"  non-2xx      {bad}")
        # wrk counts answered requests; the few in flight when it stops are stored too, so stored may exceed it
        print(f"  stored       {stored} of >= {expected} (incl. 20 warm-up)   queued {queued}")
        lost = max(0, expected - stored) + abs(stored - queued)
        print(f"  lost events  {lost}")
        if lost or bad:
            raise SystemExit("events were lost or refused")
        return
    accepted = sum(1 for s in statuses if s == 202)
    expected = args.requests + 20
    print(f"webhook ingest: {args.requests} requests, concurrency {args.concurrency}, {os.cpu_count()} CPUs")
    print(f"  throughput   {args.requests / elapsed:8.0f} req/s")
    print(f"  latency p50  {percentile(latencies, 50):8.1f} ms")
    print(f"  latency p99  {percentile(latencies, 99):8.1f} ms")
    print(f"  latency max  {max(latencies):8.1f} ms")
    print(
        f"  CPU          server {1000 * server_cpu / args.requests:.2f} ms/req, "
        f"load client {1000 * client_cpu / args.requests:.2f} ms/req (both on the same cores)"
    )
    print(f"  202 answers  {accepted} of {args.requests}")
    print(f"  stored       {stored} of {expected} (incl. 20 warm-up)   queued {queued} of {expected}")
    lost = expected - min(stored, queued)
    print(f"  lost events  {lost}")
    if lost or accepted != args.requests:
        raise SystemExit("events were lost or refused")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=["httpx", "wrk"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator: wrk (Debian package; leaves the CPU to the server) or the in-process httpx client",
    )
    parser.add_argument("--seconds", type=int, default=10, help="with wrk: how long to load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mq-bench-ingest-") as tmp:
        data_dir = Path(tmp)
        redis_server: EmbeddedRedis | None = None
        database_url = os.environ.get("MARQUEE_DATABASE_URL") or start_postgres(data_dir, "marquee_bench_ingest")
        redis_url = os.environ.get("MARQUEE_REDIS_URL")
        if redis_url is None:
            redis_server = EmbeddedRedis(data_dir)
            redis_url = redis_server.start()
        try:
            asyncio.run(run(args, database_url, redis_url, data_dir))
        finally:
            if redis_server is not None:
                redis_server.stop()


if __name__ == "__main__":
    main()
