"""Keeping ``item_embedding`` current: which items need (re-)embedding, embedding them, storing vectors.

An item needs embedding when it has no row for the active model or its embedding text changed (the
row's ``text_hash`` is the hash of model + text). Items whose embedding failed keep their error and the
hash of the text that failed, so they are skipped until their text changes (or an admin asks for a
retry) instead of being retried on every run.

Vectors are stored in a dimension-less ``vector`` column; each (model, dimension) gets its own partial
HNSW index on ``embedding::vector(dim)`` (``vector_index``), so switching models re-embeds instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text

from providers.ai.embedder import Embedder, FloatMatrix
from providers.ai.errors import AIBadInput, AIRateLimited
from providers.ai.models import estimate_cost_usd
from providers.ai.tokens import count_tokens_async
from sidecar.jobs.progress import Progress
from sidecar.media_types import SPECS, MediaType, spec
from sidecar.recommender.embedding_text import ItemDescription, embedding_text, text_hash
from sidecar.services import Services
from sidecar.vector_index import ensure_hnsw_index, vector_literal

log = logging.getLogger(__name__)


DIRECTOR_TYPES = frozenset({"director", "creator"})
ACTOR_TYPES = frozenset({"actor"})

# Live items of one kind whose library is enabled (``item i LEFT JOIN library l``). Items with no
# library are kept: nothing disables them.
ELIGIBLE_ITEM = (
    "i.kind = :kind AND i.gone_at IS NULL"
    " AND (i.library_id IS NULL OR (l.enabled AND l.gone_at IS NULL AND NOT l.is_marquee_output))"
)

_DESCRIBE_COLUMNS = (
    "i.id, i.name, i.year, i.end_year, i.status, i.tagline, i.genres, i.official_rating, i.people,"
    " i.studios, i.overview, i.tags"
)


def people_by_role(people: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(directors or creators, actors) from ``item.people`` rows ``{name, role, type}``, in order."""
    directors: list[str] = []
    actors: list[str] = []
    for person in people:
        name = str(person.get("name") or "").strip()
        kind = str(person.get("type") or "").lower()
        if not name:
            continue
        if kind in DIRECTOR_TYPES:
            directors.append(name)
        elif kind in ACTOR_TYPES:
            actors.append(name)
    return directors, actors


def describe_row(row: Mapping[Any, Any], media_type: str) -> ItemDescription:
    directors, actors = people_by_role(row.get("people") or [])
    series = media_type == MediaType.SERIES
    return ItemDescription(
        title=row["name"],
        media_type="series" if series else "movie",
        year=row.get("year"),
        end_year=row.get("end_year") if series else None,
        continuing=series and (row.get("status") or "").lower() == "continuing",
        tagline=row.get("tagline"),
        genres=tuple(row.get("genres") or ()),
        official_rating=row.get("official_rating"),
        directors=tuple(directors),
        studios=tuple(row.get("studios") or ()),
        actors=tuple(actors),
        overview=row.get("overview"),
        tags=tuple(row.get("tags") or ()),
    )


@dataclass(frozen=True, slots=True)
class PendingItem:
    item_id: int
    text: str
    text_hash: str


@dataclass(slots=True)
class Plan:
    """What one run has to do for one model and media type."""

    model: str
    media_type: str
    considered: int = 0
    up_to_date: int = 0
    skipped_failed: int = 0
    pending: list[PendingItem] = field(default_factory=list)


async def plan_embeddings(services: Services, model: str, media_type: MediaType, *, retry_failed: bool = False) -> Plan:
    """The items of ``media_type`` whose text hash for ``model`` is missing or stale.

    Failed items whose text is unchanged are counted in ``skipped_failed`` (retried only with
    ``retry_failed``).
    """
    plan = Plan(model=model, media_type=media_type)
    sql = (
        f"SELECT {_DESCRIBE_COLUMNS}, e.text_hash AS stored_hash, e.error AS stored_error"
        " FROM item i"
        " LEFT JOIN library l ON l.id = i.library_id"
        " LEFT JOIN item_embedding e ON e.item_id = i.id AND e.model = :model"
        f" WHERE {ELIGIBLE_ITEM} ORDER BY i.id"
    )
    async with services.engine.connect() as conn:
        rows = (await conn.execute(text(sql), {"model": model, "kind": spec(media_type).kind})).mappings().all()
    for row in rows:
        plan.considered += 1
        body = embedding_text(describe_row(row, media_type))
        digest = text_hash(body, model)
        if row["stored_hash"] == digest:
            if row["stored_error"] is None:
                plan.up_to_date += 1
                continue
            if not retry_failed:
                plan.skipped_failed += 1
                continue
        plan.pending.append(PendingItem(int(row["id"]), body, digest))
    return plan


@dataclass(slots=True)
class EmbeddingReport:
    model: str
    media_type: str
    dimension: int | None = None
    considered: int = 0
    up_to_date: int = 0
    skipped_failed: int = 0
    embedded: int = 0
    failed: int = 0
    estimated_tokens: int = 0
    estimated_cost_usd: float | None = None
    seconds: float = 0.0
    items_per_second: float = 0.0
    index: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait when the endpoint still says 429 after the embedder's own retries."""

    retries: int = 5
    base_s: float = 2.0
    max_s: float = 120.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None and retry_after_s > 0:
            return min(self.max_s, retry_after_s)
        return min(self.max_s, self.base_s * float(2**attempt))


Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class _Outcome:
    vectors: list[tuple[PendingItem, FloatMatrix]] = field(default_factory=list)
    errors: list[tuple[PendingItem, str]] = field(default_factory=list)


class _Runner:
    def __init__(self, embedder: Embedder, progress: Progress, backoff: BackoffPolicy, sleep: Sleep, dim: int) -> None:
        self.embedder = embedder
        self.progress = progress
        self.backoff = backoff
        self.sleep = sleep
        self.dim = dim

    async def embed_chunk(self, chunk: Sequence[PendingItem]) -> _Outcome:
        outcome = _Outcome()
        await self._embed_isolating(chunk, outcome)
        return outcome

    async def _embed_with_backoff(self, texts: list[str]) -> FloatMatrix:
        attempt = 0
        while True:
            try:
                return await self.embedder.embed(texts)
            except AIRateLimited as exc:
                if attempt >= self.backoff.retries:
                    raise
                wait = self.backoff.delay(attempt, exc.retry_after_s)
                self.progress.log(f"rate limited; waiting {wait:.1f}s before retrying {len(texts)} items")
                await self.sleep(wait)
                attempt += 1

    async def _embed_isolating(self, chunk: Sequence[PendingItem], outcome: _Outcome) -> None:
        """Embed ``chunk``; on a refused input, bisect until the offending items are found."""
        try:
            matrix = await self._embed_with_backoff([p.text for p in chunk])
        except AIBadInput as exc:
            if len(chunk) == 1:
                outcome.errors.append((chunk[0], f"refused by the embedding endpoint: {exc}"[:1000]))
                return
            middle = len(chunk) // 2
            await self._embed_isolating(chunk[:middle], outcome)
            await self._embed_isolating(chunk[middle:], outcome)
            return
        if matrix.shape != (len(chunk), self.dim):
            raise ValueError(
                f"embedder {self.embedder.name} returned shape {matrix.shape} for {len(chunk)} texts,"
                f" expected dimension {self.dim}"
            )
        valid = (np.isfinite(matrix).all(axis=1) & (np.linalg.norm(matrix, axis=1) > 0)).tolist()
        for pending, vector, ok in zip(chunk, matrix, valid, strict=True):
            if ok:
                outcome.vectors.append((pending, vector))
            else:
                outcome.errors.append((pending, "the embedding endpoint returned an empty or invalid vector"))


_UPSERT_VECTOR = text(
    "INSERT INTO item_embedding (item_id, model, dim, text_hash, embedding, error, attempts, updated_at)"
    " VALUES (:item_id, :model, :dim, :text_hash, CAST(:embedding AS vector), NULL, 0, now())"
    " ON CONFLICT (item_id, model) DO UPDATE SET dim = EXCLUDED.dim, text_hash = EXCLUDED.text_hash,"
    " embedding = EXCLUDED.embedding, error = NULL, attempts = 0, updated_at = now()"
)
_UPSERT_ERROR = text(
    "INSERT INTO item_embedding (item_id, model, dim, text_hash, embedding, error, attempts, updated_at)"
    " VALUES (:item_id, :model, :dim, :text_hash, NULL, :error, 1, now())"
    " ON CONFLICT (item_id, model) DO UPDATE SET dim = EXCLUDED.dim, text_hash = EXCLUDED.text_hash,"
    " embedding = NULL, error = EXCLUDED.error,"
    " attempts = CASE WHEN item_embedding.text_hash = EXCLUDED.text_hash"
    "   THEN item_embedding.attempts + 1 ELSE 1 END,"
    " updated_at = now()"
)


async def _store(services: Services, model: str, dim: int, outcome: _Outcome) -> None:
    async with services.engine.begin() as conn:
        if outcome.vectors:
            await conn.execute(
                _UPSERT_VECTOR,
                [
                    {
                        "item_id": p.item_id,
                        "model": model,
                        "dim": dim,
                        "text_hash": p.text_hash,
                        "embedding": vector_literal(v),
                    }
                    for p, v in outcome.vectors
                ],
            )
        if outcome.errors:
            await conn.execute(
                _UPSERT_ERROR,
                [
                    {"item_id": p.item_id, "model": model, "dim": dim, "text_hash": p.text_hash, "error": err}
                    for p, err in outcome.errors
                ],
            )


# Texts per embedding call. Large, because the local model sorts each call's texts by length to pad
# less (256 measured ~75% of the raw model's throughput, 1000 ~97%); writes overlap the next call.
DEFAULT_CHUNK = 1024


async def embed_items(
    services: Services,
    embedder: Embedder,
    media_type: MediaType,
    progress: Progress,
    *,
    pricing_model: str | None = None,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    backoff: BackoffPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> EmbeddingReport:
    """Embed every item of ``media_type`` whose text changed for this model; store vectors or errors.

    ``pricing_model`` is the raw model name of a paid endpoint (e.g. ``text-embedding-3-small``): the
    run then logs and returns an estimated cost. Chunks are pipelined: the next chunk is embedded while
    the previous one is written. Rate limits that outlast the embedder's own retries are waited out with
    ``backoff``; a refused input is isolated and recorded on its item; any other error stops the run with
    everything embedded so far stored.
    """
    started = time.monotonic()
    model = embedder.name
    report = EmbeddingReport(model=model, media_type=media_type)
    plan = await plan_embeddings(services, model, media_type, retry_failed=retry_failed)
    report.considered, report.up_to_date, report.skipped_failed = (
        plan.considered,
        plan.up_to_date,
        plan.skipped_failed,
    )
    total = len(plan.pending)
    report.estimated_tokens = (await count_tokens_async([p.text for p in plan.pending], pricing_model)).tokens
    if pricing_model is not None:
        report.estimated_cost_usd = estimate_cost_usd(pricing_model, report.estimated_tokens)
    cost = f", estimated cost ${report.estimated_cost_usd:.4f}" if report.estimated_cost_usd is not None else ""
    progress.log(
        f"{media_type} with {model}: {total} to embed, {plan.up_to_date} up to date,"
        f" {plan.skipped_failed} failed earlier (skipped); ~{report.estimated_tokens} tokens{cost}"
    )
    await progress.update(0, total, f"embedding {total} {media_type}")
    if not total:
        report.seconds = time.monotonic() - started
        return report

    dim = await embedder.dimension()
    report.dimension = dim
    size = chunk_size or max(embedder.batch_size, DEFAULT_CHUNK)
    chunks = [plan.pending[i : i + size] for i in range(0, total, size)]
    runner = _Runner(embedder, progress, backoff or BackoffPolicy(), sleep, dim)
    done = 0
    next_task: asyncio.Task[_Outcome] | None = asyncio.create_task(runner.embed_chunk(chunks[0]))
    try:
        for index in range(len(chunks)):
            assert next_task is not None
            outcome = await next_task
            next_task = asyncio.create_task(runner.embed_chunk(chunks[index + 1])) if index + 1 < len(chunks) else None
            await _store(services, model, dim, outcome)
            report.embedded += len(outcome.vectors)
            report.failed += len(outcome.errors)
            for pending, err in outcome.errors:
                progress.log(f"item {pending.item_id} failed to embed: {err}")
            done += len(chunks[index])
            rate = done / max(time.monotonic() - started, 1e-9)
            await progress.update(done, total, f"embedded {done}/{total} {media_type} ({rate:.0f}/s)")
    finally:
        if next_task is not None:
            next_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await next_task
    if report.embedded:
        async with services.engine.begin() as conn:
            report.index = await ensure_hnsw_index(conn, model, dim)
    report.seconds = time.monotonic() - started
    report.items_per_second = report.embedded / report.seconds if report.seconds > 0 else math.inf
    progress.log(
        f"{media_type}: embedded {report.embedded}, failed {report.failed} in {report.seconds:.1f}s"
        f" ({report.items_per_second:.1f} items/s)"
    )
    return report


async def embedding_status(services: Services, model: str) -> dict[str, dict[str, int]]:
    """Per media type: eligible items, embedded, failed (for the UI and the CLI)."""
    out: dict[str, dict[str, int]] = {}
    async with services.engine.connect() as conn:
        for media_type, kind in ((mt, s.kind) for mt, s in SPECS.items()):
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS items,"
                        " count(e.item_id) FILTER (WHERE e.embedding IS NOT NULL) AS embedded,"
                        " count(e.item_id) FILTER (WHERE e.error IS NOT NULL) AS failed"
                        " FROM item i LEFT JOIN library l ON l.id = i.library_id"
                        " LEFT JOIN item_embedding e ON e.item_id = i.id AND e.model = :model"
                        f" WHERE {ELIGIBLE_ITEM}"
                    ),
                    {"model": model, "kind": kind},
                )
            ).one()
            out[media_type] = {"items": int(row.items), "embedded": int(row.embedded), "failed": int(row.failed)}
    return out
