"""Memory footprint of ``marquee serve`` with the local embedding model, before, during and after embedding.

    .venv/bin/python -m benchmarks.bench_footprint [--movies 1000] [--series 100] [--idle 90]

Real parts: ``marquee serve`` runs as its own process (worker included, the default) on embedded PostgreSQL
and Redis in a fresh data dir, against a simulated Jellyfin in this process, with the default settings (the
local all-MiniLM-L6-v2 model). The benchmark runs the demo's pipeline through the admin API (sync, embed
movies and series, recommend, publish) while sampling the resident memory (RSS) of Marquee's process tree
every 0.1 s, then leaves Marquee idle for ``--idle`` seconds.

It prints:
- RSS at start-up (as soon as ``/healthz`` answers);
- peak RSS while the catalogue is embedded and over the whole pipeline;
- steady-state RSS after the pipeline and ``--idle`` seconds without work;
- embedding throughput (titles/s) as the embedding jobs report it.

"Marquee" is every Python process in the tree (``marquee serve`` and any child it starts to embed); the
embedded PostgreSQL and Redis are printed on their own line (PostgreSQL's shared buffers count once per
backend in RSS, so their sum overstates them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.bench_soak import Admin, Marquee, _query
from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar.demo_command import PIPELINE

EMBED_JOBS = ("generate-embeddings", "generate-series-embeddings")
SAMPLE_INTERVAL_S = 0.1
GOAL_MIB = 350


@dataclass(frozen=True)
class Sample:
    marquee: int  # bytes, Python processes of the tree
    serve: int  # bytes, ``marquee serve`` itself (the rest of ``marquee`` is its children, e.g. the embedding model)
    servers: int  # bytes, everything else (embedded PostgreSQL and Redis)
    processes: int  # Python processes counted in ``marquee``


def _is_python(proc: psutil.Process) -> bool:
    try:
        return str(proc.name()).lower().startswith("python")
    except psutil.Error:
        return False


def sample_tree(pid: int) -> Sample:
    root = psutil.Process(pid)
    marquee = servers = processes = serve = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            rss = int(proc.memory_info().rss)
        except psutil.Error:
            continue  # ended between the listing and the read
        if proc.pid == pid:
            serve = rss
        if _is_python(proc):
            marquee += rss
            processes += 1
        else:
            servers += rss
    return Sample(marquee, serve, servers, processes)


class Sampler:
    """Samples the tree every 0.1 s; ``peak(label)`` is the largest Marquee RSS seen while ``label`` was on."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.phase = "start-up"
        self.peaks: dict[str, Sample] = {}
        self.max_processes = 1
        self.serve_peak = 0  # bytes, ``marquee serve`` alone
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _record(self, sample: Sample) -> None:
        for label in (self.phase, "whole run"):
            best = self.peaks.get(label)
            if best is None or sample.marquee > best.marquee:
                self.peaks[label] = sample
        self.max_processes = max(self.max_processes, sample.processes)
        self.serve_peak = max(self.serve_peak, sample.serve)

    async def _run(self) -> None:
        while True:
            self._record(await asyncio.to_thread(sample_tree, self.pid))
            await asyncio.sleep(SAMPLE_INTERVAL_S)


def _mib(n: int) -> str:
    return f"{n / 1048576:.0f} MiB"


def _line(label: str, sample: Sample) -> str:
    return (
        f"{label:<48} marquee {_mib(sample.marquee):>9} = serve {_mib(sample.serve):>8}"
        f" + {sample.processes - 1} child process(es) {_mib(sample.marquee - sample.serve):>8};"
        f" embedded servers {_mib(sample.servers)}"
    )


def _embedding_runs(data_dir: Path) -> list[tuple[dict[str, Any], datetime, datetime]]:
    """(result, started, finished) of every embedding run so far (the sync queues some by itself)."""
    names = ", ".join(f"'{n}'" for n in EMBED_JOBS)
    rows = _query(
        data_dir,
        f"SELECT result, started_at, finished_at FROM job_run WHERE job_name IN ({names}) AND status = 'done'",
    )
    return [
        (dict(json.loads(r) if isinstance(r, str) else (r or {})), started, finished) for r, started, finished in rows
    ]


def _throughput(runs: list[tuple[dict[str, Any], datetime, datetime]]) -> str:
    """Titles over the wall time from the first run's start to the last one's end (model loading included:
    runs may overlap, so their own seconds do not add up)."""
    embedded = sum(int(result.get("embedded") or 0) for result, _, _ in runs if result.get("embedded"))
    busy = [(started, finished) for result, started, finished in runs if result.get("embedded")]
    if not busy:
        return "nothing embedded"
    span = (max(f for _, f in busy) - min(s for s, _ in busy)).total_seconds()
    return (
        f"{embedded} titles embedded in {span:.1f} s = {embedded / span:.1f} titles/s ({len(busy)} runs, load included)"
    )


async def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="marquee-footprint-"))
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(args.movies, args.series),
        users=args.users,
        seed_history=True,
        media_root=root / "media",
    )
    print(f"data dir {root / 'data'}; simulator: {len(sim.items)} items, {len(sim.users)} users", flush=True)
    async with serve_simulator(sim, port=args.port + 1) as sim_url:
        marquee = Marquee(
            root / "data",
            args.port,
            {
                "MARQUEE_MEDIA_SERVER_TYPE": "jellyfin",
                "MARQUEE_MEDIA_SERVER_URL": sim_url,
                "MARQUEE_MEDIA_SERVER_API_KEY": sim.admin_api_key,
                "MARQUEE_WEBHOOK_SECRET": "footprint-webhook-secret",
                "MARQUEE_LOG_LEVEL": "WARNING",
            },
        )
        try:
            await _measure(sim, marquee, args)
        finally:
            marquee.kill()


async def _login(admin: Admin, name: str, password: str) -> None:
    """Log in; a 500 is retried a few times (seen once: the first login raced the start-up sync inserting the
    same user, a unique violation on app_user; not the footprint's business)."""
    for attempt in range(5):
        try:
            await admin.login(name, password)
            return
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 500 or attempt == 4:
                raise
            print(f"login answered 500 (attempt {attempt + 1}); trying again", flush=True)
            await asyncio.sleep(1)


async def _measure(sim: Simulator, marquee: Marquee, args: argparse.Namespace) -> None:
    healthy = await marquee.start()
    assert marquee.process is not None
    sampler = Sampler(marquee.process.pid)
    after_start = sample_tree(marquee.process.pid)  # now: a configured server's first sync may start at once
    sampler.start()
    print(f"healthy after {healthy:.1f} s; {_line('RSS at start-up', after_start)}", flush=True)
    admin = Admin(marquee.url)
    runs: list[tuple[dict[str, Any], datetime, datetime]] = []
    try:
        boss = next(u for u in sim.user_list() if u.is_admin)
        await _login(admin, boss.name, boss.password)
        pipeline_started = time.monotonic()
        await admin.call("PATCH", "/api/admin/settings/publish", json={"convert_all_folders_users": True})
        sampler.phase = "sync and embedding"
        for name in PIPELINE:
            step = time.monotonic()
            await admin.run_job(name)
            print(f"  {name}: {time.monotonic() - step:.1f} s", flush=True)
            if name == EMBED_JOBS[-1]:
                runs = _embedding_runs(marquee.data_dir)
                print(f"    {_throughput(runs)}", flush=True)
                print(f"    {_line('peak RSS so far', sampler.peaks['sync and embedding'])}", flush=True)
                sampler.phase = "rest of the pipeline"
        print(f"pipeline done in {time.monotonic() - pipeline_started:.1f} s; idle for {args.idle:.0f} s", flush=True)
        sampler.phase = "idle"
        await asyncio.sleep(args.idle)
        steady = sample_tree(marquee.process.pid)
    finally:
        await sampler.stop()
        await admin.aclose()

    print()
    print(_line("RSS at start-up (healthy)", after_start))
    print(_line("peak RSS while syncing and embedding", sampler.peaks["sync and embedding"]))
    print(_line("peak RSS over the whole run", sampler.peaks["whole run"]))
    print(_line(f"steady-state RSS ({args.idle:.0f} s idle after the pipeline)", steady))
    verdict = "ok" if steady.marquee <= GOAL_MIB * 1048576 else "over"
    print(f"peak RSS of marquee serve alone (its children not counted): {_mib(sampler.serve_peak)}")
    print(f"steady-state goal <= {GOAL_MIB} MiB: {verdict}; most Python processes at once: {sampler.max_processes}")
    print(f"embedding throughput: {_throughput(runs)}")
    stop_s, code = marquee.stop()
    print(f"stop (SIGTERM): exit {code} after {stop_s:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movies", type=int, default=1000)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--idle", type=float, default=90.0, help="seconds without work before the steady state")
    parser.add_argument("--port", type=int, default=18400, help="Marquee's port; the simulator takes the next one")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
