"""Taste profiles: the facts of a user's taste and the text written from them (template or chat model)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.ai.writing import TasteFacts, TextGenerator
from sidecar.ai_factory import get_text_generator, text_source
from sidecar.media_types import MediaType
from sidecar.picks_store.config import config_from
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, Snapshot, snapshot_for, user_history
from sidecar.picks_store.runs import to_json
from sidecar.recommender import WatchEvent
from sidecar.recommender.summary import summarise_taste
from sidecar.services import Services


def taste_facts(snapshot: Snapshot, history: Sequence[WatchEvent], recent_limit: int) -> TasteFacts:
    """The recommender's ``summarise_taste`` of one user, as the facts the texts are written from."""
    model = snapshot.model
    media_type = RECOMMENDER_TYPE[snapshot.media_type]
    if model is None:
        return TasteFacts(media_type=media_type)
    summary = summarise_taste(model, history, recent_limit)
    return TasteFacts(
        media_type=media_type,
        top_genres=summary.top_genres,
        recent_titles=summary.recent_titles,
        favourite_titles=summary.favourite_titles,
        frequent_people=summary.frequent_people,
        typical_decade=summary.typical_decade,
        titles_watched=summary.titles_watched,
        genre_counts=summary.genre_counts,
        peak_decades=summary.peak_decades,
    )


_CURRENT_PROFILES = text(
    "SELECT user_id, facts, source, locked FROM taste_profile WHERE media_type = :m AND user_id = ANY(:users)"
)
_UPSERT_PROFILES = text(
    "INSERT INTO taste_profile (user_id, media_type, text, source, facts, locked, updated_at)"
    " SELECT p.user_id, :m, p.text, p.source, p.facts, false, now()"
    " FROM jsonb_to_recordset(CAST(:profiles AS jsonb)) AS p(user_id int, text text, source text, facts jsonb)"
    " ON CONFLICT (user_id, media_type) DO UPDATE SET text = EXCLUDED.text, source = EXCLUDED.source,"
    " facts = EXCLUDED.facts, updated_at = now() WHERE NOT taste_profile.locked"
)


async def update_taste_profiles(
    conn: AsyncConnection,
    media_type: str,
    facts_by_user: Mapping[int, TasteFacts],
    generator: TextGenerator,
    *,
    force: bool = False,
) -> set[int]:
    """Write the taste texts whose facts changed (or all, ``force``) in two statements however many users;
    a locked profile is never touched. Returns the users whose text was written."""
    if not facts_by_user:
        return set()
    source = text_source(generator)
    current = {
        int(row.user_id): row
        for row in await conn.execute(_CURRENT_PROFILES, {"m": media_type, "users": list(facts_by_user)})
    }
    rows = []
    for user_id, facts in facts_by_user.items():
        facts_json = json.loads(to_json(asdict(facts)))
        row = current.get(user_id)
        if row is not None and (row.locked or (not force and row.facts == facts_json and row.source == source)):
            continue
        body = await generator.taste_profile(facts)
        rows.append({"user_id": user_id, "text": body, "source": source, "facts": facts_json})
    if rows:
        await conn.execute(_UPSERT_PROFILES, {"m": media_type, "profiles": to_json(rows)})
    return {row["user_id"] for row in rows}


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
    return bool(await update_taste_profiles(conn, media_type, {user_id: facts}, generator, force=force))


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
