"""What the pages and the API read, straight from the tables, as plain dicts (JSON-ready).

Every per-user function takes the user's id and returns only that user's rows; ``channel_visible``
treats a channel that is neither owned by nor shared with the user as absent (NotFound).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import (
    AppUser,
    Channel,
    ChannelShare,
    Item,
    JobDefinition,
    JobRun,
    Library,
    MediaServer,
    Recommendation,
    RecommendationRun,
    TasteProfile,
    TopPick,
    WebhookEvent,
)
from sidecar.errors import NotFound
from sidecar.picks_store import similar
from sidecar.services import Services
from sidecar.web.schemas import MediaType

KIND_OF: dict[str, str] = {"movies": "Movie", "series": "Series"}
MEDIA_TYPE_OF: dict[str, MediaType] = {"Movie": "movies", "Series": "series"}
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("taste", "Taste match"),
    ("discovery", "Discovery"),
    ("quality", "Quality"),
    ("variety", "Variety"),
    ("cowatch", "Watched by similar viewers"),
)


async def _sql(session: AsyncSession, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    connection = await session.connection()
    return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_summary(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "year": item.year,
        "end_year": item.end_year,
        "genres": list(item.genres),
        "community_rating": item.community_rating,
        "official_rating": item.official_rating,
        "overview": item.overview,
        "tagline": item.tagline,
        "runtime_minutes": round(item.runtime_ticks / 600_000_000) if item.runtime_ticks else None,
        "has_poster": "Primary" in item.image_tags,
        "poster_url": f"/images/items/{item.id}",
    }


def item_detail(item: Item) -> dict[str, Any]:
    people: list[dict[str, Any]] = list(item.people)
    return {
        **item_summary(item),
        "original_title": item.original_title,
        "studios": list(item.studios),
        "tags": list(item.tags),
        "directors": [p.get("name") for p in people if p.get("type") == "Director"],
        "cast": [{"name": p.get("name"), "role": p.get("role")} for p in people if p.get("type") == "Actor"][:12],
        "provider_ids": dict(item.provider_ids),
        "status": item.status,
        "gone": item.gone_at is not None,
    }


# --- picks -----------------------------------------------------------------------------------------


async def latest_run(session: AsyncSession, user_id: int, media_type: str) -> RecommendationRun | None:
    return (
        await session.exec(
            select(RecommendationRun)
            .where(
                RecommendationRun.user_id == user_id,
                RecommendationRun.media_type == media_type,
                RecommendationRun.status == "done",
            )
            .order_by(col(RecommendationRun.finished_at).desc().nulls_last(), col(RecommendationRun.id).desc())
            .limit(1)
        )
    ).first()


def _components(rec: Recommendation) -> list[dict[str, Any]]:
    parts = []
    for key, label in COMPONENTS:
        if key in rec.components:
            value = float(rec.components[key])
            parts.append({"key": key, "label": label, "value": value, "pct": round(max(0.0, min(1.0, value)) * 100)})
    return parts


def pick_view(rec: Recommendation, item: Item) -> dict[str, Any]:
    return {
        "rank": rec.rank,
        "score": rec.score,
        "match_pct": rec.match_pct,
        "components": _components(rec),
        "genre_analysis": {
            "matching": list(rec.genre_analysis.get("matching", [])),
            "new": list(rec.genre_analysis.get("new", [])),
        },
        "evidence": [
            {
                "item_id": e.get("item_id"),
                "title": e.get("title"),
                "similarity": e.get("similarity"),
            }
            for e in rec.evidence
        ],
        "explanation": rec.explanation,
        "item": item_summary(item),
    }


async def picks(session: AsyncSession, user_id: int, media_type: str) -> dict[str, Any]:
    run = await latest_run(session, user_id, media_type)
    if run is None:
        return {"media_type": media_type, "run": None, "picks": []}
    rows = (
        await session.exec(
            select(Recommendation, Item)
            .join(Item, col(Item.id) == Recommendation.item_id)
            .where(Recommendation.run_id == run.id, Recommendation.user_id == user_id)
            .order_by(col(Recommendation.rank))
        )
    ).all()
    return {
        "media_type": media_type,
        "run": {"id": run.id, "finished_at": iso(run.finished_at), "candidate_count": run.candidate_count},
        "picks": [pick_view(rec, item) for rec, item in rows],
    }


async def pick_for_item(session: AsyncSession, user_id: int, item: Item) -> dict[str, Any] | None:
    media_type = MEDIA_TYPE_OF.get(item.kind)
    if media_type is None:
        return None
    run = await latest_run(session, user_id, media_type)
    if run is None:
        return None
    rec = (
        await session.exec(
            select(Recommendation).where(
                Recommendation.run_id == run.id,
                Recommendation.user_id == user_id,
                Recommendation.item_id == item.id,
            )
        )
    ).first()
    return pick_view(rec, item) if rec is not None else None


async def browse(
    session: AsyncSession, media_type: str, *, q: str | None, genre: str | None, page: int, per_page: int
) -> dict[str, Any]:
    """One page of the catalogue (movies or series), by title, optionally searched and genre-filtered."""
    where: list[ColumnElement[bool]] = [col(Item.kind) == KIND_OF[media_type], col(Item.gone_at).is_(None)]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(col(Item.name).ilike(pattern, escape="\\"))
    if genre:
        where.append(col(Item.genres).contains([genre]))
    total = (await session.exec(select(func.count()).select_from(Item).where(*where))).one()
    rows = (
        await session.exec(
            select(Item)
            .where(*where)
            .order_by(func.coalesce(Item.sort_name, Item.name), col(Item.year), col(Item.id))
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    return {
        "media_type": media_type,
        "total": int(total),
        "page": page,
        "pages": max(1, -(-int(total) // per_page)),
        "items": [item_summary(i) for i in rows],
    }


async def get_item(session: AsyncSession, item_id: int) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise NotFound(f"There is no title with id {item_id}.")
    return item


async def similar_items(services: Services, item: Item, limit: int) -> list[dict[str, Any]]:
    """Nearest titles of the same kind by embedding (the recommender's HNSW query), as summaries."""
    assert item.id is not None
    nearest = await similar.similar_items(services, item.id, limit=limit)
    if not nearest:
        return []
    async with services.sessions() as session:
        items = await _items_by_id(session, [n.item_id for n in nearest])
    return [{**item_summary(items[n.item_id]), "similarity": n.similarity} for n in nearest if n.item_id in items]


# --- taste, top picks ------------------------------------------------------------------------------


async def taste_profiles(session: AsyncSession, user_id: int) -> dict[str, dict[str, Any]]:
    rows = (await session.exec(select(TasteProfile).where(TasteProfile.user_id == user_id))).all()
    return {
        row.media_type: {
            "media_type": row.media_type,
            "text": row.text,
            "source": row.source,
            "facts": row.facts,
            "updated_at": iso(row.updated_at),
        }
        for row in rows
    }


async def top_picks(session: AsyncSession, media_type: str) -> list[dict[str, Any]]:
    rows = (
        await session.exec(
            select(TopPick, Item)
            .join(Item, col(Item.id) == TopPick.item_id)
            .where(TopPick.media_type == media_type)
            .order_by(col(TopPick.rank))
        )
    ).all()
    return [
        {
            "rank": tp.rank,
            "score": tp.score,
            "unique_viewers": tp.unique_viewers,
            "play_count": tp.play_count,
            "completion": tp.completion,
            "computed_at": iso(tp.computed_at),
            "item": item_summary(item),
        }
        for tp, item in rows
    ]


# --- users -----------------------------------------------------------------------------------------


def user_view(user: AppUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "is_admin": user.is_admin,
        "is_disabled": user.is_disabled,
        "enable_all_folders": user.enable_all_folders,
        "movies_enabled": user.movies_enabled,
        "series_enabled": user.series_enabled,
        "movies_library_name": user.movies_library_name,
        "series_library_name": user.series_library_name,
        "show_explanations": user.show_explanations,
    }


async def get_user(session: AsyncSession, user_id: int) -> AppUser:
    user = await session.get(AppUser, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user


async def live_users(session: AsyncSession) -> list[AppUser]:
    return list(
        (await session.exec(select(AppUser).where(col(AppUser.gone_at).is_(None)).order_by(AppUser.name))).all()
    )


# --- channels --------------------------------------------------------------------------------------


async def _items_by_id(session: AsyncSession, ids: list[int]) -> dict[int, Item]:
    if not ids:
        return {}
    rows = (await session.exec(select(Item).where(col(Item.id).in_(ids)))).all()
    return {i.id: i for i in rows if i.id is not None}


async def channel_view(session: AsyncSession, channel: Channel, user_id: int, *, full: bool) -> dict[str, Any]:
    owner = await session.get(AppUser, channel.owner_id)
    shares = (
        await session.exec(
            select(AppUser)
            .join(ChannelShare, col(ChannelShare.user_id) == AppUser.id)
            .where(ChannelShare.channel_id == channel.id)
            .order_by(AppUser.name)
        )
    ).all()
    view: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "media_type": channel.media_type,
        "owner": {"id": channel.owner_id, "name": owner.name if owner else "?"},
        "is_owner": channel.owner_id == user_id,
        "genre_filters": list(channel.genre_filters),
        "text_preferences": channel.text_preferences,
        "example_item_ids": list(channel.example_item_ids),
        "shared_with": [{"id": u.id, "name": u.name} for u in shares],
        "item_count": len(channel.item_ids),
        "updated_at": iso(channel.updated_at),
    }
    if full:
        items = await _items_by_id(session, [*channel.example_item_ids, *channel.item_ids])
        view["examples"] = [item_summary(items[i]) for i in channel.example_item_ids if i in items]
        view["items"] = [item_summary(items[i]) for i in channel.item_ids if i in items]
    return view


async def channels_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    shared = select(ChannelShare.channel_id).where(ChannelShare.user_id == user_id)
    rows = (
        await session.exec(
            select(Channel)
            .where(or_(col(Channel.owner_id) == user_id, col(Channel.id).in_(shared)))
            .order_by(col(Channel.name), col(Channel.id))
        )
    ).all()
    return [await channel_view(session, c, user_id, full=False) for c in rows]


async def channel_visible(session: AsyncSession, channel_id: int, user_id: int) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is not None and channel.owner_id != user_id:
        share = await session.get(ChannelShare, (channel_id, user_id))
        if share is None:
            channel = None
    if channel is None:
        raise NotFound(f"There is no channel {channel_id} for you.")
    return channel


async def genres(session: AsyncSession, media_type: str) -> list[str]:
    rows = await _sql(
        session,
        "SELECT DISTINCT g FROM item, jsonb_array_elements_text(item.genres) AS g "
        "WHERE item.kind = :kind AND item.gone_at IS NULL ORDER BY g",
        kind=KIND_OF[media_type],
    )
    return [str(r[0]) for r in rows]


async def find_titles(session: AsyncSession, media_type: str, titles: list[str]) -> tuple[list[int], list[str]]:
    """Resolve "Title" or "Title (Year)" lines to item ids; returns (ids, the lines not found)."""
    ids: list[int] = []
    missing: list[str] = []
    for line in titles:
        name, year = line.strip(), None
        if name.endswith(")") and "(" in name:
            head, _, tail = name.rpartition("(")
            if tail[:-1].isdigit():
                name, year = head.strip(), int(tail[:-1])
        if not name:
            continue
        query = select(Item).where(
            func.lower(Item.name) == name.lower(),
            Item.kind == KIND_OF[media_type],
            col(Item.gone_at).is_(None),
        )
        if year is not None:
            query = query.where(Item.year == year)
        found = (await session.exec(query.order_by(col(Item.year).desc().nulls_last()).limit(1))).first()
        if found is None or found.id is None:
            missing.append(line.strip())
        elif found.id not in ids:
            ids.append(found.id)
    return ids, missing


# --- admin -----------------------------------------------------------------------------------------


async def media_server_info(session: AsyncSession) -> dict[str, Any] | None:
    row = (await session.exec(select(MediaServer).order_by(col(MediaServer.id)).limit(1))).first()
    if row is None:
        return None
    return {
        "kind": row.kind,
        "url": row.url,
        "name": row.name,
        "version": row.version,
        "last_seen_at": iso(row.last_seen_at),
    }


def library_view(lib: Library) -> dict[str, Any]:
    return {
        "id": lib.id,
        "name": lib.name,
        "collection_type": lib.collection_type,
        "enabled": lib.enabled,
        "synced_at": iso(lib.synced_at),
    }


async def source_libraries(session: AsyncSession) -> list[Library]:
    return list(
        (
            await session.exec(
                select(Library)
                .where(col(Library.gone_at).is_(None), col(Library.is_marquee_output).is_(False))
                .order_by(Library.name)
            )
        ).all()
    )


def run_view(run: JobRun) -> dict[str, Any]:
    total = run.progress_total
    pct = round(100 * run.progress_current / total) if total else (100 if run.status == "done" else None)
    return {
        "id": run.id,
        "job_name": run.job_name,
        "status": run.status,
        "progress_current": run.progress_current,
        "progress_total": total,
        "progress_pct": pct,
        "message": run.message,
        "error": run.error,
        "log": list(run.log),
        "result": run.result,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_s": round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None,
    }


async def job_runs(session: AsyncSession, *, name: str | None, active: bool, limit: int) -> list[dict[str, Any]]:
    query = select(JobRun)
    if name is not None:
        query = query.where(JobRun.job_name == name)
    if active:
        query = query.where(col(JobRun.status).in_(["running", "retrying"]))
    rows = (await session.exec(query.order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc()).limit(limit))).all()
    return [run_view(r) for r in rows]


async def get_run(session: AsyncSession, run_id: int) -> dict[str, Any]:
    run = await session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"There is no job run {run_id}.")
    return run_view(run)


async def job_definitions(session: AsyncSession) -> list[dict[str, Any]]:
    definitions = (await session.exec(select(JobDefinition).order_by(JobDefinition.name))).all()
    latest_ids = [
        row[0]
        for row in await _sql(
            session, "SELECT DISTINCT ON (job_name) id FROM job_run ORDER BY job_name, started_at DESC, id DESC"
        )
    ]
    latest = (await session.exec(select(JobRun).where(col(JobRun.id).in_(latest_ids)))).all() if latest_ids else []
    last: dict[str, JobRun] = {r.job_name: r for r in latest}
    return [
        {
            "name": d.name,
            "description": d.description,
            "schedule": d.schedule,
            "enabled": d.enabled,
            "last_enqueued_at": iso(d.last_enqueued_at),
            "last_run": run_view(last[d.name]) if d.name in last else None,
        }
        for d in definitions
    ]


async def get_job(session: AsyncSession, name: str) -> JobDefinition:
    definition = await session.get(JobDefinition, name) if "\x00" not in name else None
    if definition is None:
        raise NotFound(f"There is no job named {name!r}.")
    return definition


def webhook_view(event: WebhookEvent) -> dict[str, Any]:
    """The normalised facts of a webhook request; never its headers or body (they may hold the secret)."""
    return {
        "id": event.id,
        "source": event.source,
        "event_type": event.event_type,
        "raw_type": event.raw_type,
        "user_provider_id": event.user_provider_id,
        "item_provider_id": event.item_provider_id,
        "status": event.status,
        "error": event.error,
        "attempts": event.attempts,
        "received_at": iso(event.received_at),
        "processed_at": iso(event.processed_at),
    }


async def webhook_events(session: AsyncSession, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(WebhookEvent)
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    rows = (
        await session.exec(
            query.order_by(col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc()).limit(limit)
        )
    ).all()
    user_ids = {e.user_provider_id for e in rows if e.user_provider_id}
    item_ids = {e.item_provider_id for e in rows if e.item_provider_id}
    users = {
        u.provider_id: u.name
        for u in (await session.exec(select(AppUser).where(col(AppUser.provider_id).in_(user_ids)))).all()
    }
    items = {
        i.provider_id: i.name
        for i in (await session.exec(select(Item).where(col(Item.provider_id).in_(item_ids)))).all()
    }
    return [
        {
            **webhook_view(e),
            "user_name": users.get(e.user_provider_id or ""),
            "item_name": items.get(e.item_provider_id or ""),
        }
        for e in rows
    ]


async def webhook_status_counts(session: AsyncSession) -> dict[str, int]:
    rows = (await session.exec(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status))).all()
    counts: dict[str, int] = defaultdict(int)
    for status, count in rows:
        counts[status] = int(count)
    return dict(counts)
