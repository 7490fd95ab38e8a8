"""Query and response models of the seed's API paths (``/api/users/{id}/…``, ``/api/movies…``,
``/api/series…``, ``/api/recommendations/…``, ``/api/top-picks/…`` and the settings the seed groups
differently from ours). The read models return plain dicts; these models are their documented shape.

Ids are the integers Marquee's own API uses; timestamps are ISO 8601 strings (UTC) or null.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.media_types import MediaType
from sidecar.publish.options import StrmContent
from sidecar.web.api_models import UserView
from sidecar.web.json_io import ok
from sidecar.web.read_models.history import HistorySort
from sidecar.web.read_models.items import CatalogueSort, SortOrder
from sidecar.web.schemas import Input

T = TypeVar("T")

MAX_PAGE = 200
MAX_OFFSET = 10_000_000


# --- queries ---------------------------------------------------------------------------------------


class PageQuery(Input):
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description=f"Items per page, 1 to {MAX_PAGE}.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Items to skip.")


class MediaPageQuery(PageQuery):
    media_type: MediaType = Field(default=MediaType.MOVIES, description="movies or series.")


class WatchHistoryQuery(MediaPageQuery):
    sort: HistorySort = Field(default="recent", description="recent (last played first) or plays (most first).")


class MediaTypeOnly(Input):
    media_type: MediaType = Field(default=MediaType.MOVIES, description="movies or series.")


class CatalogueQuery(PageQuery):
    q: str | None = Field(default=None, max_length=200, description="Part of the title, any case.")
    genre: str | None = Field(default=None, max_length=100, description="One genre (GET …/genres lists them).")
    year_from: int | None = Field(default=None, ge=1800, le=3000, description="Released in or after this year.")
    year_to: int | None = Field(default=None, ge=1800, le=3000, description="Released in or before this year.")
    sort: CatalogueSort = Field(default="name", description="name, year, rating (community) or added.")
    order: SortOrder = Field(default="asc", description="asc or desc.")

    @field_validator("year_to")
    @classmethod
    def _not_before_year_from(cls, value: int | None, info: ValidationInfo) -> int | None:
        start = info.data.get("year_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"year_to ({value}) is before year_from ({start})")
        return value


class RunHistoryQuery(PageQuery):
    media_type: MediaType | None = Field(default=None, description="movies or series; both when left out.")


class SimilarQuery(Input):
    limit: int = Field(default=12, ge=1, le=100, description="How many similar titles, 1 to 100.")


# --- shared pieces ---------------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many match in all.")
    limit: int
    offset: int


class TitleSummary(BaseModel):
    id: int
    name: str
    kind: str
    year: int | None
    end_year: int | None
    genres: list[str]
    community_rating: float | None
    official_rating: str | None
    overview: str | None
    tagline: str | None
    runtime_minutes: int | None
    has_poster: bool
    poster_url: str


class CastMember(BaseModel):
    name: str | None
    role: str | None


class ScoreComponent(BaseModel):
    key: str
    label: str
    value: float
    pct: int


class GenreAnalysis(BaseModel):
    matching: list[str]
    new: list[str]


class Evidence(BaseModel):
    item_id: int | None
    title: str | None
    similarity: float | None


class Pick(BaseModel):
    """One recommended title and why: the score's parts, the genres it shares or adds, the watched titles
    it resembles most, and the explanation text."""

    rank: int
    score: float
    match_pct: int
    overall_pct: int
    components: list[ScoreComponent]
    genre_analysis: GenreAnalysis
    evidence: list[Evidence]
    explanation: str | None
    item: TitleSummary


# --- users -----------------------------------------------------------------------------------------


class UserPage(Page[UserView]):
    note: str | None = Field(description="Why the list may be stale (the media server could not be asked).")


class LibraryName(BaseModel):
    media_type: str
    custom: str | None
    name: str
    published_as: str | None
    status: str | None
    error: str | None
    published_at: str | None


class UserWithLibraries(UserView):
    libraries: list[LibraryName] = Field(description="The user's AI Picks library per media type.")


class UserStats(BaseModel):
    user_id: int
    movies_watched: int
    series_watched: int
    episodes_watched: int
    favourites: int
    hours: float
    picks_available: int


class WatchedTitle(BaseModel):
    item: TitleSummary
    play_count: int
    is_favorite: bool
    last_played_at: str | None
    episodes_watched: int | None = Field(default=None, description="Series only: episodes watched.")


class WatchHistory(Page[WatchedTitle]):
    user_id: int
    media_type: MediaType
    sort: HistorySort


class CountBar(BaseModel):
    label: str
    count: int
    pct: int


class WatchSummary(BaseModel):
    titles: int
    plays: int
    favourites: int
    hours: float


class UserWatchStats(BaseModel):
    user_id: int
    media_type: MediaType
    summary: WatchSummary
    genres: list[CountBar]
    timeline: list[CountBar]
    decades: list[CountBar]
    official_ratings: list[CountBar]
    community_ratings: list[CountBar]
    actors: list[CountBar]
    directors: list[CountBar]
    studios: list[CountBar]


class UserTasteProfile(BaseModel):
    user_id: int
    media_type: MediaType
    text: str | None = Field(description="The synopsis; null until the first one is written.")
    source: str | None = Field(description="llm or template.")
    facts: dict[str, Any] | None
    updated_at: str | None


# --- catalogue and Top Picks -----------------------------------------------------------------------


class TitleDetail(TitleSummary):
    original_title: str | None
    studios: list[str]
    tags: list[str]
    directors: list[str | None]
    cast: list[CastMember]
    provider_ids: dict[str, str]
    status: str | None
    gone: bool
    pick: Pick | None = Field(description="The caller's current pick of this title, if it is one.")


class CatalogueList(Page[TitleSummary]):
    media_type: MediaType


class SimilarItem(TitleSummary):
    similarity: float


class SimilarList(BaseModel):
    item_id: int
    items: list[SimilarItem]


class GenreList(BaseModel):
    media_type: MediaType
    genres: list[str]


class TopPickView(BaseModel):
    rank: int
    score: float
    unique_viewers: int
    play_count: int
    completion: float
    computed_at: str | None
    item: TitleSummary


class TopPickList(Page[TopPickView]):
    media_type: MediaType


# --- recommendations -------------------------------------------------------------------------------


class RunRef(BaseModel):
    id: int
    finished_at: str | None
    candidate_count: int


class Recommendations(Page[Pick]):
    user_id: int
    media_type: MediaType
    run: RunRef | None = Field(description="The run the picks come from; null before the first one.")


class Insights(Pick):
    user_id: int
    media_type: MediaType
    run: RunRef


class RecommendationRunView(BaseModel):
    id: int
    media_type: str
    trigger: str
    status: str
    model: str | None
    candidates: int
    picks: int
    error: str | None
    started_at: str | None
    finished_at: str | None
    seconds: float | None


class RecommendationHistory(Page[RecommendationRunView]):
    user_id: int
    media_type: MediaType | None


# --- settings --------------------------------------------------------------------------------------


class RecommendationSettingsByType(BaseModel):
    movies: rs.RecommendationSettings
    series: rs.RecommendationSettings


class TopPicksSettingsByType(BaseModel):
    movies: rs.TopPicksSettings
    series: rs.TopPicksSettings


class TopPicksPatch(Input):
    """Fields to change, per media type (either or both); each is merged over the current settings."""

    movies: dict[str, Any] | None = None
    series: dict[str, Any] | None = None


class OutputFormat(BaseModel):
    mode: rs.PublishModeSetting | None = Field(description="strm or symlink; null follows MARQUEE_PUBLISH_MODE.")
    effective_mode: rs.PublishModeSetting = Field(description="What publishing uses now.")
    strm_content: StrmContent = Field(description="What a .strm file holds: path or stream_url.")


class OutputFormatPatch(Input):
    mode: rs.PublishModeSetting | None = None
    strm_content: StrmContent | None = None


def answer(model: type[BaseModel], data: Any, status: int = 200) -> Response:
    """``data`` checked against its documented model (a drift between the two fails here, not in a client)."""
    return ok(model.model_validate(data).model_dump(mode="json"), status)
