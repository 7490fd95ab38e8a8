"""The "why we picked this" texts: facts per pick, the template or a chat model, reuse of unchanged texts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.ai.writing import PickFacts, TemplateWriter, TextGenerator
from sidecar.ai_factory import text_source
from sidecar.picks_store.inputs import Snapshot
from sidecar.recommender import ItemFacts, Pick

LLM_EXPLANATIONS = 10  # picks per refresh whose text a chat model writes; the rest use the template
LLM_CONCURRENCY = 4


def pick_facts(item: ItemFacts, pick: Pick) -> PickFacts:
    return PickFacts(
        title=item.title,
        year=item.year,
        genres=tuple(item.genres),
        match_percent=pick.match_percent,
        matching_genres=pick.matching_genres,
        new_genres=pick.new_genres,
        evidence=tuple((e.title, e.similarity) for e in pick.evidence),
        community_rating=item.community_rating,
        watched_by_others=pick.breakdown.cowatch is not None and pick.breakdown.cowatch > 0.5,
    )


Reusable = dict[tuple[int, tuple[int, ...]], tuple[str, str]]  # (item, evidence ids) -> (text, source)

# every given user's current list (their newest finished run of the media type) in one statement
_PREVIOUS_EXPLANATIONS = text(
    "SELECT r.user_id, r.item_id, r.evidence, r.explanation, r.explanation_source FROM recommendation r"
    " WHERE r.run_id IN (SELECT DISTINCT ON (user_id) id FROM recommendation_run"
    "   WHERE user_id = ANY(:users) AND media_type = :media_type AND status = 'done'"
    "   ORDER BY user_id, finished_at DESC NULLS LAST, id DESC)"
)


async def previous_explanations_many(
    conn: AsyncConnection, user_ids: Sequence[int], media_type: str
) -> dict[int, Reusable]:
    """Per user, (item, evidence ids) -> (text, source) from their current list, to reuse unchanged texts."""
    out: dict[int, Reusable] = {user_id: {} for user_id in user_ids}
    if not user_ids:
        return out
    rows = await conn.execute(_PREVIOUS_EXPLANATIONS, {"users": list(user_ids), "media_type": media_type})
    for user_id, item_id, evidence, explanation, source in rows:
        if explanation:
            key = (int(item_id), tuple(int(e["item_id"]) for e in evidence or ()))
            out[int(user_id)][key] = (explanation, source or "template")
    return out


async def previous_explanations(conn: AsyncConnection, user_id: int, media_type: str) -> Reusable:
    """(item, evidence ids) -> (text, source) from the user's current list, to reuse unchanged texts."""
    return (await previous_explanations_many(conn, [user_id], media_type))[user_id]


async def explain(
    generator: TextGenerator,
    snapshot: Snapshot,
    picks: Sequence[Pick],
    previous: Mapping[tuple[int, tuple[int, ...]], tuple[str, str]],
) -> list[tuple[str, str]]:
    """A text per pick. The template writes every text afresh (it is instant and cites the current
    match %); with a chat model, a text from the user's previous list is kept while the pick and its
    evidence are unchanged, and at most ``LLM_EXPLANATIONS`` new texts are written per refresh (so a
    webhook refresh stays fast and cheap), the template writing the rest."""
    source = text_source(generator)
    template = TemplateWriter()
    model = snapshot.model
    if model is None or not picks:
        return []
    out: list[tuple[str, str] | None] = [None] * len(picks)
    to_write: list[tuple[int, PickFacts]] = []
    for slot, pick in enumerate(picks):
        key = (int(pick.item_id), tuple(int(e.item_id) for e in pick.evidence))
        reused = previous.get(key) if source == "llm" else None
        if reused is not None and reused[1] == "llm":
            out[slot] = reused
            continue
        facts = pick_facts(model.items[model.index[pick.item_id]], pick)
        if source == "llm" and len(to_write) < LLM_EXPLANATIONS:
            to_write.append((slot, facts))
        else:
            out[slot] = (template.why_picked_sync(facts), "template")
    if to_write:
        gate = asyncio.Semaphore(LLM_CONCURRENCY)

        async def write(facts: PickFacts) -> str:
            async with gate:
                return await generator.why_picked(facts)

        texts = await asyncio.gather(*(write(f) for _, f in to_write))
        for (slot, _), body in zip(to_write, texts, strict=True):
            out[slot] = (body, source)
    return [o if o is not None else ("", "template") for o in out]
