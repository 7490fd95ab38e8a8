"""Refreshing every enabled user's stored picks (``refresh_all_picks``, the batch jobs): scored in blocks in a
worker thread while the previous chunk is stored, one fresh snapshot for all of them."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from providers.ai.writing import TextGenerator
from sidecar.ai_factory import get_text_generator
from sidecar.db.locks import advisory_lock
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType, spec
from sidecar.picks_store.config import RecommendationConfig, load_config
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, Snapshot, snapshot_for, started_series
from sidecar.picks_store.match_calibration import match_calibration
from sidecar.picks_store.refresh import Computed, store_computed
from sidecar.picks_store.runs import store_run
from sidecar.recommender import recommend_many
from sidecar.services import Services

log = logging.getLogger(__name__)


async def enabled_users(services: Services, media_type: MediaType) -> list[int]:
    column = spec(media_type).user_flag
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT id FROM app_user WHERE gone_at IS NULL AND NOT is_disabled AND {column} ORDER BY id")
        )
        return [int(r[0]) for r in rows]


BATCH_CHUNK = 64  # users whose picks are computed in one worker-thread hop and stored in one transaction
# Blocks of users scored at a time (`recommend_many(workers=...)`): two on two cores or more. Most of a block is numpy
# outside the GIL, so a second block fills the gaps the first leaves (its Python parts, the stores between chunks):
# bench_db_refresh on 2 quiet cores, all users 8.1 s -> 7.1 s on average of 5-7 runs each, about the same CPU, at
# ~65 MB more held while two blocks of 64 users x 50,000 items are in flight.
COMPUTE_WORKERS = min(2, os.cpu_count() or 1)


async def refresh_all_picks(
    services: Services,
    media_type: MediaType,
    progress: Progress,
    *,
    trigger: str = "job",
    user_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Recompute every enabled user's picks from one fresh snapshot (histories re-read once).

    Picks are computed in batches (``recommend_many``) in a worker thread, the next chunk of users while
    the last one is being stored; a chunk's lists are stored in one transaction, in a few statements.
    When that fails, its users are stored one transaction each, so one user's failure is recorded on
    their run and the rest go on. Full refreshes of one media type take turns (an advisory lock), so a
    refresh from a newer catalogue never lands before an older one still running.
    """
    async with advisory_lock(services.engine, f"refresh-all-picks:{media_type}"):
        return await _refresh_all(services, media_type, progress, trigger, user_ids)


async def _refresh_all(
    services: Services, media_type: MediaType, progress: Progress, trigger: str, user_ids: Sequence[int] | None
) -> dict[str, Any]:
    started = time.perf_counter()
    snapshot = await snapshot_for(services, media_type, fresh_histories=True)
    items = snapshot.model.size if snapshot.model is not None else 0
    config = await load_config(services, media_type)
    generator = get_text_generator(services)
    users = await enabled_users(services, media_type)
    if user_ids is not None:
        wanted = set(user_ids)
        users = [u for u in users if u in wanted]
    snapshot_s = time.perf_counter() - started
    progress.log(
        f"{media_type}: {items} items, {len(users)} users, model {snapshot.model_name} (snapshot {snapshot_s:.2f}s)"
    )
    await progress.update(0, len(users), f"recommending {media_type}")
    histories = {str(u): list(snapshot.histories.get(str(u), [])) for u in users}
    exclude = {u: started_series(h) for u, h in histories.items()} if media_type == MediaType.SERIES else None
    clock = time.perf_counter()
    calibration = await match_calibration(services, snapshot, config, fresh=True)
    calibration_s = time.perf_counter() - clock
    progress.log(
        f"{media_type}: match calibration d'={calibration.separation} from {calibration.watches} later watches"
    )
    batches = (
        recommend_many(
            snapshot.model,
            histories,
            weights=config.weights,
            count=config.count,
            recent_limit=config.recent_limit,
            media_type=RECOMMENDER_TYPE[media_type],
            exclude_ids=exclude,
            match=calibration,
            workers=COMPUTE_WORKERS,
        )
        if snapshot.model is not None
        else iter([(u, []) for u in sorted(histories)])
    )

    spent = {"computing": 0.0, "waiting": 0.0}  # the compute thread's time, and the loop's wait for it

    def next_chunk() -> list[Computed]:
        clock = time.perf_counter()
        chunk = [Computed(int(key), histories[key], p) for key, p in itertools.islice(batches, BATCH_CHUNK)]
        spent["computing"] += time.perf_counter() - clock
        return chunk

    async def computed(chunk: asyncio.Future[list[Computed]]) -> list[Computed]:
        clock = time.perf_counter()
        try:
            return await chunk
        finally:
            spent["waiting"] += time.perf_counter() - clock

    picks = failed = done = 0
    computing = asyncio.ensure_future(asyncio.to_thread(next_chunk))
    try:
        while chunk := await computed(computing):
            computing = asyncio.ensure_future(asyncio.to_thread(next_chunk))
            try:
                await _store(services, snapshot, config, media_type, chunk, generator, trigger)
            except Exception:
                log.warning(
                    "storing %d users' %s picks together failed; storing them one by one", len(chunk), media_type
                )
                stored = [
                    await _store_alone(services, snapshot, config, media_type, one, generator, trigger, progress)
                    for one in chunk
                ]
                failed += stored.count(False)
                picks += sum(len(one.picks) for one, ok in zip(chunk, stored, strict=True) if ok)
            else:
                picks += sum(len(one.picks) for one in chunk)
            done += len(chunk)
            await progress.update(done, len(users), f"recommended {done}/{len(users)} users")
    finally:
        computing.cancel()
    seconds = time.perf_counter() - started
    progress.log(f"{media_type}: {len(users)} users, {picks} picks, {failed} failed in {seconds:.1f}s")
    return {
        "media_type": media_type,
        "users": len(users),
        "picks": picks,
        "failed": failed,
        "items": items,
        "seconds": round(seconds, 3),
        # where the time went: the snapshot (histories re-read, the model rebuilt when they changed), the match
        # calibration's refit, then the picks computed and stored; computing and storing overlap, and "waiting" is
        # how long storing waited for the next chunk to be computed (most of it: computing is the slower side)
        "timings_s": {
            "snapshot": round(snapshot_s, 3),
            "calibration": round(calibration_s, 3),
            "picks": round(seconds - snapshot_s - calibration_s, 3),
            "computing": round(spent["computing"], 3),
            "waiting": round(spent["waiting"], 3),
        },
    }


async def _store(
    services: Services,
    snapshot: Snapshot,
    config: RecommendationConfig,
    media_type: MediaType,
    computed: Sequence[Computed],
    generator: TextGenerator,
    trigger: str,
) -> None:
    """Store users' computed lists (texts, runs, taste profiles) in one transaction."""
    async with services.engine.begin() as conn:
        await store_computed(
            conn,
            snapshot=snapshot,
            config=config,
            media_type=media_type,
            computed=computed,
            generator=generator,
            trigger=trigger,
            started_at=datetime.now(UTC),
            update_taste=True,
            reuse_texts=True,
            timings={},
        )


async def _store_alone(
    services: Services,
    snapshot: Snapshot,
    config: RecommendationConfig,
    media_type: MediaType,
    one: Computed,
    generator: TextGenerator,
    trigger: str,
    progress: Progress,
) -> bool:
    """Store one user's list in its own transaction; on failure, a failed run says why. True when stored."""
    try:
        await _store(services, snapshot, config, media_type, [one], generator, trigger)
        return True
    except Exception as exc:  # one user's failure must not stop everyone else's list
        log.exception("recommendations for user %s failed", one.user_id)
        progress.log(f"user {one.user_id}: failed: {exc}")
        async with services.engine.begin() as conn:
            await store_run(
                conn,
                user_id=one.user_id,
                media_type=media_type,
                trigger=trigger,
                model=snapshot.model_name,
                params=config.as_params(),
                candidates=0,
                picks=[],
                explanations=[],
                started_at=datetime.now(UTC),
                error=str(exc)[:1000],
            )
        return False
