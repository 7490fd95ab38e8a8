"""The domain schema.

The SQL in ``migrations/`` is what creates these tables; ``tests/test_schema.py`` checks that a migrated
database has exactly the columns declared here, so the two cannot drift apart.

Conventions: surrogate integer ids; ``provider_id`` is the media server's own id (Jellyfin GUID or Emby
number, always a string); lists and maps are JSONB; every timestamp is timezone-aware UTC; rows that
disappear from the media server are marked ``gone_at`` rather than deleted, so history survives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, default_now: bool = False) -> Any:
    return Field(
        default_factory=utcnow if default_now else None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=nullable,
            server_default=text("now()") if default_now else None,
        ),
    )


def _json(default: Any) -> Any:
    is_map = isinstance(default, dict)
    return Field(
        default_factory=dict if is_map else list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'" if is_map else "'[]'")),
    )


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


# --- Media server and its catalogue ---------------------------------------------------------------


class MediaServer(SQLModel, table=True):
    __tablename__ = "media_server"
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # jellyfin | emby | simulator-jellyfin ...
    url: str
    name: str = ""
    server_id: str | None = None  # the server's own id
    version: str | None = None
    settings: dict[str, Any] = _json({})
    created_at: datetime = _ts(nullable=False, default_now=True)
    last_seen_at: datetime | None = _ts()


class Library(SQLModel, table=True):
    __tablename__ = "library"
    __table_args__ = (UniqueConstraint("server_id", "provider_id"),)
    id: int | None = Field(default=None, primary_key=True)
    server_id: int = _fk("media_server.id")
    provider_id: str
    name: str
    collection_type: str | None = None  # movies | tvshows | ...
    locations: list[str] = _json([])
    enabled: bool = True
    is_marquee_output: bool = False  # our own AI Picks / Top Picks libraries: never synced as sources
    synced_at: datetime | None = _ts()
    gone_at: datetime | None = _ts()


class AppUser(SQLModel, table=True):
    """A media-server user as Marquee knows them (login is with the media server's credentials)."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("server_id", "provider_id"),)
    id: int | None = Field(default=None, primary_key=True)
    server_id: int = _fk("media_server.id")
    provider_id: str
    name: str
    is_admin: bool = False
    is_disabled: bool = False
    enable_all_folders: bool = True
    movies_enabled: bool = True
    series_enabled: bool = True
    movies_library_name: str | None = None  # custom AI Picks library name
    series_library_name: str | None = None
    show_explanations: bool | None = None  # None: follow the global toggle
    may_override_explanations: bool = False  # the admin lets this user choose show_explanations
    watch_synced_at: datetime | None = _ts()  # delta cursor (server time) for MinDateLastSavedForUser
    created_at: datetime = _ts(nullable=False, default_now=True)
    updated_at: datetime = _ts(nullable=False, default_now=True)
    gone_at: datetime | None = _ts()


class Item(SQLModel, table=True):
    """A movie, series, season or episode from an enabled library."""

    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("server_id", "provider_id"),
        Index("ix_item_kind_live", "kind", postgresql_where=text("gone_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    server_id: int = _fk("media_server.id")
    provider_id: str
    kind: str  # Movie | Series | Season | Episode
    library_id: int | None = _fk("library.id", nullable=True, ondelete="SET NULL")
    parent_id: int | None = _fk("item.id", nullable=True, ondelete="SET NULL")
    series_id: int | None = _fk("item.id", nullable=True, ondelete="SET NULL")
    season_number: int | None = None
    episode_number: int | None = None
    name: str
    original_title: str | None = None
    sort_name: str | None = None
    year: int | None = None
    premiere_date: datetime | None = _ts()
    end_year: int | None = None
    status: str | None = None  # series: Continuing | Ended
    overview: str | None = None
    tagline: str | None = None
    genres: list[str] = _json([])
    tags: list[str] = _json([])
    studios: list[str] = _json([])
    people: list[dict[str, Any]] = _json([])  # [{name, role, type}]
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    path: str | None = None
    provider_ids: dict[str, str] = _json({})  # {"Tmdb": "..", "Imdb": "tt..", "Tvdb": ".."}
    image_tags: dict[str, str] = _json({})
    date_added: datetime | None = _ts()
    date_last_saved: datetime | None = _ts()
    synced_at: datetime = _ts(nullable=False, default_now=True)
    gone_at: datetime | None = _ts()


class ItemEmbedding(SQLModel, table=True):
    """One vector per item and model. The column has no fixed dimension so a change of model never
    fails on a dimension mismatch; each model gets its own partial HNSW index on ``embedding::vector(dim)``
    (created by the embedding job)."""

    __tablename__ = "item_embedding"
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True))
    model: str = Field(sa_column=Column(Text, primary_key=True))
    dim: int
    text_hash: str
    embedding: list[float] | None = Field(default=None, sa_column=Column(Vector(), nullable=True))
    error: str | None = None  # set when this item failed to embed (skipped until its text changes)
    attempts: int = 0
    updated_at: datetime = _ts(nullable=False, default_now=True)


# --- What users watched ---------------------------------------------------------------------------


class WatchState(SQLModel, table=True):
    __tablename__ = "watch_state"
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True))
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("item.id", ondelete="CASCADE"), primary_key=True, index=True)
    )
    played: bool = False
    play_count: int = 0
    is_favorite: bool = False
    last_played_at: datetime | None = _ts()
    position_ticks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    completion: float = 0.0  # 0..1: position / runtime, 1 when played; series: share of episodes watched
    rating: float | None = None  # the user's own rating, when the server has one
    updated_at: datetime = _ts(nullable=False, default_now=True)


class PlayEvent(SQLModel, table=True):
    """An append-only log of what happened (from webhooks and from sync), for stats and Top Picks."""

    __tablename__ = "play_event"
    __table_args__ = (Index("ix_play_event_at", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _fk("app_user.id")
    item_id: int = _fk("item.id")
    kind: str  # start | progress | stop | played | unplayed | favourite | unfavourite | sync
    at: datetime = _ts(nullable=False, default_now=True)
    position_ticks: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    completed: bool = False
    source: str = "webhook"  # webhook | sync
    webhook_event_id: int | None = _fk("webhook_event.id", nullable=True, ondelete="SET NULL")


class WebhookEvent(SQLModel, table=True):
    """Every webhook request, stored raw before it is acted on."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_status", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str  # jellyfin | emby
    content_hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    event_type: str | None = None  # normalised: playback.stop, userdata.saved, item.added, ...
    raw_type: str | None = None  # as the server named it
    content_type: str | None = None
    headers: dict[str, Any] = _json({})
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    user_provider_id: str | None = None
    item_provider_id: str | None = None
    status: str = "pending"  # pending | done | ignored | rejected | failed
    error: str | None = None
    attempts: int = 0
    received_at: datetime = _ts(nullable=False, default_now=True)
    processed_at: datetime | None = _ts()


# --- Recommendations ------------------------------------------------------------------------------


class RecommendationRun(SQLModel, table=True):
    __tablename__ = "recommendation_run"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _fk("app_user.id")
    media_type: str  # movies | series
    trigger: str = "job"  # job | webhook | rebuild | manual
    status: str = "running"  # running | done | failed
    model: str | None = None  # embedding model
    params: dict[str, Any] = _json({})
    candidate_count: int = 0
    error: str | None = None
    started_at: datetime = _ts(nullable=False, default_now=True)
    finished_at: datetime | None = _ts()


class Recommendation(SQLModel, table=True):
    """One pick of a run. The picks of a user's latest finished run are their current list."""

    __tablename__ = "recommendation"
    __table_args__ = (Index("ix_recommendation_user_type", "user_id", "media_type"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = _fk("recommendation_run.id")
    user_id: int = _fk("app_user.id", index=False)
    media_type: str
    item_id: int = _fk("item.id")
    rank: int
    score: float
    match_pct: int
    components: dict[str, float] = _json({})  # taste, discovery, quality, variety, cowatch
    genre_analysis: dict[str, Any] = _json({})  # {"matching": [...], "new": [...]}
    evidence: list[dict[str, Any]] = _json([])  # [{item_id, title, similarity}]
    explanation: str | None = None
    explanation_source: str | None = None  # llm | template


class TasteProfile(SQLModel, table=True):
    __tablename__ = "taste_profile"
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True))
    media_type: str = Field(sa_column=Column(Text, primary_key=True))
    text: str = ""
    source: str = "template"  # llm | template
    facts: dict[str, Any] = _json({})  # top genres, decades, people the text was written from
    locked: bool = False
    updated_at: datetime = _ts(nullable=False, default_now=True)


class TopPick(SQLModel, table=True):
    __tablename__ = "top_pick"
    __table_args__ = (UniqueConstraint("media_type", "rank"),)
    id: int | None = Field(default=None, primary_key=True)
    media_type: str
    item_id: int = _fk("item.id")
    rank: int
    score: float
    unique_viewers: int = 0
    play_count: int = 0
    completion: float = 0.0
    computed_at: datetime = _ts(nullable=False, default_now=True)


class Channel(SQLModel, table=True):
    __tablename__ = "channel"
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = _fk("app_user.id")
    name: str
    media_type: str = "movies"
    genre_filters: list[str] = _json([])
    text_preferences: str = ""
    example_item_ids: list[int] = _json([])
    item_ids: list[int] = _json([])  # the last generated contents, in order
    playlist_provider_id: str | None = None
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # (0614)
    sync_enabled: bool = False  # keep a playlist on the media server (sidecar.channel_playlists)
    synced_at: datetime | None = _ts()
    synced_item_count: int | None = None
    sync_error: str | None = None  # why the last sync failed; None after a good one
    refreshed_at: datetime | None = _ts()  # contents last recomputed (fill, schedule, owner's watch)
    created_at: datetime = _ts(nullable=False, default_now=True)
    updated_at: datetime = _ts(nullable=False, default_now=True)


class ChannelShare(SQLModel, table=True):
    __tablename__ = "channel_share"
    channel_id: int = Field(sa_column=Column(Integer, ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True))
    created_at: datetime = _ts(nullable=False, default_now=True)


class ServerEvaluation(SQLModel, table=True):
    """One ``marquee evaluate --server`` result (``sidecar.server_evaluation``): the offline protocol on this
    server's own users for one media type (migration 1017)."""

    __tablename__ = "server_evaluation"
    __table_args__ = (Index("ix_server_evaluation_type_at", "media_type", "evaluated_at"),)
    id: int | None = Field(default=None, primary_key=True)
    media_type: str
    job_run_id: int | None = _fk("job_run.id", nullable=True, ondelete="SET NULL", index=False)
    model: str | None = None  # embedding model
    holdout: int
    min_history: int
    items: int = 0
    users_with_history: int = 0
    users_evaluated: int = 0
    overall: dict[str, Any] = _json({})  # {method: {ndcg10, recall20, hit10, users}}
    per_user: list[dict[str, Any]] = _json([])  # [{user_id, name, history, held_out, ndcg10: {method: x}}]
    params: dict[str, Any] = _json({})
    seconds: float = 0.0
    evaluated_at: datetime = _ts(nullable=False, default_now=True)


# --- Publishing -----------------------------------------------------------------------------------


class PublishedLibrary(SQLModel, table=True):
    """A library Marquee writes: one per user and media type (AI Picks) or per media type (Top Picks)."""

    __tablename__ = "published_library"
    __table_args__ = (UniqueConstraint("kind", "media_type", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # ai_picks | top_picks
    media_type: str
    user_id: int | None = _fk("app_user.id", nullable=True)
    name: str
    folder: str  # relative to the STRM root
    mode: str = "strm"  # strm | symlink
    provider_library_id: str | None = None
    collection_provider_id: str | None = None
    playlist_provider_id: str | None = None
    status: str = "pending"  # pending | published | failed
    error: str | None = None
    published_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False, default_now=True)  # anchors the NFO dateadded (0300)


class PublishedFile(SQLModel, table=True):
    __tablename__ = "published_file"
    library_id: int = Field(
        sa_column=Column(Integer, ForeignKey("published_library.id", ondelete="CASCADE"), primary_key=True)
    )
    folder_name: str = Field(sa_column=Column(Text, primary_key=True))  # "Title (Year) [id]"
    item_id: int = _fk("item.id")
    rank: int
    content_hash: str  # of everything written for this title, so unchanged titles are not touched
    written_at: datetime = _ts(nullable=False, default_now=True)


# --- Jobs and settings ----------------------------------------------------------------------------


class JobDefinition(SQLModel, table=True):
    __tablename__ = "job_definition"
    name: str = Field(primary_key=True)
    description: str = ""
    schedule: str | None = None  # "interval:60" (minutes) | "daily:04:00" | "weekly:sun:04:00" | None (manual)
    enabled: bool = True
    last_enqueued_at: datetime | None = _ts()


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_name_started", "job_name", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    job_name: str
    arq_job_id: str | None = None
    worker_id: str | None = None  # the worker running it (sidecar.jobs.liveness)
    args: dict[str, Any] = _json({})
    status: str = "running"  # running | done | failed | retrying | interrupted
    progress_current: int = 0
    progress_total: int | None = None
    message: str = ""
    log: list[str] = _json([])
    error: str | None = None
    result: dict[str, Any] = _json({})
    started_at: datetime = _ts(nullable=False, default_now=True)
    finished_at: datetime | None = _ts()


class RuntimeSetting(SQLModel, table=True):
    """Settings edited from the UI (weights, outputs, toggles): key → JSON value."""

    __tablename__ = "runtime_setting"
    key: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    updated_at: datetime = _ts(nullable=False, default_now=True)


class SyncState(SQLModel, table=True):
    """Cursors and bookkeeping of sync runs (e.g. the last full catalogue sync)."""

    __tablename__ = "sync_state"
    key: str = Field(primary_key=True)
    value: dict[str, Any] = _json({})
    updated_at: datetime = _ts(nullable=False, default_now=True)


class LoginSession(SQLModel, table=True):
    """A web login; the cookie holds only the signed session id."""

    __tablename__ = "login_session"
    id: str = Field(primary_key=True)
    user_id: int = _fk("app_user.id")
    created_at: datetime = _ts(nullable=False, default_now=True)
    expires_at: datetime = _ts(nullable=False)


class ApiToken(SQLModel, table=True):
    """A token for scripts, acting as its owner (``user_id``); only its SHA-256 is stored (``sidecar.api_tokens``)."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    user_id: int = _fk("app_user.id")
    token_hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    created_by: int | None = _fk("app_user.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: datetime = _ts(nullable=False, default_now=True)
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
