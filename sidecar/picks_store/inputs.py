"""The recommender's inputs, read from the database once per process and then kept current cheaply.

A ``SnapshotCache`` (one per process, on ``services.snapshot_cache``) holds, per media type and embedding model:
the eligible items (live, in an enabled library) with their facts and vectors, every user's history,
and the ``PreparedModel`` built from them. Asking it for a snapshot costs one query when nothing
changed: statement triggers advance the ``catalog_version`` / ``history_version`` sequences
(migration 0200) whenever items, embeddings, libraries or watch states are written.

When the catalogue version moved, a narrow scan (item id, ``synced_at``, embedding ``updated_at``)
finds the rows that changed and only those are read again; the model is then rebuilt from the cached
rows in a worker thread. Other users' histories feed the co-watch model and the viewer counts; they
are re-read when the history version moved and the cached copy is older than ``history_max_age_s``
(batch jobs force it), so a stream of webhooks does not rebuild the model on every play. The user
being refreshed always gets their own history fresh (``load_user_history``).

A writer that bumped the version before committing may commit after our scan; a full change scan at
least every ``recheck_s`` seconds bounds how long such a change can stay unseen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ai_factory import get_embedder
from sidecar.embeddings import ELIGIBLE_ITEM, people_by_role
from sidecar.media_types import MediaType, spec
from sidecar.recommender import MOVIE, SERIES, ItemFacts, PreparedModel, WatchEvent
from sidecar.recommender.prepared_model import prepare_catalogue, with_histories
from sidecar.services import Services

log = logging.getLogger(__name__)

RECOMMENDER_TYPE: dict[str, str] = {"movies": MOVIE, "series": SERIES}
FloatMatrix = npt.NDArray[np.float32]

IN_PROGRESS_FRACTION = 0.05


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def facts_from_row(row: Mapping[Any, Any], media_type: str) -> ItemFacts:
    directors, actors = people_by_role(row.get("people") or [])
    provider_ids = {str(k).lower(): str(v) for k, v in (row.get("provider_ids") or {}).items() if v}
    return ItemFacts(
        item_id=str(row["id"]),
        title=row["name"],
        media_type=RECOMMENDER_TYPE[media_type],
        year=row.get("year"),
        genres=tuple(row.get("genres") or ()),
        community_rating=row.get("community_rating"),
        official_rating=row.get("official_rating"),
        people=tuple(directors + actors),
        studios=tuple(row.get("studios") or ()),
        provider_ids=provider_ids,
    )


def vector_from_bytes(data: bytes | None) -> FloatMatrix | None:
    """A vector from pgvector's binary form (``vector_send``): int16 dim, int16 unused, float4 BE."""
    if data is None:
        return None
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


# --- reading the catalogue -------------------------------------------------------------------------

_FINGERPRINT_SQL = (
    "SELECT i.id, i.synced_at, e.updated_at AS embedded_at"
    " FROM item i LEFT JOIN library l ON l.id = i.library_id"
    " LEFT JOIN item_embedding e ON e.item_id = i.id AND e.model = :model AND e.embedding IS NOT NULL"
    f" WHERE {ELIGIBLE_ITEM}"
)

_ROWS_SQL = (
    "SELECT i.id, i.name, i.year, i.genres, i.community_rating, i.official_rating, i.people, i.studios,"
    " i.provider_ids, vector_send(e.embedding) AS vector"
    " FROM item i LEFT JOIN item_embedding e"
    "   ON e.item_id = i.id AND e.model = :model AND e.embedding IS NOT NULL"
    " WHERE i.id IN :ids"
)

Fingerprint = tuple[float | None, float | None]


async def _fingerprints(conn: AsyncConnection, model: str, media_type: str) -> dict[int, Fingerprint]:
    result = await conn.execute(text(_FINGERPRINT_SQL), {"model": model, "kind": spec(media_type).kind})
    return {int(r[0]): (_epoch(r[1]), _epoch(r[2])) for r in result}


async def _item_rows(
    conn: AsyncConnection, model: str, media_type: str, ids: Sequence[int]
) -> dict[int, tuple[ItemFacts, FloatMatrix | None]]:
    out: dict[int, tuple[ItemFacts, FloatMatrix | None]] = {}
    stmt = text(_ROWS_SQL).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(ids), 5000):
        chunk = list(ids[start : start + 5000])
        rows = (await conn.execute(stmt, {"model": model, "ids": chunk})).mappings()
        for row in rows:
            out[int(row["id"])] = (facts_from_row(row, media_type), vector_from_bytes(row["vector"]))
    return out


# --- reading histories -----------------------------------------------------------------------------

_MOVIE_HISTORY_SQL = (
    "SELECT ws.user_id, ws.item_id, ws.played, ws.play_count, ws.is_favorite, ws.last_played_at,"
    " ws.position_ticks, ws.completion, i.runtime_ticks"
    " FROM watch_state ws JOIN item i ON i.id = ws.item_id AND i.kind = 'Movie'"
    " JOIN app_user u ON u.id = ws.user_id AND u.gone_at IS NULL"
    " WHERE (ws.played OR ws.is_favorite OR ws.play_count > 0 OR ws.position_ticks > 0 OR ws.completion > 0)"
)

# Episodes roll up to their series; a watch-state row on the series itself (the server's favourite or
# "played" on the series, or sync's own roll-up of the same episodes) is folded in without double counting.
_SERIES_HISTORY_SQL = (
    "WITH eps AS ("
    "  SELECT series_id, count(*) AS total FROM item"
    "  WHERE kind = 'Episode' AND gone_at IS NULL AND series_id IS NOT NULL GROUP BY series_id"
    "), watched AS ("
    "  SELECT ws.user_id, i.series_id,"
    "    max(ws.last_played_at) AS last_played_at, sum(ws.play_count) AS play_count,"
    "    bool_or(ws.is_favorite) AS favourite,"
    "    count(*) FILTER (WHERE ws.played) AS played_episodes,"
    "    bool_or(NOT ws.played AND (ws.position_ticks > 0 OR ws.completion > 0)) AS in_progress"
    "  FROM watch_state ws JOIN item i ON i.id = ws.item_id AND i.kind = 'Episode' AND i.series_id IS NOT NULL"
    "  WHERE (ws.played OR ws.is_favorite OR ws.play_count > 0 OR ws.position_ticks > 0 OR ws.completion > 0)"
    "  {user_filter_eps}"
    "  GROUP BY ws.user_id, i.series_id"
    "), direct AS ("
    "  SELECT ws.user_id, ws.item_id AS series_id, ws.played, ws.is_favorite, ws.completion,"
    "    ws.last_played_at, ws.play_count"
    "  FROM watch_state ws JOIN item i ON i.id = ws.item_id AND i.kind = 'Series'"
    "  WHERE (ws.played OR ws.is_favorite OR ws.play_count > 0 OR ws.completion > 0)"
    "  {user_filter_direct}"
    ")"
    " SELECT coalesce(w.user_id, d.user_id) AS user_id, coalesce(w.series_id, d.series_id) AS item_id,"
    "   greatest(w.last_played_at, d.last_played_at) AS last_played_at,"
    "   greatest(coalesce(w.play_count, 0), coalesce(d.play_count, 0)) AS play_count,"
    "   coalesce(w.favourite, false) OR coalesce(d.is_favorite, false) AS favourite,"
    "   coalesce(w.played_episodes, 0) AS played_episodes, coalesce(w.in_progress, false) AS in_progress,"
    "   coalesce(d.played, false) AS series_played, coalesce(d.completion, 0) AS series_completion,"
    "   coalesce(eps.total, 0) AS total_episodes"
    " FROM watched w FULL JOIN direct d ON d.user_id = w.user_id AND d.series_id = w.series_id"
    " LEFT JOIN eps ON eps.series_id = coalesce(w.series_id, d.series_id)"
    " JOIN app_user u ON u.id = coalesce(w.user_id, d.user_id) AND u.gone_at IS NULL"
)


def movie_event(row: Mapping[Any, Any]) -> WatchEvent:
    played = bool(row["played"])
    runtime = row["runtime_ticks"] or 0
    position = row["position_ticks"] or 0
    fraction = 0.0 if played or runtime <= 0 else min(1.0, position / runtime)
    completion = 1.0 if played else max(float(row["completion"] or 0.0), fraction)
    return WatchEvent(
        item_id=str(row["item_id"]),
        last_played=_epoch(row["last_played_at"]),
        play_count=max(int(row["play_count"] or 0), 1 if played else 0),
        played=played,
        favourite=bool(row["is_favorite"]),
        position_fraction=fraction,
        completion=completion,
    )


def series_event(row: Mapping[Any, Any]) -> WatchEvent:
    """One series as one event: completion is the share of its episodes seen.

    The series counts as played (a title the user chose and finished) when every episode, or the
    series itself, was marked played; anything less is a series in progress.
    """
    total = int(row["total_episodes"] or 0)
    played_eps = int(row["played_episodes"] or 0)
    share = played_eps / total if total else 0.0
    completion = max(share, float(row["series_completion"] or 0.0))
    played = bool(row["series_played"]) or (total > 0 and played_eps >= total)
    if played:
        completion = 1.0
    started = played_eps > 0 or bool(row["in_progress"])
    return WatchEvent(
        item_id=str(row["item_id"]),
        last_played=_epoch(row["last_played_at"]),
        play_count=max(int(row["play_count"] or 0), played_eps),
        played=played,
        favourite=bool(row["favourite"]),
        position_fraction=1.0 if started and not played else 0.0,
        completion=completion,
    )


async def _histories(conn: AsyncConnection, media_type: str, user_id: int | None = None) -> dict[str, list[WatchEvent]]:
    params: dict[str, Any] = {}
    if media_type == MediaType.MOVIES:
        sql = _MOVIE_HISTORY_SQL + (" AND ws.user_id = :user_id" if user_id is not None else "")
        convert = movie_event
    else:
        flt = " AND ws.user_id = :user_id" if user_id is not None else ""
        sql = _SERIES_HISTORY_SQL.format(user_filter_eps=flt, user_filter_direct=flt)
        convert = series_event
    if user_id is not None:
        params["user_id"] = user_id
    out: dict[str, list[WatchEvent]] = {}
    for row in (await conn.execute(text(sql), params)).mappings():
        out.setdefault(str(row["user_id"]), []).append(convert(row))
    for events in out.values():
        events.sort(key=lambda e: (e.last_played or 0.0, e.item_id))
    return out


async def user_history(conn: AsyncConnection, user_id: int, media_type: str) -> list[WatchEvent]:
    """One user's current history (series rolled up), oldest first."""
    return (await _histories(conn, media_type, user_id)).get(str(user_id), [])


async def load_user_history(services: Services, user_id: int, media_type: MediaType) -> list[WatchEvent]:
    async with services.engine.connect() as conn:
        return await user_history(conn, user_id, media_type)


def started_series(history: Iterable[WatchEvent]) -> list[str]:
    """Series the user has begun (or finished): never recommended again."""
    return [e.item_id for e in history if e.played or e.position_fraction > 0 or e.completion > 0]


# --- the cache -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Snapshot:
    """A consistent view for recommending: the prepared model and the histories it was built from."""

    media_type: str
    model_name: str
    model: PreparedModel | None  # None while the catalogue has no eligible items
    histories: Mapping[str, Sequence[WatchEvent]]
    built_at: float
    dimension: int | None


@dataclass(slots=True)
class _State:
    model_name: str
    media_type: str
    rows: dict[int, tuple[ItemFacts, FloatMatrix | None]] = field(default_factory=dict)
    fingerprints: dict[int, Fingerprint] = field(default_factory=dict)
    histories: dict[str, list[WatchEvent]] = field(default_factory=dict)
    catalog_version: int = -1
    history_version: int = -1
    scanned_at: float = 0.0
    histories_at: float = 0.0
    snapshot: Snapshot | None = None
    catalogue: PreparedModel | None = None  # the model's catalogue part, kept while only the histories change
    stats: dict[str, float] = field(default_factory=dict)


async def _versions(conn: AsyncConnection) -> tuple[int, int]:
    row = (
        await conn.execute(
            text(
                "SELECT (SELECT last_value + CASE WHEN is_called THEN 0 ELSE -1 END FROM catalog_version),"
                " (SELECT last_value + CASE WHEN is_called THEN 0 ELSE -1 END FROM history_version)"
            )
        )
    ).one()
    return int(row[0]), int(row[1])


class SnapshotCache:
    """Per-process cache of the recommender's inputs; see the module docstring."""

    def __init__(self, *, recheck_s: float = 60.0, history_max_age_s: float = 300.0) -> None:
        self.recheck_s = recheck_s
        self.history_max_age_s = history_max_age_s
        self._states: dict[tuple[str, str], _State] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def invalidate(self) -> None:
        """Forget everything (the next snapshot reads the whole catalogue again)."""
        self._states.clear()

    def stats(self, model_name: str, media_type: str) -> dict[str, float]:
        state = self._states.get((model_name, media_type))
        return dict(state.stats) if state else {}

    async def snapshot(
        self,
        services: Services,
        model_name: str,
        media_type: MediaType,
        *,
        fresh_histories: bool = False,
        conn: AsyncConnection | None = None,
    ) -> Snapshot:
        """The current snapshot, reading only what changed since the last call (on ``conn`` if given)."""
        key = (model_name, media_type)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            state = self._states.get(key)
            if state is None:
                state = _State(model_name=model_name, media_type=media_type)
                self._states[key] = state
            if conn is not None:
                return await self._refresh(conn, state, fresh_histories)
            async with services.engine.connect() as own:
                return await self._refresh(own, state, fresh_histories)

    async def _refresh(self, conn: AsyncConnection, state: _State, fresh_histories: bool) -> Snapshot:
        now = time.monotonic()
        dirty = catalogue_changed = state.snapshot is None
        catalog_v, history_v = await _versions(conn)
        if state.snapshot is None or catalog_v != state.catalog_version or now - state.scanned_at >= self.recheck_s:
            changed = await self._scan_catalogue(conn, state)
            state.catalog_version = catalog_v
            state.scanned_at = now
            dirty = dirty or changed
            catalogue_changed = catalogue_changed or changed
        histories_stale = history_v != state.history_version and (
            fresh_histories or now - state.histories_at >= self.history_max_age_s
        )
        if state.snapshot is None or histories_stale:
            started = time.monotonic()
            state.histories = await _histories(conn, state.media_type)
            state.history_version = history_v
            state.histories_at = now
            state.stats["history_load_s"] = time.monotonic() - started
            dirty = True
        if dirty or state.snapshot is None:
            state.snapshot = await asyncio.to_thread(self._build, state, catalogue_changed)
        return state.snapshot

    async def _scan_catalogue(self, conn: AsyncConnection, state: _State) -> bool:
        started = time.monotonic()
        current = await _fingerprints(conn, state.model_name, state.media_type)
        removed = [i for i in state.fingerprints if i not in current]
        changed = [i for i, fp in current.items() if state.fingerprints.get(i) != fp]
        for item_id in removed:
            state.rows.pop(item_id, None)
        if changed:
            state.rows.update(await _item_rows(conn, state.model_name, state.media_type, changed))
        state.fingerprints = current
        state.stats["scan_s"] = time.monotonic() - started
        state.stats["changed_rows"] = float(len(changed) + len(removed))
        return bool(changed or removed)

    @staticmethod
    def _build(state: _State, catalogue_changed: bool) -> Snapshot:
        started = time.monotonic()
        histories = {user: list(events) for user, events in state.histories.items()}
        dim = next((len(v) for _, v in state.rows.values() if v is not None), None)
        if catalogue_changed or state.catalogue is None:
            ids = sorted(state.rows)
            matrix = np.zeros((len(ids), dim or 1), dtype=np.float32)
            for row, item_id in enumerate(ids):
                vector = state.rows[item_id][1]
                if vector is not None and len(vector) == dim:
                    matrix[row] = vector
            state.catalogue = prepare_catalogue([state.rows[i][0] for i in ids], matrix) if ids else None
        model = None if state.catalogue is None else with_histories(state.catalogue, histories)
        state.stats["build_s"] = time.monotonic() - started
        state.stats["items"] = float(len(state.rows))
        return Snapshot(
            media_type=state.media_type,
            model_name=state.model_name,
            model=model,
            histories=histories,
            built_at=time.time(),
            dimension=dim,
        )


def snapshot_cache(services: Services) -> SnapshotCache:
    """The process's cache (created on first use)."""
    if services.snapshot_cache is None:
        services.snapshot_cache = SnapshotCache()
    return services.snapshot_cache


def model_name(services: Services) -> str:
    """The active embedding model's id (building the embedder loads nothing)."""
    return get_embedder(services).name


async def snapshot_for(services: Services, media_type: MediaType, *, fresh_histories: bool = False) -> Snapshot:
    """The current snapshot of ``media_type`` for the active embedding model."""
    return await snapshot_cache(services).snapshot(
        services, model_name(services), media_type, fresh_histories=fresh_histories
    )
