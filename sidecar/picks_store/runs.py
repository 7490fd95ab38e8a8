"""Stored picks: a ``recommendation_run`` per refresh with its ``recommendation`` rows; old runs pruned."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.media_types import MediaType
from sidecar.recommender import Pick
from sidecar.services import Services

KEEP_RUNS = 3  # finished runs kept per user and media type (the newest is the current list)


def _pick_row(slot: int, pick: Pick, explanation: tuple[str, str] | None) -> list[Any]:
    """One pick as a flat JSON array (`_PICK_COLUMNS` reads it back): arrays, not objects, because a night's
    50,000 picks are built and serialised in the event loop, and an object per value costs several times more."""
    b = pick.breakdown
    evidence = [[int(e.item_id), e.title, e.similarity] for e in pick.evidence]
    text, source = explanation if explanation else (None, None)
    return [slot, int(pick.item_id), pick.rank, b.final, pick.match_percent, b.taste, b.novelty, b.quality, b.variety,
            b.cowatch, pick.matching_genres, pick.new_genres, evidence, text, source]  # fmt: skip


# `_pick_row`'s arrays as the table's columns (JSON null in p->>k is SQL NULL; a pick without co-watch has no key)
_PICK_COLUMNS = (
    "(p->>0)::int AS slot, (p->>1)::int AS item_id, (p->>2)::int AS rank, (p->>3)::float8 AS score,"
    " (p->>4)::int AS match_pct,"
    " jsonb_build_object('taste', p->5, 'discovery', p->6, 'quality', p->7, 'variety', p->8)"
    "  || CASE WHEN jsonb_typeof(p->9) = 'null' THEN '{}'::jsonb ELSE jsonb_build_object('cowatch', p->9) END"
    "  AS components,"
    " jsonb_build_object('matching', p->10, 'new', p->11) AS genre_analysis,"
    " COALESCE((SELECT jsonb_agg(jsonb_build_object('item_id', e->0, 'title', e->1, 'similarity', e->2) ORDER BY n)"
    "  FROM jsonb_array_elements(p->12) WITH ORDINALITY AS x(e, n)), '[]'::jsonb) AS evidence,"
    " p->>13 AS explanation, p->>14 AS explanation_source"
)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One refresh of one user's list of one media type, as stored (``error``: the run failed, no picks)."""

    user_id: int
    media_type: str
    trigger: str
    model: str
    params: Mapping[str, Any]
    candidates: int
    picks: Sequence[Pick]
    explanations: Sequence[tuple[str, str] | None]
    started_at: datetime
    error: str | None = None


# The runs and every pick of them in one statement (one round trip however many): each run takes its id from the
# sequence in a CTE, and each pick finds its run by the run's place in the list (`slot`), not by a RETURNING order.
_INSERT_RUNS_AND_PICKS = text(
    "WITH runs AS MATERIALIZED ("
    " SELECT nextval(pg_get_serial_sequence('recommendation_run', 'id')) AS id, r.*"
    " FROM jsonb_to_recordset(CAST(:runs AS jsonb)) AS r(slot int, user_id int, media_type text, trigger text,"
    "  status text, model text, params jsonb, candidates int, error text, started_at timestamptz)"
    "), inserted AS ("
    " INSERT INTO recommendation_run"
    " (id, user_id, media_type, trigger, status, model, params, candidate_count, error, started_at, finished_at)"
    " SELECT id, user_id, media_type, trigger, status, model, params, candidates, error, started_at, now() FROM runs"
    "), picks AS ("
    " INSERT INTO recommendation (run_id, user_id, media_type, item_id, rank, score, match_pct, components,"
    " genre_analysis, evidence, explanation, explanation_source)"
    " SELECT runs.id, runs.user_id, runs.media_type, p.item_id, p.rank, p.score, p.match_pct, p.components,"
    " p.genre_analysis, p.evidence, p.explanation, p.explanation_source"
    " FROM (SELECT " + _PICK_COLUMNS + " FROM jsonb_array_elements(CAST(:picks AS jsonb)) AS rows(p)) p"
    " JOIN runs ON runs.slot = p.slot"
    ")"
    " SELECT slot, id FROM runs ORDER BY slot"
)
_PRUNE_RUNS = text(
    "DELETE FROM recommendation_run r USING ("
    " SELECT id, row_number() OVER (PARTITION BY user_id, media_type ORDER BY id DESC) AS newest"
    " FROM recommendation_run"
    " WHERE (user_id, media_type) IN (SELECT * FROM unnest(CAST(:users AS int[]), CAST(:types AS text[])))"
    ") old WHERE r.id = old.id AND old.newest > :keep"
)


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def store_runs(conn: AsyncConnection, runs: Sequence[RunRecord]) -> list[int]:
    """Write the runs and their picks in two statements whatever their number (in the caller's
    transaction); returns their ids, in order. Beyond ``KEEP_RUNS``, older runs of the same users and
    media types go (not after a failed run: the list it did not replace stays)."""
    if not runs:
        return []
    rows = [
        {
            "slot": slot,
            "user_id": run.user_id,
            "media_type": run.media_type,
            "trigger": run.trigger,
            "status": "failed" if run.error else "done",
            "model": run.model,
            "params": dict(run.params),
            "candidates": run.candidates,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
        }
        for slot, run in enumerate(runs)
    ]
    picks = [
        _pick_row(slot, p, e) for slot, run in enumerate(runs) for p, e in zip(run.picks, run.explanations, strict=True)
    ]
    result = await conn.execute(_INSERT_RUNS_AND_PICKS, {"runs": to_json(rows), "picks": to_json(picks)})
    ids = [int(run_id) for _, run_id in sorted(result.all())]
    done = sorted({(run.user_id, run.media_type) for run in runs if not run.error})
    if done:
        users, types = zip(*done, strict=True)
        await conn.execute(_PRUNE_RUNS, {"users": list(users), "types": list(types), "keep": KEEP_RUNS})
    return ids


async def store_run(
    conn: AsyncConnection,
    *,
    user_id: int,
    media_type: str,
    trigger: str,
    model: str,
    params: Mapping[str, Any],
    candidates: int,
    picks: Sequence[Pick],
    explanations: Sequence[tuple[str, str] | None],
    started_at: datetime,
    error: str | None = None,
) -> int:
    """Write one run and its picks (``store_runs`` of one)."""
    run = RunRecord(user_id, media_type, trigger, model, params, candidates, picks, explanations, started_at, error)
    return (await store_runs(conn, [run]))[0]


async def clear_recommendations(services: Services, media_type: MediaType) -> int:
    """Delete every run (and pick) of ``media_type``; returns the runs removed."""
    async with services.engine.begin() as conn:
        result = await conn.execute(text("DELETE FROM recommendation_run WHERE media_type = :m"), {"m": media_type})
    return int(getattr(result, "rowcount", 0) or 0)
