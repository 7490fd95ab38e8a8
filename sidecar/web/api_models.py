"""Response models of the JSON API (the inputs are in ``sidecar.web.schemas``): what each endpoint answers,
for the OpenAPI document (``sidecar.web.api_spec``) and the schema checks of the tests.

They describe the dicts the read models build. Nested rows whose fields belong to a read model (a pick's
components, a run's progress) are typed as objects; ``Open`` models allow fields beyond those named, so
adding a field to a read model never breaks a client. Timestamps are ISO 8601 strings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.media_types import MediaType
from sidecar.runtime_settings import ExplanationSettings

Obj = dict[str, Any]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- users and auth --------------------------------------------------------------------------------


class UserRef(Open):
    id: int
    name: str


class LoginUser(UserRef):
    is_admin: bool


class LoginOut(Open):
    user: LoginUser
    csrf_token: str


class LoggedOut(Open):
    logged_out: bool


class UserView(Open):
    id: int
    name: str
    is_admin: bool
    is_disabled: bool
    enable_all_folders: bool | None
    movies_enabled: bool
    series_enabled: bool
    movies_library_name: str | None
    series_library_name: str | None
    show_explanations: bool | None
    may_override_explanations: bool


class Me(UserView):
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token on writes made with the login cookie ('' for a token)."
    )


class ExplanationGrant(Open):
    granted: bool
    may_choose: bool
    choice: bool | None
    effective: bool


class UserList(Open):
    users: list[UserView]
    note: str | None = Field(description="Why the media server could not be asked, when it could not.")


class UserWithGrant(UserView):
    explanations: ExplanationGrant


class UserDetail(UserWithGrant):
    libraries: list[Obj] | Obj
    taste: dict[str, Obj]
    picks: dict[str, Obj]
    recommendation_runs: list[Obj]


class RecommendationRuns(Open):
    runs: list[Obj]


class ExplanationSettingsOut(ExplanationSettings):
    model_config = ConfigDict(extra="allow")


class ExplanationSettingsSaved(ExplanationSettingsOut):
    users_rewritten: Any = Field(description="The users whose libraries are rewritten for the change.")


# --- the user's data -------------------------------------------------------------------------------


class ItemSummary(Open):
    id: int
    name: str
    kind: str


class PicksRun(Open):
    id: int
    finished_at: str | None
    candidate_count: int | None


class Picks(Open):
    media_type: MediaType
    run: PicksRun | None
    picks: list[Obj]


class Browse(Open):
    media_type: MediaType
    total: int
    page: int
    pages: int
    items: list[ItemSummary]


class ItemWithPick(Open):
    item: ItemSummary
    pick: Obj | None


class SimilarItems(Open):
    item_id: int
    similar: list[ItemSummary]


class Bar(Open):
    label: str
    count: int
    pct: int


class WatchStats(Open):
    media_type: MediaType
    summary: Obj
    genres: list[Bar]
    timeline: list[Bar]
    decades: list[Bar]


class History(Open):
    media_type: MediaType
    sort: Literal["recent", "plays"]
    history: list[Obj]


class TasteProfile(Open):
    media_type: MediaType
    text: str | None
    source: str | None
    facts: Any
    updated_at: str | None


class TasteProfiles(Open):
    profiles: dict[str, TasteProfile]


class TopPicks(Open):
    media_type: MediaType
    top_picks: list[Obj]


# --- channels --------------------------------------------------------------------------------------


class ChannelSync(Open):
    enabled: bool
    playlist_id: str | None
    synced_at: str | None
    error: str | None


class Channel(Open):
    id: int
    name: str
    media_type: MediaType
    owner: UserRef
    is_owner: bool
    sync: ChannelSync


class Channels(Open):
    channels: list[Channel]


class GeneratedChannel(Channel):
    proposal: Obj


class SyncedChannel(Channel):
    result: Obj | None


# --- admin: settings and libraries -----------------------------------------------------------------


class AdminSettings(Open):
    media_server: Obj
    recommendations: dict[str, Obj]
    top_picks: dict[str, Obj]
    explanations: Obj
    publish: Obj
    publish_files: Obj


class Library(Open):
    id: int
    name: str
    collection_type: str | None
    enabled: bool
    synced_at: str | None


class Libraries(Open):
    libraries: list[Library]


class MediaServerState(Open):
    configured: bool
    type: str | None
    source: Literal["environment", "saved"] | None
    server: Obj | None


class MediaServerConfig(Open):
    type: str | None
    url: str | None
    api_key_hint: str | None
    source: Literal["environment", "saved"] | None
    env_locked: bool
    configured: bool
    message: str | None = None


class ConnectionTest(Open):
    ok: bool
    name: str | None
    version: str | None
    product: str | None
    message: str


class LibrariesSynced(Open):
    synced: dict[str, int]
    libraries: list[Library]


class EmbeddingModel(Open):
    provider: str
    model: str | None
    stored_as: str
    env_locked: bool


class TextModel(Open):
    model: str | None
    env_locked: bool
    message: str | None = None


class CostInputs(Open):
    embedding: Obj
    text: Obj
    changes_embedding_model: bool
    prices: dict[str, Obj]


class DatabaseCounts(Open):
    movies: int
    series: int
    embeddings: list[Obj]


class Purged(Open):
    deleted: dict[str, int]
    sync_queued: bool


# --- jobs and webhook events -----------------------------------------------------------------------


class Job(Open):
    name: str
    queued: bool
    internal: bool
    aliases: list[str]


class Jobs(Open):
    jobs: list[Job]
    disabling: str


class JobRun(Open):
    id: int
    status: str


class JobRuns(Open):
    runs: list[JobRun]


class NamedJobRuns(JobRuns):
    name: str


class JobConfig(Open):
    name: str
    schedule: str | None
    enabled: bool


class JobQueued(Open):
    queued: bool


class JobCancelled(Open):
    runs: list[Obj]
    dequeued: list[Any]


class WebhookEvents(Open):
    events: list[Obj]
    total: int
    limit: int
    offset: int
    counts: dict[str, int]
    types: Any
    own_copies: int


class Cleared(Open):
    cleared: int


# --- API tokens ------------------------------------------------------------------------------------


class ApiToken(Open):
    id: int
    name: str
    user_id: int
    user_name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class ApiTokens(Open):
    tokens: list[ApiToken]


class ApiTokenCreated(ApiToken):
    token: str = Field(description="The token itself: shown this once, never again.")
