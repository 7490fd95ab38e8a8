"""Taste profiles: the facts of a user's taste and the text written from them (template or chat model)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.ai.writing import TasteFacts, TextGenerator
from sidecar.ai_factory import get_text_generator, text_source
from sidecar.picks_store.config import config_from
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, MediaType, Snapshot, snapshot_for, user_history
from sidecar.picks_store.runs import to_json
from sidecar.recommender import WatchEvent
from sidecar.recommender.catalogue import positive_event
from sidecar.recommender.taste import history_weights
from sidecar.services import Services

TASTE_TOP = 5


def taste_facts(snapshot: Snapshot, history: Sequence[WatchEvent], recent_limit: int) -> TasteFacts:
    """Weighted genres, typical decade, frequent people and recent/favourite titles of one user."""
    model = snapshot.model
    if model is None:
        return TasteFacts(media_type=RECOMMENDER_TYPE[snapshot.media_type])
    events = [e for e in history if e.item_id in model.index and positive_event(e)]
    events.sort(key=lambda e: (-(e.last_played or 0.0), e.item_id))
    events = events[:recent_limit]
    weights = history_weights(events).tolist() if events else []
    genres: defaultdict[str, float] = defaultdict(float)
    decades: defaultdict[int, float] = defaultdict(float)
    people: defaultdict[str, float] = defaultdict(float)
    appearances: defaultdict[str, int] = defaultdict(int)
    for event, weight in zip(events, weights, strict=True):
        item = model.items[model.index[event.item_id]]
        for genre in item.genres:
            genres[genre] += weight
        if item.year:
            decades[item.year // 10 * 10] += weight
        for person in item.people[:4]:
            people[person] += weight
            appearances[person] += 1
    titles = [model.items[model.index[e.item_id]].title for e in events]
    return TasteFacts(
        media_type=RECOMMENDER_TYPE[snapshot.media_type],
        top_genres=tuple(g for g, _ in _top(genres)),
        recent_titles=tuple(titles[:TASTE_TOP]),
        favourite_titles=tuple(t for t, e in zip(titles, events, strict=True) if e.favourite)[:TASTE_TOP],
        frequent_people=tuple(p for p, _ in _top(people) if appearances[p] >= 2),
        typical_decade=_top(decades, 1)[0][0] if decades else None,
        titles_watched=len(events),
    )


def _top(counter: Mapping[Any, float], n: int = TASTE_TOP) -> list[tuple[Any, float]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


async def update_taste_profile(
    conn: AsyncConnection,
    user_id: int,
    media_type: str,
    facts: TasteFacts,
    generator: TextGenerator,
    *,
    force: bool = False,
) -> bool:
    """Write the taste text when its facts changed (or ``force``); a locked profile is never touched."""
    facts_json = json.loads(to_json(asdict(facts)))
    source = text_source(generator)
    row = (
        await conn.execute(
            text("SELECT facts, source, locked FROM taste_profile WHERE user_id = :u AND media_type = :m"),
            {"u": user_id, "m": media_type},
        )
    ).first()
    if row is not None and (row.locked or (not force and row.facts == facts_json and row.source == source)):
        return False
    body = await generator.taste_profile(facts)
    await conn.execute(
        text(
            "INSERT INTO taste_profile (user_id, media_type, text, source, facts, locked, updated_at)"
            " VALUES (:u, :m, :t, :s, CAST(:f AS jsonb), false, now())"
            " ON CONFLICT (user_id, media_type) DO UPDATE SET text = EXCLUDED.text, source = EXCLUDED.source,"
            " facts = EXCLUDED.facts, updated_at = now() WHERE NOT taste_profile.locked"
        ),
        {"u": user_id, "m": media_type, "t": body, "s": source, "f": to_json(facts_json)},
    )
    return True


async def regenerate_taste_profile(services: Services, user_id: int, media_type: MediaType) -> str | None:
    """Rewrite one user's taste text now (the UI's "regenerate"); None when the profile is locked."""
    snapshot = await snapshot_for(services, media_type)
    async with services.engine.begin() as conn:
        config = await config_from(conn, media_type)
        facts = taste_facts(snapshot, await user_history(conn, user_id, media_type), config.recent_limit)
        if not await update_taste_profile(conn, user_id, media_type, facts, get_text_generator(services), force=True):
            return None
        return (
            await conn.execute(
                text("SELECT text FROM taste_profile WHERE user_id = :u AND media_type = :m"),
                {"u": user_id, "m": media_type},
            )
        ).scalar_one_or_none()
