"""The catalogue's titles: summaries and details, browsing, genres, title lookup and similar titles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item
from sidecar.errors import NotFound
from sidecar.media_types import spec
from sidecar.picks_store import similar
from sidecar.services import Services
from sidecar.web.read_models.shared import sql_rows


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


async def items_by_id(session: AsyncSession, ids: list[int]) -> dict[int, Item]:
    if not ids:
        return {}
    rows = (await session.exec(select(Item).where(col(Item.id).in_(ids)))).all()
    return {i.id: i for i in rows if i.id is not None}


CatalogueSort = Literal["name", "year", "rating", "added"]
SortOrder = Literal["asc", "desc"]

_SORT_COLUMNS: dict[str, Any] = {
    "year": Item.year,
    "rating": Item.community_rating,
    "added": Item.date_added,
}


@dataclass(frozen=True)
class CatalogueFilter:
    """What narrows a catalogue listing: title search, one genre, a year range (inclusive)."""

    q: str | None = None
    genre: str | None = None
    year_from: int | None = None
    year_to: int | None = None


def _catalogue_where(media_type: str, f: CatalogueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [col(Item.kind) == spec(media_type).kind, col(Item.gone_at).is_(None)]
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(col(Item.name).ilike(pattern, escape="\\"))
    if f.genre:
        where.append(col(Item.genres).contains([f.genre]))
    if f.year_from is not None:
        where.append(col(Item.year) >= f.year_from)
    if f.year_to is not None:
        where.append(col(Item.year) <= f.year_to)
    return where


async def catalogue_page(
    session: AsyncSession,
    media_type: str,
    f: CatalogueFilter,
    *,
    limit: int,
    offset: int,
    sort: CatalogueSort = "name",
    order: SortOrder = "asc",
) -> tuple[list[dict[str, Any]], int]:
    """One page of live movies or series matching ``f`` and how many match in all; ties by title, then id."""
    where = _catalogue_where(media_type, f)
    title = func.coalesce(Item.sort_name, Item.name)
    ordering: list[Any] = []
    if sort in _SORT_COLUMNS:
        column = col(_SORT_COLUMNS[sort])
        ordering.append(column.desc().nulls_last() if order == "desc" else column.asc().nulls_last())
        ordering.append(title)
    else:
        ordering += [title.desc() if order == "desc" else title, col(Item.year)]
    total = (await session.exec(select(func.count()).select_from(Item).where(*where))).one()
    rows = (
        await session.exec(select(Item).where(*where).order_by(*ordering, col(Item.id)).offset(offset).limit(limit))
    ).all()
    return [item_summary(i) for i in rows], int(total)


async def browse(
    session: AsyncSession, media_type: str, *, q: str | None, genre: str | None, page: int, per_page: int
) -> dict[str, Any]:
    """One page of the catalogue (movies or series), by title, optionally searched and genre-filtered."""
    items, total = await catalogue_page(
        session, media_type, CatalogueFilter(q=q, genre=genre), limit=per_page, offset=(page - 1) * per_page
    )
    return {
        "media_type": media_type,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // per_page)),
        "items": items,
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
        items = await items_by_id(session, [n.item_id for n in nearest])
    return [{**item_summary(items[n.item_id]), "similarity": n.similarity} for n in nearest if n.item_id in items]


async def genres(session: AsyncSession, media_type: str) -> list[str]:
    rows = await sql_rows(
        session,
        "SELECT DISTINCT g FROM item, jsonb_array_elements_text(item.genres) AS g "
        "WHERE item.kind = :kind AND item.gone_at IS NULL ORDER BY g",
        kind=spec(media_type).kind,
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
            Item.kind == spec(media_type).kind,
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
