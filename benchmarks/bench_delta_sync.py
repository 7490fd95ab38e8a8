"""Sync throughput against the simulator over HTTP: catalogue, full watch history, and the hourly delta.

A simulated Jellyfin (synthetic catalogue) is served on loopback; Marquee syncs it into an embedded
PostgreSQL (or ``MARQUEE_DATABASE_URL``). After the initial sync, ``--changes`` plays and favourites are
made without webhooks, and the delta sync (``MinDateLastSavedForUser``) has to find and apply them.

Run: ``.venv/bin/python -m benchmarks.bench_delta_sync`` (prints items/s for each step, and how much of it
the in-process simulator took to answer). A 50,000-item catalogue: ``--movies 48486 --series 60``.

The seeded history is dated when it was played, as on a real server, not when the simulator was built: else
the delta's overlap with the previous sync (``CURSOR_OVERLAP``) would re-read all of it and count it as changes.
The delta line says how many distinct user items the changes touched; the delta should return just those.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import text

from benchmarks.server_clock import ServerClock
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from providers.simulator.model import utcnow
from sidecar.embedded_postgres import start_postgres
from sidecar.embedded_redis import EmbeddedRedis
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import sync_movies_job, sync_series_job
from sidecar.services import open_services
from sidecar.settings import Settings
from sidecar.sync.libraries import sync_libraries
from sidecar.sync.users import sync_users
from sidecar.sync.watch import sync_watch_history


async def run(args: argparse.Namespace, data_dir: Path, database_url: str, redis_url: str) -> None:
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(movies=args.movies, series=args.series, seed=3),
        users=args.users,
        seed_history=True,
        seed=3,
    )
    date_seeded_history(sim)
    clock = ServerClock.install(sim)
    async with serve_simulator(sim, port=args.port or free_port()) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            database_url=SecretStr(database_url),
            redis_url=SecretStr(redis_url),
            webhook_secret=SecretStr("bench"),
            session_secret=SecretStr("bench-session-secret-0123456789"),
            media_server_url=url,
            media_server_type="jellyfin",
            media_server_api_key=SecretStr(sim.admin_api_key),
        )
        services = await open_services(settings, database_url, redis_url)
        try:
            async with services.engine.begin() as conn:
                await conn.execute(text("TRUNCATE media_server, webhook_event, job_run CASCADE"))
            await sync_users(services)
            await sync_libraries(services)

            clock.lap()
            started, cpu = time.perf_counter(), time.process_time()
            movies = await sync_movies_job(services, Progress.detached())
            series = await sync_series_job(services, Progress.detached())
            catalogue_s, catalogue_cpu = time.perf_counter() - started, time.process_time() - cpu
            catalogue_items = movies["seen"] + series["seen"]
            catalogue_server = clock.lap()

            started, cpu = time.perf_counter(), time.process_time()
            full = await sync_watch_history(services, full=True)
            full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu
            full_server = clock.lap()

            started, cpu = time.perf_counter(), time.process_time()
            again = await sync_movies_job(services, Progress.detached())
            resync_s, resync_cpu = time.perf_counter() - started, time.process_time() - cpu
            resync_server = clock.lap()

            rng = random.Random(1)
            viewers = [u.name for u in sim.users.values() if u.name != "admin"]
            movie_ids = [i.id for i in sim.items.values() if i.type == "Movie"]
            deltas: list[tuple[dict[str, int], float, float, float, int]] = []
            for round_ in range(args.deltas):
                if round_:
                    age_saves(sim, hours=1)  # as if an hour passed: the next delta's overlap misses the last changes
                touched: set[tuple[str, str]] = set()
                for n in range(args.changes):
                    user, movie = rng.choice(viewers), rng.choice(movie_ids)
                    touched.add((user, movie))
                    if n % 3:
                        sim.mark_played(user, movie, played=n % 2 == 0, notify=False)
                    else:
                        sim.set_favorite(user, movie, favorite=n % 2 == 0, notify=False)
                clock.lap()
                started, cpu = time.perf_counter(), time.process_time()
                delta = await sync_watch_history(services, full=False)
                delta_s, delta_cpu = time.perf_counter() - started, time.process_time() - cpu
                deltas.append((delta, delta_s, delta_cpu, clock.lap(), len(touched)))
        finally:
            await services.aclose()
            await sim.webhooks.aclose()

    print(f"sync against the simulator: {args.movies} movies, {args.series} series, {args.users} users")
    print(f"  (load {os.getloadavg()[0]:.2f}; cpu = this process's CPU seconds, simulator and Marquee, not PostgreSQL)")
    report("catalogue (first)", catalogue_items, catalogue_s, catalogue_cpu, catalogue_server)
    report("catalogue (no change)", again["seen"], resync_s, resync_cpu, resync_server)
    report("watch history (full)", full["items"], full_s, full_cpu, full_server)
    for n, (delta, delta_s, delta_cpu, delta_server, touched_count) in enumerate(deltas, 1):
        report(
            "watch history (delta)" if len(deltas) == 1 else f"watch history (delta {n})",
            delta["items"],
            delta_s,
            delta_cpu,
            delta_server,
            f"({args.changes} changes to {touched_count} user items, {delta['users']} users)",
        )


def date_seeded_history(sim: Simulator) -> None:
    """Date each seeded entry's last save at its last play (long before the syncs), like a real server's."""
    cutoff = utcnow()
    for key, data in list(sim.user_data.items()):
        data.last_saved = min(data.last_played or sim.epoch, cutoff)
        sim.user_data[key] = data  # stored again: the store indexes entries by save time


def age_saves(sim: Simulator, *, hours: float) -> None:
    """Date every user-data save ``hours`` earlier (the syncs' cursors stay where they are)."""
    shift = timedelta(hours=hours)
    for key, data in list(sim.user_data.items()):
        if data.last_saved is not None:
            data.last_saved -= shift
            sim.user_data[key] = data


PORTS = range(18300, 18400)


def free_port() -> int:
    """A free loopback port in the range the benchmarks may use."""
    start = random.randrange(len(PORTS))
    for n in range(len(PORTS)):
        port = PORTS[(start + n) % len(PORTS)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def report(label: str, items: int, seconds: float, cpu_s: float, server_s: float, note: str = "") -> None:
    print(
        f"  {label:22s} {items:7d} items in {seconds:6.2f} s = {items / seconds:8.0f} items/s"
        f"  (simulator {server_s:5.2f} s, Marquee {seconds - server_s:5.2f} s; cpu {cpu_s:5.2f} s)  {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=3000)
    parser.add_argument("--series", type=int, default=60)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--changes", type=int, default=500, help="plays and favourite marks made before the delta")
    parser.add_argument(
        "--deltas", type=int, default=1, help="delta syncs to time one after another, each after its own changes"
    )
    parser.add_argument("--port", type=int, default=0, help="the simulator's port (default: a free one in 18300-18399)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mq-bench-sync-") as tmp:
        data_dir = Path(tmp)
        database_url = os.environ.get("MARQUEE_DATABASE_URL") or start_postgres(data_dir, "marquee_bench_sync")
        redis_url = os.environ.get("MARQUEE_REDIS_URL")
        redis_server = None
        if redis_url is None:
            redis_server = EmbeddedRedis(data_dir)
            redis_url = redis_server.start()
        try:
            asyncio.run(run(args, data_dir, database_url, redis_url))
        finally:
            if redis_server is not None:
                redis_server.stop()


if __name__ == "__main__":
    main()
