"""Soak: thousands of playbacks through a simulated server, then a restart — does a busy install come back?

    .venv/bin/python -m benchmarks.bench_soak [--playbacks 10000] [--rate 40] [--users 6]

Real parts: ``marquee serve`` runs as its own process on embedded PostgreSQL and Redis in a fresh data
dir (worker included), against a simulated Jellyfin in this process that sends its webhooks over HTTP.
After the first pipeline (sync, embed, recommend, publish), users finish random titles at ``--rate``
playbacks/s; every playback sends the real webhook sequence (start, progress, stop, user data), and each
republish makes the server announce the STRM copies it added and dropped.

Then it checks and prints:
- every webhook the simulator sent was accepted, every stored event was settled (none pending), and each
  playback counted as exactly one play;
- what one playback costs: stored events per playback, by kind;
- the Redis append-only file, Redis memory, and ``webhook_event``/``job_run`` row counts, before and after
  the ``prune-history`` job;
- the clean stop (SIGTERM) and the restart: seconds until ``/healthz`` answers 200 (goal ≤ 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
from redis.asyncio import Redis

from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import free_port, serve_simulator
from providers.simulator.state import Simulator
from sidecar.demo_command import PIPELINE
from sidecar.logs import configure_logging

PRUNE_JOB = "prune-history"
HEALTHY_GOAL_S = 10.0
MAX_BACKLOG = 20


class Marquee:
    """``marquee serve`` as a child process on its own data dir."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **env, "MARQUEE_DATA_DIR": str(data_dir), "MARQUEE_PORT": str(port)}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir
        self.starts = 0

    def spawn(self) -> None:
        self.starts += 1
        self.log_path = self.data_dir.parent / f"marquee-{self.starts}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sidecar", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def start(self) -> float:
        """Start it; seconds until /healthz answers 200."""
        started = time.monotonic()
        self.spawn()
        assert self.process is not None
        log = self.log_path
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise SystemExit(f"marquee serve exited with {self.process.returncode}; see {log}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() - started > 300:
                    raise SystemExit(f"marquee serve was not healthy within 300 s; see {log}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """Whatever happened, leave no Marquee behind (SIGTERM, so it stops its embedded servers too)."""
        if self.process is not None and self.process.poll() is None:
            self.stop()

    def stop(self) -> tuple[float, int]:
        """SIGTERM; (seconds to exit, exit code)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        return time.monotonic() - started, code


class Admin:
    """Marquee's admin JSON API, logged in with the media server's admin account."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30)
        self.csrf = ""

    async def login(self, name: str, password: str) -> None:
        response = await self.client.post("/api/auth/login", json={"name": name, "password": password})
        response.raise_for_status()
        self.csrf = response.json()["csrf_token"]

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers={"X-CSRF-Token": self.csrf}, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    async def run_job(self, name: str, timeout_s: float = 1800) -> dict[str, Any]:
        """Run ``name`` and wait for it; a run already queued or going (409) is joined instead."""
        runs = (await self.call("GET", "/api/admin/jobs/runs", params={"name": name}))["runs"]
        finished = {r["id"] for r in runs if r["finished_at"] is not None}
        response = await self.client.post(f"/api/admin/jobs/{name}/run", headers={"X-CSRF-Token": self.csrf})
        if response.status_code not in (202, 409):
            raise SystemExit(f"run {name}: {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for run in (await self.call("GET", "/api/admin/jobs/runs", params={"name": name}))["runs"]:
                if run["id"] not in finished and run["finished_at"] is not None:
                    if run["status"] != "done":
                        raise SystemExit(f"{name} {run['status']}: {run['error']}")
                    return dict(run)
            await asyncio.sleep(0.25)
        raise SystemExit(f"{name} did not finish within {timeout_s:.0f} s")

    async def aclose(self) -> None:
        await self.client.aclose()


def _database_uri(data_dir: Path) -> str:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir / "postgres")
    if info is None:
        raise SystemExit("the embedded PostgreSQL is not running")
    return info.get_uri(database="marquee")


def _query(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(_database_uri(data_dir)) as conn:
        return list(conn.execute(sql).fetchall())


def _redis_socket(data_dir: Path) -> Path:
    found = sorted((data_dir / "redis").glob("*.sock")) or sorted(
        Path(tempfile.gettempdir()).glob("marquee-redis-*/redis.sock")
    )
    if not found:
        raise SystemExit("cannot find the embedded Redis socket")
    return found[0]


def _aof_bytes(data_dir: Path) -> int:
    return sum(
        p.stat().st_size
        for p in (data_dir / "redis").rglob("*")
        if p.is_file() and p.suffix != ".sock" and ".aof" in p.name
    )


async def _redis_facts(data_dir: Path) -> dict[str, int]:
    client: Redis = Redis(unix_socket_path=str(_redis_socket(data_dir)))
    try:
        memory = await client.info("memory")
        return {"used_memory": int(memory["used_memory"]), "keys": int(await client.dbsize())}
    finally:
        await client.aclose()


def _mib(n: float) -> str:
    return f"{n / 1048576:.2f} MiB"


async def _state(data_dir: Path) -> dict[str, Any]:
    redis = await _redis_facts(data_dir)
    events = dict(_query(data_dir, "SELECT status, count(*) FROM webhook_event GROUP BY status"))
    runs = _query(data_dir, "SELECT count(*) FROM job_run")[0][0]
    return {"aof": _aof_bytes(data_dir), **redis, "events": events, "job_runs": runs}


def _print_state(label: str, state: dict[str, Any]) -> None:
    events = ", ".join(f"{k} {v}" for k, v in sorted(state["events"].items())) or "none"
    print(
        f"  {label:<16} Redis AOF {_mib(state['aof'])}, Redis memory {_mib(state['used_memory'])} "
        f"({state['keys']} keys); webhook_event {sum(state['events'].values())} ({events}); job_run {state['job_runs']}"
    )


async def _wait_settled(data_dir: Path, timeout_s: float) -> float:
    """Seconds until no event is pending and no follow-up is queued or running (stable for 2 s)."""
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < timeout_s:
        pending = _query(data_dir, "SELECT count(*) FROM webhook_event WHERE status = 'pending'")[0][0]
        running = _query(data_dir, "SELECT count(*) FROM job_run WHERE finished_at IS NULL")[0][0]
        client: Redis = Redis(unix_socket_path=str(_redis_socket(data_dir)))
        try:
            queued = int(await client.zcard("marquee:queue"))
        finally:
            await client.aclose()
        if pending == running == queued == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 2:
                return time.monotonic() - started
        else:
            quiet_since = None
        await asyncio.sleep(0.5)
    raise SystemExit(f"Marquee did not settle within {timeout_s:.0f} s")


async def _drive(sim: Simulator, media: Path, playbacks: int, rate: float, seed: int) -> list[tuple[str, str]]:
    """Playbacks at up to ``rate`` per second, never more than ``MAX_BACKLOG`` webhooks ahead of delivery: a
    real server announces a playback as it happens, so a user's next playback finds the last one applied."""
    rng = random.Random(seed)
    viewers = [u.name for u in sim.user_list() if not u.is_admin]
    # Source titles only: Marquee's own STRM copies come and go with every republish.
    titles = [
        i.id for i in sim.items.values() if i.type in ("Movie", "Episode") and (i.path or "").startswith(str(media))
    ]
    played: list[tuple[str, str]] = []
    started = time.monotonic()
    for n in range(playbacks):
        user, item = viewers[n % len(viewers)], rng.choice(titles)
        sim.play(user, item, fraction=1.0)
        played.append((user, item))
        ahead = started + (n + 1) / rate - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
        while sim.webhooks.backlog > MAX_BACKLOG:  # noqa: ASYNC110 - the hub has no event to wait on
            await asyncio.sleep(0.01)
        if (n + 1) % 1000 == 0:
            print(f"  {n + 1} playbacks sent ({time.monotonic() - started:.0f} s)", flush=True)
    await sim.webhooks.drain()
    return played


async def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="marquee-soak-"))
    data_dir = root / "data"
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(args.movies, args.series),
        users=args.users,
        seed_history=True,
        media_root=root / "media",
    )
    print(f"data dir {data_dir}; simulator: {len(sim.items)} items, {len(sim.users)} users")
    async with serve_simulator(sim) as sim_url:
        marquee = Marquee(
            data_dir,
            free_port(),
            {
                "MARQUEE_MEDIA_SERVER_TYPE": "jellyfin",
                "MARQUEE_MEDIA_SERVER_URL": sim_url,
                "MARQUEE_MEDIA_SERVER_API_KEY": sim.admin_api_key,
                "MARQUEE_WEBHOOK_SECRET": "soak-webhook-secret",
                "MARQUEE_LOG_LEVEL": "WARNING",
            },
        )
        try:
            await _soak(sim, marquee, root, args)
        finally:
            marquee.kill()


async def _soak(sim: Simulator, marquee: Marquee, root: Path, args: argparse.Namespace) -> None:
    data_dir = marquee.data_dir
    print(f"first start: healthy after {await marquee.start():.1f} s")
    admin = Admin(marquee.url)
    try:
        boss = next(u for u in sim.user_list() if u.is_admin)
        await admin.login(boss.name, boss.password)
        await admin.call("PATCH", "/api/admin/settings/publish", json={"convert_all_folders_users": True})
        setup = time.monotonic()
        for name in PIPELINE:
            await admin.run_job(name)
        print(f"first pipeline done in {time.monotonic() - setup:.0f} s")
        await _wait_settled(data_dir, 600)
        plays_before = _query(data_dir, "SELECT count(*) FROM play_event WHERE completed")[0][0]
        sim.webhooks.add_target(f"{marquee.url}/webhooks/jellyfin?token=soak-webhook-secret")
        driving = time.monotonic()
        played = await _drive(sim, root / "media", args.playbacks, args.rate, args.seed)
        sent = time.monotonic() - driving
        settled = await _wait_settled(data_dir, 3600)
        print(f"{len(played)} playbacks sent in {sent:.0f} s; Marquee settled {settled:.0f} s after the last one")
        _report_correctness(sim, data_dir, len(played), plays_before)
        before = await _state(data_dir)
        await admin.run_job(PRUNE_JOB)
        after = await _state(data_dir)
    finally:
        await admin.aclose()
    sim.webhooks.clear_targets()
    print("state:")
    _print_state("before pruning", before)
    _print_state("after pruning", after)
    stop_s, code = marquee.stop()
    print(f"clean stop (SIGTERM): exit {code} after {stop_s:.1f} s")
    healthy = await marquee.start()
    verdict = "ok" if healthy <= HEALTHY_GOAL_S else f"over the {HEALTHY_GOAL_S:.0f} s goal"
    print(f"restart: healthy after {healthy:.1f} s ({verdict}); Redis AOF {_mib(_aof_bytes(data_dir))}")
    stop_s, code = marquee.stop()
    print(f"final stop: exit {code} after {stop_s:.1f} s")


def _report_correctness(sim: Simulator, data_dir: Path, playbacks: int, plays_before: int) -> None:
    statuses = Counter(d.status for d in sim.webhooks.sent)
    refused = sum(n for status, n in statuses.items() if status is None or status >= 300)
    print(f"webhooks sent: {sum(statuses.values())} ({refused} not accepted)")
    kinds = _query(
        data_dir,
        "SELECT coalesce(raw_type, '?'), status, count(*) FROM webhook_event GROUP BY 1, 2 ORDER BY 1, 2",
    )
    for raw_type, status, count in kinds:
        print(f"  {raw_type:<20} {status:<9} {count:>7}  ({count / playbacks:.2f} per playback)")
    pending = _query(data_dir, "SELECT count(*) FROM webhook_event WHERE status = 'pending'")[0][0]
    twice = _query(
        data_dir,
        "SELECT count(*) FROM (SELECT webhook_event_id FROM play_event WHERE webhook_event_id IS NOT NULL"
        " GROUP BY 1 HAVING count(*) > 1) t",
    )[0][0]
    plays = _query(data_dir, "SELECT count(*) FROM play_event WHERE completed")[0][0] - plays_before
    differ = _watch_state_differences(sim, data_dir)
    print(
        f"every event applied once: {pending} pending, {twice} applied twice, {differ} watch states differ from "
        f"the server's; completed plays recorded {plays} for {playbacks} playbacks"
        + ("" if plays == playbacks and not (pending or twice or refused or differ) else "  << MISMATCH")
    )


def _watch_state_differences(sim: Simulator, data_dir: Path) -> int:
    """(user, movie or episode) pairs whose play count or played flag in Marquee is not the server's."""
    rows = _query(
        data_dir,
        "SELECT u.provider_id, i.provider_id, w.played, w.play_count FROM watch_state w"
        " JOIN app_user u ON u.id = w.user_id JOIN item i ON i.id = w.item_id",
    )
    differ = 0
    for user_id, item_id, played, play_count in rows:
        item = sim.items.get(str(item_id).replace("-", "").lower())
        if item is None or item.type not in ("Movie", "Episode"):  # series rows are Marquee's own roll-up
            continue
        truth = sim.get_user_data(str(user_id).replace("-", "").lower(), item)
        differ += (truth.played, truth.play_count) != (played, play_count)
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--playbacks", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=40.0, help="playbacks per second")
    parser.add_argument("--movies", type=int, default=300)
    parser.add_argument("--series", type=int, default=30)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure_logging("WARNING")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
