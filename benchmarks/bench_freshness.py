"""Freshness: playback stop → webhook → watch state → recommendations → that user's library rewritten and scanned.

    .venv/bin/python -m benchmarks.bench_freshness [--movies 9500] [--series 50] [--users 5] [--playbacks 100]
    .venv/bin/python -m benchmarks.bench_freshness --items 50000 --users 100   # at scale

Everything real and in one machine: a simulated Jellyfin with ~10,000 items (movies, series, seasons,
episodes), Marquee on embedded PostgreSQL and Redis with its worker, the local embedding model. Each
playback is a user finishing one of their own AI Picks; the clock stops when that user's AI Picks
library has been republished without it (written, refreshed, scan finished). Prints p50/p95/max, and
the median and p95 of each step (webhook delivery, applying it, waiting for and running the user's
follow-up and its stages) from the events' and job runs' own timestamps.

Above 20,000 items the titles are embedded by a word-hashing stand-in for the local model (``--embedder``):
embedding 50,000 titles with the model would take a quarter of an hour, and freshness starts after it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
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
from sidecar.commands import run_and_wait
from sidecar.demo_command import PIPELINE, _opt_in_to_private_libraries
from sidecar.logs import configure_logging
from sidecar.runtime import prepare_infrastructure
from sidecar.services import Services
from sidecar.settings import Settings


async def _published(services: Services, user_id: int) -> tuple[Any, set[int]]:
    async with services.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT id, published_at FROM published_library"
                    " WHERE kind = 'ai_picks' AND media_type = 'movies' AND user_id = :u"
                ),
                {"u": user_id},
            )
        ).first()
        if row is None:
            return None, set()
        items = (
            await conn.execute(text("SELECT item_id FROM published_file WHERE library_id = :l"), {"l": row[0]})
        ).scalars()
        return row[1], set(items)


async def _user_map(services: Services) -> dict[str, int]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT provider_id, id FROM app_user WHERE gone_at IS NULL"))
        return {str(r[0]): int(r[1]) for r in rows}


async def _provider_ids(services: Services, item_ids: set[int]) -> dict[int, str]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, provider_id FROM item WHERE id = ANY(:i)"), {"i": list(item_ids)})
        return {int(r[0]): str(r[1]) for r in rows}


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="marquee-freshness-"))
    settings = Settings(_env_file=None, data_dir=tmp, port=free_port(), log_level="WARNING")  # type: ignore[call-arg]
    settings = settings.with_persisted_secrets()
    infra = prepare_infrastructure(settings)
    t_setup = time.monotonic()
    movies = args.movies if args.items is None else _movies_for(args.items, args.series)
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(movies, args.series),
        users=args.users,
        seed_history=True,
        media_root=tmp / "media",
    )
    print(f"simulator: {len(sim.items)} items, {len(sim.users)} users")
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
            embedder = args.embedder
            if embedder == "auto":
                embedder = "word-hash" if len(sim.items) > 20_000 else "local"
            print(f"embedder: {embedder}")
            hooks = [_use_word_hash_embedder] if embedder == "word-hash" else []
            app = create_app(settings, run_worker=True, startup_hooks=hooks)
            async with serve(app, settings.port):
                services: Services = app.state.services
                await _opt_in_to_private_libraries(services)
                for name in PIPELINE:
                    await run_and_wait(services, name, out=lambda _line: None)
                    print(f"  setup: {name} done ({time.monotonic() - t_setup:.0f}s)")
                token = settings.secret_value("webhook_secret")
                sim.webhooks.add_target(f"http://127.0.0.1:{settings.port}/webhooks/jellyfin?token={token}")
                await _measure(services, sim, args.playbacks, args.seed)
                sim.webhooks.clear_targets()  # the last scan's announcements would find Marquee gone
    finally:
        infra.close()


def _movies_for(items: int, series: int) -> int:
    """Movies that, with ``series`` synthetic series (their seasons and episodes too), make ``items``."""
    sim_series = synthetic_catalog(0, series)
    per_series = sum(1 + len(s.episodes_per_season) + sum(s.episodes_per_season) for s in sim_series.series)
    return max(0, items - per_series)


async def _use_word_hash_embedder(services: Services) -> None:
    services.embedder = WordHashEmbedder()


async def _measure(services: Services, sim: Simulator, playbacks: int, seed: int) -> None:
    rng = random.Random(seed)
    users = await _user_map(services)
    names = [u.name for u in sim.user_list() if not u.is_admin]
    by_name = {u.name: u.id for u in sim.user_list()}
    latencies: list[float] = []
    steps: list[dict[str, float]] = []
    timeouts = 0
    for n in range(playbacks):
        name = names[n % len(names)]
        user_id = users[by_name[name]]
        before, items = await _published(services, user_id)
        if not items:
            print(f"  {name} has no published picks; skipped")
            continue
        target = rng.choice(sorted(items))
        provider_id = (await _provider_ids(services, {target}))[target]
        started = time.monotonic()
        played_at = datetime.now(UTC)
        sim.play(name, provider_id, fraction=1.0)
        deadline = started + 30
        while time.monotonic() < deadline:
            published_at, now_items = await _published(services, user_id)
            if published_at != before and target not in now_items:
                latencies.append(time.monotonic() - started)
                steps.append(await _steps(services, user_id, provider_id, played_at, datetime.now(UTC)))
                break
            await asyncio.sleep(0.02)
        else:
            timeouts += 1
    latencies.sort()
    if not latencies:
        print("no playback was reflected in a library")
        return
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(
        f"freshness over {len(latencies)} playbacks ({timeouts} timed out after 30 s): "
        f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s"
    )
    names_seen = list(dict.fromkeys(key for step in steps for key in step))
    for key in names_seen:
        values = sorted(step[key] for step in steps if key in step)
        p95_step = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        if key.startswith("#"):  # a count, not a time: titles published and written per playback
            print(f"  titles {key[1:]:<27} median {statistics.median(values):6.0f}      p95 {p95_step:6.0f}")
            continue
        print(f"  {key:<34} median {statistics.median(values) * 1000:6.0f} ms   p95 {p95_step * 1000:6.0f} ms")


_STAGE_LINE = re.compile(r"^\S+ (\w+): (\d+) ms$")
_LIBRARY_LINE = re.compile(r"^\S+ .*: \d+ titles, .*\(((?:\w+ \d+ ms(?:, )?)+)\)$")  # a library's summary
_STEP = re.compile(r"(\w+) (\d+) ms")
_COUNTS = re.compile(r": (\d+) titles, (\d+) written, ")


async def _steps(
    services: Services, user_id: int, provider_id: str, played_at: datetime, seen_at: datetime
) -> dict[str, float]:
    """Where one playback's time went, from the webhook events' and the follow-up job runs' timestamps."""
    for _ in range(250):  # the library is visible before the follow-up job writes its log; wait for that
        async with services.engine.connect() as conn:
            running = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM job_run WHERE job_name = 'user-follow-up'"
                        " AND (args ->> 'user_id')::int = :u AND started_at >= :t AND finished_at IS NULL"
                    ),
                    {"u": user_id, "t": played_at},
                )
            ).scalar_one()
        if not running:
            break
        await asyncio.sleep(0.02)
    async with services.engine.connect() as conn:
        event = (
            await conn.execute(
                text(
                    "SELECT min(received_at), max(processed_at) FROM webhook_event"
                    " WHERE item_provider_id = :i AND received_at >= :t"
                ),
                {"i": provider_id, "t": played_at},
            )
        ).first()
        runs = (
            await conn.execute(
                text(
                    "SELECT started_at, finished_at, log FROM job_run WHERE job_name = 'user-follow-up'"
                    " AND (args ->> 'user_id')::int = :u AND started_at >= :t ORDER BY started_at"
                ),
                {"u": user_id, "t": played_at},
            )
        ).all()
    out: dict[str, float] = {}
    if event is None or event[0] is None or event[1] is None:
        return out
    received, processed = event
    out["webhook delivered"] = (received - played_at).total_seconds()
    out["event applied"] = (processed - received).total_seconds()
    if runs:
        first, last = runs[0], runs[-1]
        out["follow-up queued → started"] = max(0.0, (first[0] - processed).total_seconds())
        out["follow-up running (all rounds)"] = ((last[1] or seen_at) - first[0]).total_seconds()
        for _, _, lines in runs:
            for line in lines or []:
                if match := _STAGE_LINE.match(line):
                    key = f"  stage {match.group(1)}"
                    out[key] = out.get(key, 0.0) + int(match.group(2)) / 1000
                elif match := _LIBRARY_LINE.match(line):
                    for step, ms in _STEP.findall(match.group(1)):
                        key = f"    publish {step}"
                        out[key] = out.get(key, 0.0) + int(ms) / 1000
                    if counts := _COUNTS.search(line):
                        for key, value in zip(("titles", "written"), counts.groups(), strict=True):
                            out[f"#{key}"] = out.get(f"#{key}", 0.0) + int(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movies", type=int, default=9500)
    parser.add_argument("--items", type=int, help="total items (movies are what the series leave); overrides --movies")
    parser.add_argument(
        "--embedder",
        choices=["auto", "local", "word-hash"],
        default="auto",
        help="auto: the local model up to 20,000 items, the word-hashing stand-in above",
    )
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--playbacks", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    configure_logging("WARNING")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
