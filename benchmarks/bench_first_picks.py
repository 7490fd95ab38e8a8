"""Time to first picks on a new install, and to the picks refined by the embeddings.

    .venv/bin/python -m benchmarks.bench_first_picks                      # 300 movies, 30 series
    .venv/bin/python -m benchmarks.bench_first_picks --movies 20000 --series 0

Everything real, in one process: a simulated Jellyfin (synthetic catalogue, seeded histories) and Marquee
(``create_app`` with its worker) on embedded PostgreSQL and Redis. The clock starts when ``initial-sync`` is
queued (what saving the server on the setup page does); nothing else is started by hand, the jobs queue each
other. Printed:

- first picks: the first user whose AI Picks library on the server lists titles (written and scanned);
- refined picks: every title embedded, and a recommend-and-publish run of each media type that started after
  the last embedding run finished, done;
- the job runs in between, from their own records.

``--embedder auto`` uses the local model up to 2,000 titles and a word-hashing stand-in above (the model embeds
~50 titles/s on the development machine, so 20,000 titles take minutes; first picks do not wait for them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from benchmarks.local_server import free_port, serve
from benchmarks.word_hash_embedder import WordHashEmbedder
from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar.app import create_app
from sidecar.demo_command import _opt_in_to_private_libraries
from sidecar.jobs.queue import enqueue
from sidecar.runtime import prepare_infrastructure
from sidecar.services import Services
from sidecar.settings import Settings

TIMEOUT_S = 3600.0


async def _use_word_hash_embedder(services: Services) -> None:
    services.embedder = WordHashEmbedder()


def _first_published(sim: Simulator) -> tuple[str, int] | None:
    for library in sim.libraries.values():
        if library.name.startswith("AI Picks - ") and library.item_ids:
            return library.name, len(library.item_ids)
    return None


async def _runs(services: Services) -> list[tuple[str, str, datetime, datetime | None, dict[str, Any]]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT job_name, status, started_at, finished_at, args FROM job_run ORDER BY started_at")
        )
        return [(r[0], r[1], r[2], r[3], r[4] or {}) for r in rows]


async def _refined(services: Services, media_types: list[str]) -> bool:
    """Every title embedded, and for each type a publishing recommend run begun after its last embedding run
    and the first sync."""
    async with services.engine.connect() as conn:
        missing = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM item i WHERE i.kind IN ('Movie', 'Series') AND i.gone_at IS NULL"
                    " AND NOT EXISTS (SELECT 1 FROM item_embedding e WHERE e.item_id = i.id"
                    "  AND e.embedding IS NOT NULL)"
                )
            )
        ).scalar_one()
    if missing:
        return False
    runs = await _runs(services)
    synced = [r[3] for r in runs if r[0] == "initial-sync" and r[1] == "done" and r[3] is not None]
    if not synced:
        return False
    for media_type in media_types:
        embed = "generate-embeddings" if media_type == "movies" else "generate-series-embeddings"
        recommend = "generate-recommendations" if media_type == "movies" else "generate-series-recommendations"
        embedded = [r for r in runs if r[0] == embed and r[1] == "done" and r[3] is not None]
        if not embedded:
            return False
        last = max([r[3] for r in embedded if r[3] is not None] + synced)
        if not any(r[0] == recommend and r[1] == "done" and r[4].get("publish") and r[2] >= last for r in runs):
            return False
    return True


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="marquee-first-picks-"))
    settings = Settings(_env_file=None, data_dir=tmp, port=free_port(), log_level="WARNING")  # type: ignore[call-arg]
    settings = settings.with_persisted_secrets()
    infra = prepare_infrastructure(settings)
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(args.movies, args.series),
        users=args.users,
        seed_history=True,
        media_root=tmp / "media",
    )
    titles = args.movies + args.series
    embedder = args.embedder if args.embedder != "auto" else ("local" if titles <= 2000 else "word-hash")
    print(f"simulator: {args.movies} movies, {args.series} series ({len(sim.items)} items), {args.users} users")
    print(f"embedder: {embedder}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    media_types = ["movies"] + (["series"] if args.series else [])
    try:
        async with serve_simulator(sim) as sim_url:
            settings = settings.model_copy(
                update={
                    "media_server_type": "jellyfin",
                    "media_server_url": sim_url,
                    "media_server_api_key": SecretStr(sim.admin_api_key),
                    "database_url": SecretStr(infra.database_url),
                    "redis_url": SecretStr(infra.redis_url),
                }
            )
            hooks = [_use_word_hash_embedder] if embedder == "word-hash" else []
            app = create_app(settings, run_worker=True, startup_hooks=hooks)
            async with serve(app, settings.port):
                services: Services = app.state.services
                await _opt_in_to_private_libraries(services)  # each AI Picks library private (an admin's choice)
                started = time.monotonic()
                await enqueue(services.redis, "initial-sync", job_id="initial-sync")
                first: float | None = None
                refined: float | None = None
                while refined is None and time.monotonic() - started < TIMEOUT_S:
                    if first is None and (published := _first_published(sim)) is not None:
                        first = time.monotonic() - started
                        print(f"first picks: {first:.1f} s ({published[0]} lists {published[1]} titles)")
                    if first is not None and await _refined(services, media_types):
                        refined = time.monotonic() - started
                    await asyncio.sleep(0.05)
                print(
                    f"refined picks: {'timed out' if refined is None else f'{refined:.1f} s'} (every title embedded,"
                    " then recommended and published again)"
                )
                t0 = min((r[2] for r in await _runs(services)), default=None)
                for name, status, begun, ended, job_args in await _runs(services):
                    if name in ("sweep-webhooks", "user-follow-up") or t0 is None:
                        continue
                    took = f"{(ended - begun).total_seconds():.1f} s" if ended else "running"
                    extra = " (publish)" if job_args.get("publish") else ""
                    print(f"  {name}{extra}: {status}, from {(begun - t0).total_seconds():.1f} s, {took}")
                print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        infra.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--movies", type=int, default=300)
    parser.add_argument("--series", type=int, default=30)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--embedder", choices=("auto", "local", "word-hash"), default="auto")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
