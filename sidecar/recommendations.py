"""Recommendations in the database: compute one user's picks from the cached catalogue and store them.

``refresh_user`` is the unit of work: it reads the user's history fresh, scores it against the
process's cached ``PreparedModel`` (``sidecar.catalog``), writes a ``recommendation_run`` with its
``recommendation`` rows (components, match %, genre analysis, evidence, explanation) and keeps the
user's taste profile current; the webhook follow-up calls it for one user, without reloading the
catalogue. ``refresh_all`` (the batch jobs) computes every enabled user's picks in batches and stores
them the same way.

Also here: the weights and counts from runtime settings, and similar items through pgvector.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.ai.writing import PickFacts, TasteFacts, TemplateWriter, TextGenerator
from sidecar import runtime_settings as rs
from sidecar.ai_factory import get_embedder, get_text_generator, text_source
from sidecar.catalog import (
    RECOMMENDER_TYPE,
    Snapshot,
    catalog_cache,
    started_series,
    user_history,
)
from sidecar.embeddings import ELIGIBLE_ITEM, sql_literal
from sidecar.jobs.progress import Progress
from sidecar.recommender import ItemFacts, Pick, WatchEvent, Weights, recommend, recommend_many
from sidecar.recommender.catalogue import positive_event
from sidecar.recommender.picks import excluded_items
from sidecar.recommender.taste import history_weights
from sidecar.services import Services

log = logging.getLogger(__name__)

MediaType = Literal["movies", "series"]
KEEP_RUNS = 3  # finished runs kept per user and media type (the newest is the current list)
TASTE_TOP = 5


@dataclass(frozen=True, slots=True)
class RecommendationConfig:
    weights: Weights
    count: int
    recent_limit: int

    def as_params(self) -> dict[str, Any]:
        w = self.weights
        return {
            "weights": {
                "similarity": w.similarity,
                "novelty": w.novelty,
                "rating": w.rating,
                "diversity": w.diversity,
                "cowatch": w.cowatch,
            },
            "count": self.count,
            "recent_limit": self.recent_limit,
        }


async def load_config(services: Services, media_type: MediaType) -> RecommendationConfig:
    """Weights, count and recent-watch limit from runtime settings (defaults when never saved)."""
    async with services.engine.connect() as conn:
        return await config_from(conn, media_type)


async def config_from(conn: AsyncConnection, media_type: MediaType) -> RecommendationConfig:
    key = rs.recommendation_key(media_type)
    value = (
        await conn.execute(text("SELECT value FROM runtime_setting WHERE key = :k"), {"k": key.key})
    ).scalar_one_or_none()
    stored = rs.parse(key, value)
    w = stored.weights
    return RecommendationConfig(
        weights=Weights(similarity=w.similarity, novelty=w.novelty, rating=w.rating, diversity=w.diversity),
        count=stored.count,
        recent_limit=stored.recent_watch_limit,
    )


def model_name(services: Services) -> str:
    """The active embedding model's id (building the embedder loads nothing)."""
    return get_embedder(services).name


async def snapshot_for(services: Services, media_type: MediaType, *, fresh_histories: bool = False) -> Snapshot:
    return await catalog_cache(services).snapshot(
        services, model_name(services), media_type, fresh_histories=fresh_histories
    )


# --- facts the texts are written from ------------------------------------------------------------

LLM_EXPLANATIONS = 10  # picks per refresh whose text a chat model writes; the rest use the template
LLM_CONCURRENCY = 4


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


# --- one user's refresh ----------------------------------------------------------------------------


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


def _pick_row(pick: Pick, explanation: tuple[str, str] | None) -> dict[str, Any]:
    b = pick.breakdown
    components = {"taste": b.taste, "discovery": b.novelty, "quality": b.quality, "variety": b.variety}
    if b.cowatch is not None:
        components["cowatch"] = b.cowatch
    return {
        "item_id": int(pick.item_id),
        "rank": pick.rank,
        "score": b.final,
        "match_pct": pick.match_percent,
        "components": components,
        "genre_analysis": {"matching": list(pick.matching_genres), "new": list(pick.new_genres)},
        "evidence": [{"item_id": int(e.item_id), "title": e.title, "similarity": e.similarity} for e in pick.evidence],
        "explanation": explanation[0] if explanation else None,
        "explanation_source": explanation[1] if explanation else None,
    }


_INSERT_RUN = text(
    "INSERT INTO recommendation_run"
    " (user_id, media_type, trigger, status, model, params, candidate_count, error, started_at, finished_at)"
    " VALUES (:user_id, :media_type, :trigger, :status, :model, CAST(:params AS jsonb), :candidates, :error,"
    "  :started_at, now())"
    " RETURNING id"
)
# all picks of a run in one statement (one round trip instead of one per pick)
_INSERT_PICKS = text(
    "INSERT INTO recommendation (run_id, user_id, media_type, item_id, rank, score, match_pct, components,"
    " genre_analysis, evidence, explanation, explanation_source)"
    " SELECT :run_id, :user_id, :media_type, p.item_id, p.rank, p.score, p.match_pct, p.components,"
    " p.genre_analysis, p.evidence, p.explanation, p.explanation_source"
    " FROM jsonb_to_recordset(CAST(:picks AS jsonb)) AS p(item_id int, rank int, score float8, match_pct int,"
    " components jsonb, genre_analysis jsonb, evidence jsonb, explanation text, explanation_source text)"
)
_PRUNE_RUNS = text(
    "DELETE FROM recommendation_run WHERE user_id = :user_id AND media_type = :media_type AND id NOT IN ("
    " SELECT id FROM recommendation_run WHERE user_id = :user_id AND media_type = :media_type"
    " ORDER BY id DESC LIMIT :keep)"
)
_PREVIOUS_EXPLANATIONS = text(
    "SELECT r.item_id, r.evidence, r.explanation, r.explanation_source FROM recommendation r"
    " WHERE r.run_id = (SELECT id FROM recommendation_run WHERE user_id = :user_id AND media_type = :media_type"
    "   AND status = 'done' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1)"
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def _previous_explanations(
    conn: AsyncConnection, user_id: int, media_type: str
) -> dict[tuple[int, tuple[int, ...]], tuple[str, str]]:
    """(item, evidence ids) -> (text, source) from the user's current list, to reuse unchanged texts."""
    rows = await conn.execute(_PREVIOUS_EXPLANATIONS, {"user_id": user_id, "media_type": media_type})
    out: dict[tuple[int, tuple[int, ...]], tuple[str, str]] = {}
    for item_id, evidence, explanation, source in rows:
        if explanation:
            key = (int(item_id), tuple(int(e["item_id"]) for e in evidence or ()))
            out[key] = (explanation, source or "template")
    return out


async def _explain(
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
    """Write a run and its picks (in the caller's transaction); older runs beyond ``KEEP_RUNS`` go."""
    run_id = int(
        (
            await conn.execute(
                _INSERT_RUN,
                {
                    "user_id": user_id,
                    "media_type": media_type,
                    "trigger": trigger,
                    "status": "failed" if error else "done",
                    "model": model,
                    "params": _json(dict(params)),
                    "candidates": candidates,
                    "error": error,
                    "started_at": started_at,
                },
            )
        ).scalar_one()
    )
    if picks:
        rows = [_pick_row(p, e) for p, e in zip(picks, explanations, strict=True)]
        await conn.execute(
            _INSERT_PICKS, {"run_id": run_id, "user_id": user_id, "media_type": media_type, "picks": _json(rows)}
        )
    if not error:
        await conn.execute(_PRUNE_RUNS, {"user_id": user_id, "media_type": media_type, "keep": KEEP_RUNS})
    return run_id


async def _write_user(
    conn: AsyncConnection,
    *,
    snapshot: Snapshot,
    config: RecommendationConfig,
    user_id: int,
    media_type: MediaType,
    history: Sequence[WatchEvent],
    picks: Sequence[Pick],
    generator: TextGenerator,
    trigger: str,
    started_at: datetime,
    update_taste: bool,
    reuse_texts: bool,
    timings: dict[str, float],
) -> tuple[int, int]:
    """Texts, the stored run and the taste profile for one user's computed picks: (run id, candidates)."""
    # Picks are derived data, recomputed on the next refresh: no need to wait for the WAL flush.
    await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
    clock = time.perf_counter()
    reuse = reuse_texts and text_source(generator) == "llm"
    previous = await _previous_explanations(conn, user_id, media_type) if reuse else {}
    explanations = await _explain(generator, snapshot, picks, previous)
    timings["explain"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model = snapshot.model
    candidates = int(model.size - excluded_items(model, history).sum()) if model is not None else 0
    run_id = await store_run(
        conn,
        user_id=user_id,
        media_type=media_type,
        trigger=trigger,
        model=snapshot.model_name,
        params=config.as_params(),
        candidates=candidates,
        picks=picks,
        explanations=explanations,
        started_at=started_at,
    )
    if update_taste:
        facts = taste_facts(snapshot, history, config.recent_limit)
        await update_taste_profile(conn, user_id, media_type, facts, generator)
    timings["store"] = time.perf_counter() - clock
    return run_id, candidates


async def refresh_user(
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
        snapshot = snapshot or await catalog_cache(services).snapshot(
            services, model_name(services), media_type, conn=conn
        )
        timings["snapshot"] = time.perf_counter() - clock

        clock = time.perf_counter()
        if history is None:
            history = await user_history(conn, user_id, media_type)
        timings["history"] = time.perf_counter() - clock

        clock = time.perf_counter()
        model = snapshot.model
        picks = (
            recommend(
                model,
                history,
                weights=config.weights,
                count=config.count,
                recent_limit=config.recent_limit,
                media_type=RECOMMENDER_TYPE[media_type],
                exclude_ids=started_series(history) if media_type == "series" else (),
            )
            if model is not None
            else []
        )
        timings["recommend"] = time.perf_counter() - clock
        run_id, candidates = await _write_user(
            conn,
            snapshot=snapshot,
            config=config,
            user_id=user_id,
            media_type=media_type,
            history=history,
            picks=picks,
            generator=generator or get_text_generator(services),
            trigger=trigger,
            started_at=started_at,
            update_taste=update_taste,
            reuse_texts=reuse_texts,
            timings=timings,
        )
    return RefreshResult(user_id, media_type, run_id, len(picks), candidates, timings)


# --- taste profiles --------------------------------------------------------------------------------


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
    facts_json = json.loads(_json(asdict(facts)))
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
        {"u": user_id, "m": media_type, "t": body, "s": source, "f": _json(facts_json)},
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


async def regenerate_explanations(services: Services, user_id: int, media_type: MediaType) -> int:
    """Recompute the user's list with every "why we picked this" text written afresh; returns the picks."""
    result = await refresh_user(services, user_id, media_type, trigger="manual", reuse_texts=False)
    return result.picks


# --- all users -------------------------------------------------------------------------------------


async def enabled_users(services: Services, media_type: MediaType) -> list[int]:
    column = "movies_enabled" if media_type == "movies" else "series_enabled"
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT id FROM app_user WHERE gone_at IS NULL AND NOT is_disabled AND {column} ORDER BY id")
        )
        return [int(r[0]) for r in rows]


BATCH_CHUNK = 32  # users whose picks are computed in one worker-thread hop of the batch job


async def refresh_all(
    services: Services,
    media_type: MediaType,
    progress: Progress,
    *,
    trigger: str = "job",
    user_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Recompute every enabled user's picks from one fresh snapshot (histories re-read once).

    Picks are computed in batches (``recommend_many``) in a worker thread; each user's list is then
    stored in its own transaction, so one user's failure is recorded on their run and the rest go on.
    """
    started = time.perf_counter()
    snapshot = await snapshot_for(services, media_type, fresh_histories=True)
    items = snapshot.model.size if snapshot.model is not None else 0
    config = await load_config(services, media_type)
    generator = get_text_generator(services)
    users = await enabled_users(services, media_type)
    if user_ids is not None:
        wanted = set(user_ids)
        users = [u for u in users if u in wanted]
    progress.log(
        f"{media_type}: {items} items, {len(users)} users, model {snapshot.model_name}"
        f" (snapshot {time.perf_counter() - started:.2f}s)"
    )
    await progress.update(0, len(users), f"recommending {media_type}")
    histories = {str(u): list(snapshot.histories.get(str(u), [])) for u in users}
    exclude = {u: started_series(h) for u, h in histories.items()} if media_type == "series" else None
    batches = (
        recommend_many(
            snapshot.model,
            histories,
            weights=config.weights,
            count=config.count,
            recent_limit=config.recent_limit,
            media_type=RECOMMENDER_TYPE[media_type],
            exclude_ids=exclude,
        )
        if snapshot.model is not None
        else iter([(u, []) for u in sorted(histories)])
    )
    picks = failed = done = 0
    while chunk := await asyncio.to_thread(lambda: list(itertools.islice(batches, BATCH_CHUNK))):
        for key, user_picks in chunk:
            user_id = int(key)
            try:
                async with services.engine.begin() as conn:
                    await _write_user(
                        conn,
                        snapshot=snapshot,
                        config=config,
                        user_id=user_id,
                        media_type=media_type,
                        history=histories[key],
                        picks=user_picks,
                        generator=generator,
                        trigger=trigger,
                        started_at=datetime.now(UTC),
                        update_taste=True,
                        reuse_texts=True,
                        timings={},
                    )
            except Exception as exc:  # one user's failure must not stop everyone else's list
                failed += 1
                log.exception("recommendations for user %s failed", user_id)
                progress.log(f"user {user_id}: failed: {exc}")
                async with services.engine.begin() as conn:
                    await store_run(
                        conn,
                        user_id=user_id,
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
            else:
                picks += len(user_picks)
            done += 1
            await progress.update(done, len(users), f"recommended {done}/{len(users)} users")
    seconds = time.perf_counter() - started
    progress.log(f"{media_type}: {len(users)} users, {picks} picks, {failed} failed in {seconds:.1f}s")
    return {
        "media_type": media_type,
        "users": len(users),
        "picks": picks,
        "failed": failed,
        "items": items,
        "seconds": round(seconds, 3),
    }


async def clear_recommendations(services: Services, media_type: MediaType) -> int:
    """Delete every run (and pick) of ``media_type``; returns the runs removed."""
    async with services.engine.begin() as conn:
        result = await conn.execute(text("DELETE FROM recommendation_run WHERE media_type = :m"), {"m": media_type})
    return int(getattr(result, "rowcount", 0) or 0)


# --- similar items ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimilarItem:
    item_id: int
    title: str
    year: int | None
    similarity: float


async def similar_items(
    services: Services, item_id: int, *, limit: int = 12, model: str | None = None
) -> list[SimilarItem]:
    """The items (same kind, live, in enabled libraries) nearest to ``item_id`` by cosine, via the
    model's HNSW index. Copies of the same title (shared provider ids) are left out. Empty when the
    item has no vector for the model."""
    model = model or model_name(services)
    async with services.engine.begin() as conn:
        source = (
            await conn.execute(
                text(
                    "SELECT e.dim, i.kind, i.provider_ids FROM item_embedding e JOIN item i ON i.id = e.item_id"
                    " WHERE e.item_id = :i AND e.model = :m AND e.embedding IS NOT NULL"
                ),
                {"i": item_id, "m": model},
            )
        ).first()
        if source is None:
            return []
        dim = int(source.dim)
        own_ids = {(k.lower(), str(v).lower()) for k, v in (source.provider_ids or {}).items() if v}
        await conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(max(40, 4 * limit))})
        # model and dimension are literals so the planner can match the model's partial index
        vec = f"e.embedding::vector({dim})"
        query = (
            f"(SELECT embedding::vector({dim}) FROM item_embedding WHERE item_id = :i AND model = {sql_literal(model)})"
        )
        rows = await conn.execute(
            text(
                f"SELECT i.id, i.name, i.year, i.provider_ids, 1 - ({vec} <=> {query}) AS similarity"
                f" FROM item_embedding e JOIN item i ON i.id = e.item_id LEFT JOIN library l ON l.id = i.library_id"
                f" WHERE e.model = {sql_literal(model)} AND e.dim = {dim} AND e.item_id <> :i"
                f"   AND {ELIGIBLE_ITEM}"
                f" ORDER BY {vec} <=> {query} LIMIT :n"
            ),
            {"i": item_id, "kind": source.kind, "n": 2 * limit + 5},
        )
        out: list[SimilarItem] = []
        for row in rows:
            ids = {(k.lower(), str(v).lower()) for k, v in (row.provider_ids or {}).items() if v}
            if ids & own_ids:
                continue
            out.append(SimilarItem(int(row.id), row.name, row.year, round(float(row.similarity), 4)))
            if len(out) == limit:
                break
        return out
