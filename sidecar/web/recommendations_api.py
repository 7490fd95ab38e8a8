"""The seed's recommendation paths: ``/api/recommendations/{user_ref}`` (the picks of the latest run,
``?media_type=series`` for series), ``…/movie/{title_id}/insights`` and ``…/series/{title_id}/insights`` (why one
title was picked), ``…/history`` (the recommendation runs); and the server-wide ``/api/top-picks/movies``
and ``/api/top-picks/series``.

``{user_ref}`` is the caller's own id or ``me`` (administrators: anyone's); read through the same read models
as the picks, title and admin user pages.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar.media_types import MediaType
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of
from sidecar.web.catalogue_api import TITLE_ID, catalogue_title
from sidecar.web.json_io import query_of
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import top_picks as top_pick_reads
from sidecar.web.read_models.recommendation_runs import recommendation_run_count, recommendation_runs
from sidecar.web.read_models.shared import iso
from sidecar.web.schemas import DbId
from sidecar.web.seed_api_models import (
    Insights,
    MediaPageQuery,
    PageQuery,
    RecommendationHistory,
    Recommendations,
    RunHistoryQuery,
    TopPickList,
    answer,
)
from sidecar.web.user_scope import USER_REF, UserRef, target_user


def _page(rows: list[Any], q: PageQuery) -> dict[str, Any]:
    return {"items": rows[q.offset : q.offset + q.limit], "total": len(rows), "limit": q.limit, "offset": q.offset}


async def recommendations(request: Request) -> Response:
    user_id = await target_user(request)
    q = query_of(request, MediaPageQuery)
    async with services_of(request).sessions() as session:
        picks = await pick_reads.picks(session, user_id, q.media_type)
    body = {**_page(picks["picks"], q), "run": picks["run"]}
    return answer(Recommendations, {**body, "user_id": user_id, "media_type": q.media_type})


async def _insights(request: Request, media_type: MediaType) -> Response:
    user_id = await target_user(request)
    item = await catalogue_title(request, media_type)
    async with services_of(request).sessions() as session:
        run = await pick_reads.latest_run(session, user_id, media_type)
        pick = await pick_reads.pick_for_item(session, user_id, item)
    if run is None or pick is None:
        raise HTTPException(404, f"{item.name!r} is not among the current picks of user {user_id}.")
    run_ref = {"id": run.id, "finished_at": iso(run.finished_at), "candidate_count": run.candidate_count}
    return answer(Insights, {**pick, "user_id": user_id, "media_type": media_type, "run": run_ref})


async def movie_insights(request: Request) -> Response:
    return await _insights(request, MediaType.MOVIES)


async def series_insights(request: Request) -> Response:
    return await _insights(request, MediaType.SERIES)


async def run_history(request: Request) -> Response:
    """The user's recommendation runs, newest first (``?media_type=`` for one type)."""
    user_id = await target_user(request)
    q = query_of(request, RunHistoryQuery)
    async with services_of(request).sessions() as session:
        runs = await recommendation_runs(session, user_id, q.media_type, limit=q.limit, offset=q.offset)
        total = await recommendation_run_count(session, user_id, q.media_type)
    body = {"items": runs, "total": total, "limit": q.limit, "offset": q.offset}
    return answer(RecommendationHistory, {**body, "user_id": user_id, "media_type": q.media_type})


async def _top_picks(request: Request, media_type: MediaType) -> Response:
    q = query_of(request, PageQuery)
    async with services_of(request).sessions() as session:
        rows = await top_pick_reads.top_picks(session, media_type)
    return answer(TopPickList, {**_page(rows, q), "media_type": media_type})


async def top_movies(request: Request) -> Response:
    return await _top_picks(request, MediaType.MOVIES)


async def top_series(request: Request) -> Response:
    return await _top_picks(request, MediaType.SERIES)


RECS = f"/api/recommendations/{{{USER_REF}}}"
PARAMS = {USER_REF: UserRef}
INSIGHT_PARAMS = {USER_REF: UserRef, TITLE_ID: DbId}

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/top-picks/movies",
        top_movies,
        "The server's most watched movies of late",
        "top-picks",
        query=PageQuery,
        response=TopPickList,
    ),
    Endpoint(
        "GET",
        "/api/top-picks/series",
        top_series,
        "The server's most watched series of late",
        "top-picks",
        query=PageQuery,
        response=TopPickList,
    ),
    Endpoint(
        "GET",
        RECS,
        recommendations,
        "A user's picks from their latest run (paged)",
        "recommendations",
        query=MediaPageQuery,
        response=Recommendations,
        params=PARAMS,
    ),
    Endpoint(
        "GET",
        f"{RECS}/movie/{{{TITLE_ID}}}/insights",
        movie_insights,
        "Why a movie was picked for a user",
        "recommendations",
        response=Insights,
        params=INSIGHT_PARAMS,
    ),
    Endpoint(
        "GET",
        f"{RECS}/series/{{{TITLE_ID}}}/insights",
        series_insights,
        "Why a series was picked for a user",
        "recommendations",
        response=Insights,
        params=INSIGHT_PARAMS,
    ),
    Endpoint(
        "GET",
        f"{RECS}/history",
        run_history,
        "A user's recommendation runs, newest first (paged)",
        "recommendations",
        query=RunHistoryQuery,
        response=RecommendationHistory,
        params=PARAMS,
    ),
]
