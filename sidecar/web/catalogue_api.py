"""The seed's catalogue paths, for movies and (Marquee's addition) series: ``/api/movies`` (paged, filtered
by title, genre and years, sorted), ``/api/movies/{id}``, ``/api/movies/{id}/similar`` (the embedding's
nearest titles), ``/api/movies/genres``, and the same under ``/api/series``.

The same read models as the browse and title pages; a title's detail carries the caller's own pick of it.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar.db.models import Item
from sidecar.errors import InvalidInput
from sidecar.media_types import MediaType, spec
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of, user_of
from sidecar.web.json_io import query_of
from sidecar.web.read_models import items as item_reads
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.schemas import DbId
from sidecar.web.seed_api_models import (
    CatalogueList,
    CatalogueQuery,
    GenreList,
    SimilarList,
    SimilarQuery,
    TitleDetail,
    answer,
)
from sidecar.web.user_scope import parse_id

TITLE_ID = "title_id"


def _media_type(request: Request) -> MediaType:
    """Which catalogue the path is under: ``/api/movies…`` or ``/api/series…``."""
    return MediaType.SERIES if request.url.path.startswith("/api/series") else MediaType.MOVIES


async def catalogue_title(request: Request, media_type: MediaType) -> Item:
    """The movie (or series) the path names; any other kind of title, or none, is 404."""
    title_id = parse_id(str(request.path_params[TITLE_ID]), TITLE_ID)
    async with services_of(request).sessions() as session:
        item = await session.get(Item, title_id)
    if item is None or item.kind != spec(media_type).kind:
        noun = "movie" if media_type == MediaType.MOVIES else "series"
        raise HTTPException(404, f"There is no {noun} with id {title_id}.")
    return item


async def title_list(request: Request) -> Response:
    media_type = _media_type(request)
    q = query_of(request, CatalogueQuery)
    async with services_of(request).sessions() as session:
        if q.genre is not None and q.genre not in await item_reads.genres(session, media_type):
            raise InvalidInput(
                f"genre: no {media_type} have the genre {q.genre!r}; GET /api/{media_type}/genres lists them"
            )
        found = item_reads.CatalogueFilter(q=q.q, genre=q.genre, year_from=q.year_from, year_to=q.year_to)
        rows, total = await item_reads.catalogue_page(
            session, media_type, found, limit=q.limit, offset=q.offset, sort=q.sort, order=q.order
        )
    return answer(
        CatalogueList, {"items": rows, "total": total, "limit": q.limit, "offset": q.offset, "media_type": media_type}
    )


async def title_detail(request: Request) -> Response:
    media_type = _media_type(request)
    user = await user_of(request)
    item = await catalogue_title(request, media_type)
    async with services_of(request).sessions() as session:
        pick = await pick_reads.pick_for_item(session, user.id, item)
    return answer(TitleDetail, {**item_reads.item_detail(item), "pick": pick})


async def similar_titles(request: Request) -> Response:
    media_type = _media_type(request)
    q = query_of(request, SimilarQuery)
    item = await catalogue_title(request, media_type)
    assert item.id is not None
    similar = await item_reads.similar_items(services_of(request), item, q.limit)
    return answer(SimilarList, {"item_id": item.id, "items": similar})


async def genre_list(request: Request) -> Response:
    media_type = _media_type(request)
    async with services_of(request).sessions() as session:
        return answer(GenreList, {"media_type": media_type, "genres": await item_reads.genres(session, media_type)})


def _catalogue(base: str, noun: str, tag: str) -> list[Endpoint]:
    """The four endpoints of one catalogue; ``…/genres`` before ``…/{title_id}``, which it would match."""
    title = f"{base}/{{{TITLE_ID}}}"
    params = {TITLE_ID: DbId}
    return [
        Endpoint(
            "GET",
            base,
            title_list,
            f"List {noun} (paged; filter by title, genre, years; sorted)",
            tag,
            query=CatalogueQuery,
            response=CatalogueList,
        ),
        Endpoint("GET", f"{base}/genres", genre_list, f"Every genre of the {noun}", tag, response=GenreList),
        Endpoint(
            "GET",
            title,
            title_detail,
            f"One of the {noun}, with the caller's pick of it",
            tag,
            response=TitleDetail,
            params=params,
        ),
        Endpoint(
            "GET",
            f"{title}/similar",
            similar_titles,
            f"The {noun} nearest to it by embedding",
            tag,
            query=SimilarQuery,
            response=SimilarList,
            params=params,
        ),
    ]


ENDPOINTS: list[Endpoint] = [
    *_catalogue("/api/movies", "movies", "movies"),
    *_catalogue("/api/series", "series", "series"),
]
