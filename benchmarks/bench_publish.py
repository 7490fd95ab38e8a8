"""Republishing one user's 50-title AI Picks library when 5 titles changed: write + refresh + scan wait.

Against the simulator (Jellyfin flavour) over real HTTP, with an embedded PostgreSQL and Redis. Each
round gives the user a new finished recommendation run and times ``publish_for`` end to end: reading the
picks, planning, fetching artwork for the changed titles, writing the new version and swapping it in,
then on the server the refresh of that library, the wait for its scan and the check of what it lists.

Two kinds of change are measured:
- ``replace``: 5 titles at random ranks are replaced by others (the other 45 keep their rank, so their
  files are reused as hard links);
- ``insert``: 5 new titles enter at the top, so every other title moves down a rank. Before issue 16
  that changed all 50 NFO files (sort title and date added followed the rank); with sort slots
  (``sidecar.publish.order``) the other 45 keep theirs.

Explanations do not name the rank (``set_picks`` numbers them; a real explanation names what you
watched), so a title's files change only with its sort slot.

The simulator's scan takes ``--scan-s`` (default 0.05 s, its own default); a real server's scan of a
50-title STRM library takes longer, and that time adds to these figures one for one.

Run: ``.venv/bin/python -m benchmarks.bench_publish [--rounds 30] [--titles 50] [--changed 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from sqlmodel import col, update

from benchmarks.simulated_world import mirror, set_picks
from providers.base import make_media_server
from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, Item, Recommendation
from sidecar.embedded_postgres import start_postgres
from sidecar.embedded_redis import EmbeddedRedis
from sidecar.jobs.progress import Progress
from sidecar.publish.ai_picks import publish_for
from sidecar.services import Services, open_services
from sidecar.settings import Settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(label: str, seconds: list[float], written: list[int], phases: dict[str, list[float]]) -> None:
    ms = [s * 1000 for s in seconds]
    visible = [v * 1000 for v in phases["visible"]]
    print(f"{label:<8} n={len(ms)}  titles written per round {statistics.mean(written):.0f}")
    print(
        f"         visible (write + refresh + scan wait + check): p50 {percentile(visible, 50):7.1f} ms  "
        f"p95 {percentile(visible, 95):7.1f} ms"
    )
    print(
        f"         whole call (+ removing the old version):      p50 {percentile(ms, 50):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms"
    )
    parts = "  ".join(
        f"{name} {percentile([v * 1000 for v in values], 50):.1f}"
        for name, values in phases.items()
        if name != "visible"
    )
    print(f"         phases p50 (ms): {parts}")


async def steady_picks(services: Services, user: AppUser, items: list[Item]) -> None:
    run_id = await set_picks(services, user, "movies", items)
    async with services.sessions() as session:
        steady = update(Recommendation).where(col(Recommendation.run_id) == run_id)
        await session.exec(steady.values(explanation="Like what you watch."))
        await session.commit()


async def rounds(
    services: Services,
    user: AppUser,
    pool: list[Item],
    titles: int,
    changed: int,
    count: int,
    kind: str,
    rng: random.Random,
) -> None:
    current = rng.sample(pool, titles)
    await steady_picks(services, user, current)
    await publish_for(services, user, "movies", Progress.detached())  # the starting library
    seconds: list[float] = []
    written: list[int] = []
    phases: dict[str, list[float]] = {"artwork": [], "write": [], "server": [], "visible": []}
    for _ in range(count):
        outside = [m for m in pool if m not in current]
        fresh = rng.sample(outside, changed)
        if kind == "replace":
            for rank, item in zip(rng.sample(range(titles), changed), fresh, strict=True):
                current[rank] = item
        else:
            current = [*fresh, *current[: titles - changed]]
        await steady_picks(services, user, current)
        started = time.perf_counter()
        outcome = await publish_for(services, user, "movies", Progress.detached())
        seconds.append(time.perf_counter() - started)
        assert outcome is not None and outcome.server_titles == titles, outcome
        written.append(outcome.written)
        for name in phases:
            phases[name].append(outcome.seconds.get(name, 0.0))
    report(kind, seconds, written, phases)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="mq-bench-publish-") as tmp:
        data = Path(tmp)
        url = start_postgres(data, "bench")
        redis = EmbeddedRedis(data / "redis")
        redis_url = redis.start()
        try:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None, data_dir=data, database_url=SecretStr(url), strm_root=data / "libraries"
            )
            services = await open_services(settings, url, redis_url)
            try:
                sim = Simulator(
                    "jellyfin",
                    catalog=synthetic_catalog(args.catalogue, 0),
                    users=["alice"],
                    media_root=data / "media",
                    scan_duration_s=args.scan_s,
                )
                async with serve_simulator(sim) as base:
                    services.media_server = make_media_server("jellyfin", base, sim.admin_api_key)
                    world = await mirror(services, sim, services.media_server)
                    async with services.sessions() as session:
                        await rs.save(session, rs.PUBLISH, rs.PublishSettings(convert_all_folders_users=True))
                    print(
                        f"simulator: {len(world.movies)} movies, scan {args.scan_s * 1000:.0f} ms; "
                        f"library of {args.titles} titles, {args.changed} changed per round, artwork on"
                    )
                    rng = random.Random(7)
                    for kind in ("replace", "insert"):
                        await rounds(
                            services,
                            world.users["alice"],
                            world.movies,
                            args.titles,
                            args.changed,
                            args.rounds,
                            kind,
                            rng,
                        )
            finally:
                await services.aclose()
        finally:
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--titles", type=int, default=50)
    parser.add_argument("--changed", type=int, default=5)
    parser.add_argument("--catalogue", type=int, default=300)
    parser.add_argument("--scan-s", type=float, default=0.05)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
