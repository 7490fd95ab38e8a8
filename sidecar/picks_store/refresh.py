"""Refreshing one user's stored picks (``refresh_user_picks``, the webhook follow-up's unit of work), and
storing computed picks (``store_computed``, which every user's refresh in ``refresh_all`` shares).

One user's refresh reads their history fresh, scores it against the process's cached ``PreparedModel``
(``sidecar.picks_store.inputs``), writes a run with its picks (``runs``) and texts (``explain``) and keeps
the user's taste profile current (``taste``), without reloading the catalogue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.ai.writing import TextGenerator
from sidecar.ai_factory import get_text_generator, text_source
from sidecar.media_types import MediaType
from sidecar.picks_store.config import RecommendationConfig, config_from
from sidecar.picks_store.explain import explain, previous_explanations_many
from sidecar.picks_store.inputs import (
    RECOMMENDER_TYPE,
    Snapshot,
    model_name,
    snapshot_cache,
    started_series,
    user_history,
)
from sidecar.picks_store.match_calibration import match_calibration
from sidecar.picks_store.runs import RunRecord, store_runs
from sidecar.picks_store.taste import taste_facts, update_taste_profiles
from sidecar.recommender import Pick, WatchEvent, recommend
from sidecar.recommender.picks import excluded_items
from sidecar.services import Services

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RefreshResult:
    user_id: int
    media_type: str
    run_id: int
    picks: int
    candidates: int
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "media_type": self.media_type,
            "run_id": self.run_id,
            "picks": self.picks,
            "candidates": self.candidates,
            "timings_ms": {k: round(v * 1000, 2) for k, v in self.timings.items()},
        }


@dataclass(frozen=True, slots=True)
class Computed:
    """One user's freshly computed picks and the history they came from, waiting to be stored."""

    user_id: int
    history: Sequence[WatchEvent]
    picks: Sequence[Pick]


async def store_computed(
    conn: AsyncConnection,
    *,
    snapshot: Snapshot,
    config: RecommendationConfig,
    media_type: MediaType,
    computed: Sequence[Computed],
    generator: TextGenerator,
    trigger: str,
    started_at: datetime,
    update_taste: bool,
    reuse_texts: bool,
    timings: dict[str, float],
) -> list[tuple[int, int]]:
    """Texts, the stored runs and the taste profiles for users' computed picks, in a handful of statements
    however many users: (run id, candidates) per user, in order."""
    # Picks are derived data, recomputed on the next refresh: no need to wait for the WAL flush.
    await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
    clock = time.perf_counter()
    reuse = reuse_texts and text_source(generator) == "llm"
    # the users' current lists in one read (only a chat model's texts are reused)
    previous = await previous_explanations_many(conn, [one.user_id for one in computed], media_type) if reuse else {}
    explanations = [await explain(generator, snapshot, one.picks, previous.get(one.user_id, {})) for one in computed]
    timings["explain"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model = snapshot.model
    runs = [
        RunRecord(
            user_id=one.user_id,
            media_type=media_type,
            trigger=trigger,
            model=snapshot.model_name,
            params=config.as_params(),
            candidates=int(model.size - excluded_items(model, one.history).sum()) if model is not None else 0,
            picks=one.picks,
            explanations=texts,
            started_at=started_at,
        )
        for one, texts in zip(computed, explanations, strict=True)
    ]
    run_ids = await store_runs(conn, runs)
    if update_taste:
        facts = {one.user_id: taste_facts(snapshot, one.history, config.recent_limit) for one in computed}
        await update_taste_profiles(conn, media_type, facts, generator)
    timings["store"] = time.perf_counter() - clock
    return [(run_id, run.candidates) for run_id, run in zip(run_ids, runs, strict=True)]


async def refresh_user_picks(
    services: Services,
    user_id: int,
    media_type: MediaType,
    *,
    trigger: str = "job",
    snapshot: Snapshot | None = None,
    config: RecommendationConfig | None = None,
    history: Sequence[WatchEvent] | None = None,
    generator: TextGenerator | None = None,
    update_taste: bool = True,
    reuse_texts: bool = True,
) -> RefreshResult:
    """Recompute and store one user's picks for one media type.

    Without ``snapshot`` the process's cached catalogue is used (re-reading only what changed);
    without ``history`` the user's history is read fresh from the database. Texts of unchanged picks
    are kept from the previous list unless ``reuse_texts`` is off.
    """
    started_at = datetime.now(UTC)
    timings: dict[str, float] = {}
    async with services.engine.begin() as conn:  # one connection and transaction for the whole refresh
        clock = time.perf_counter()
        config = config or await config_from(conn, media_type)
        snapshot = snapshot or await snapshot_cache(services).snapshot(
            services, model_name(services), media_type, conn=conn
        )
        timings["snapshot"] = time.perf_counter() - clock

        clock = time.perf_counter()
        if history is None:
            history = await user_history(conn, user_id, media_type)
        timings["history"] = time.perf_counter() - clock

        clock = time.perf_counter()
        model = snapshot.model
        calibration = await match_calibration(services, snapshot, config)
        timings["calibration"] = time.perf_counter() - clock
        clock = time.perf_counter()
        picks = (
            recommend(
                model,
                history,
                weights=config.weights,
                count=config.count,
                recent_limit=config.recent_limit,
                media_type=RECOMMENDER_TYPE[media_type],
                exclude_ids=started_series(history) if media_type == MediaType.SERIES else (),
                match=calibration,
            )
            if model is not None
            else []
        )
        timings["recommend"] = time.perf_counter() - clock
        [(run_id, candidates)] = await store_computed(
            conn,
            snapshot=snapshot,
            config=config,
            media_type=media_type,
            computed=[Computed(user_id, history, picks)],
            generator=generator or get_text_generator(services),
            trigger=trigger,
            started_at=started_at,
            update_taste=update_taste,
            reuse_texts=reuse_texts,
            timings=timings,
        )
    return RefreshResult(user_id, media_type, run_id, len(picks), candidates, timings)


async def regenerate_explanations(services: Services, user_id: int, media_type: MediaType) -> int:
    """Recompute the user's list with every "why we picked this" text written afresh; returns the picks."""
    result = await refresh_user_picks(services, user_id, media_type, trigger="manual", reuse_texts=False)
    return result.picks
