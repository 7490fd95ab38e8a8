"""Validated inputs of the UI forms and the JSON API (one model per thing a person can change)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from starlette.convertors import Convertor

from sidecar.jobs.schedule import validate_schedule
from sidecar.media_types import MediaType
from sidecar.web.form_errors import FieldErrors, field_messages

MAX_DB_INT = 2**31 - 1  # integer columns (ids)

_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


DbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


class IdConvertor(Convertor[int]):
    """``{name:id}`` in a route path: a row id, 1 to 10 ASCII digits.

    Starlette's ``int`` convertor matches any run of digits and its ``int()`` raises on more than 4300 of
    them (a 500); an id that long cannot exist, so here it simply does not match (404). Registered by
    ``create_app`` before the routes are built."""

    regex = "[0-9]{1,10}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        """PostgreSQL text cannot hold NUL characters: refuse them here rather than fail on insert."""
        for name, value in self:
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise ValueError(f"{name}: NUL characters are not allowed")
        return self


class LoginIn(Input):
    name: str = Field(min_length=1, max_length=256)
    password: str = Field(default="", max_length=1024)


class MediaTypeQuery(Input):
    media_type: MediaType = MediaType.MOVIES


class HistoryQuery(Input):
    media_type: MediaType = MediaType.MOVIES
    sort: Literal["recent", "plays"] = "recent"
    limit: int = Field(default=200, ge=1, le=1000)


class BrowseQuery(Input):
    media_type: MediaType = MediaType.MOVIES
    q: str | None = Field(default=None, max_length=200)
    genre: str | None = Field(default=None, max_length=100)
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=60, ge=1, le=200)


class LimitQuery(Input):
    limit: int = Field(default=12, ge=1, le=100)


class UserSettingsIn(Input):
    movies_library_name: str | None = Field(default=None, max_length=100)
    series_library_name: str | None = Field(default=None, max_length=100)
    show_explanations: bool | None = None

    @field_validator("movies_library_name", "series_library_name")
    @classmethod
    def _library_name(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if _NAME_FORBIDDEN.search(value):
            raise ValueError('a library name cannot contain / \\ : * ? " < > | or control characters')
        return value


class ChannelIn(Input):
    name: str = Field(min_length=1, max_length=100)
    media_type: MediaType = MediaType.MOVIES
    genre_filters: list[str] = Field(default_factory=list, max_length=50)
    text_preferences: str = Field(default="", max_length=2000)
    example_item_ids: list[DbId] = Field(default_factory=list, max_length=50)
    shared_with: list[DbId] = Field(default_factory=list, max_length=500)

    @field_validator("genre_filters")
    @classmethod
    def _genres(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for genre in value:
            genre = genre.strip()
            if not genre:
                continue
            if len(genre) > 100:
                raise ValueError("a genre name is at most 100 characters")
            if genre not in cleaned:
                cleaned.append(genre)
        return cleaned

    @field_validator("example_item_ids", "shared_with")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class LibraryPatch(Input):
    enabled: bool


class UserPatch(Input):
    movies_enabled: bool | None = None
    series_enabled: bool | None = None
    may_override_explanations: bool | None = None


class JobPatch(Input):
    schedule: str | None = Field(default=None, max_length=100)
    enabled: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return validate_schedule(value)


class WebhookQuery(Input):
    status: Literal["pending", "done", "ignored", "rejected", "failed"] | None = None
    type: str | None = Field(default=None, max_length=100)  # event_type; "unknown" for unparsed events
    own: bool = False  # include Marquee's own copies (the server announcing its STRM entries)
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class ClearWebhooksQuery(Input):
    status: Literal["rejected", "failed"] | None = Field(
        default=None, description="Clear only these; both when absent."
    )


class RunsQuery(Input):
    name: str | None = Field(default=None, max_length=200)
    active: bool = False
    limit: int = Field(default=50, ge=1, le=500)


class MediaServerIn(Input):
    """The fields to change; an absent or empty ``api_key`` keeps the saved one."""

    type: str | None = Field(default=None, max_length=20, description="jellyfin or emby")
    url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=500)


class EmbeddingModelIn(Input):
    provider: str | None = Field(default=None, max_length=20, description="local or openai (any compatible)")
    model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=500)
    clear_api_key: bool | None = None
    test: bool | None = Field(default=None, description="Call the model once before saving.")


class TextModelIn(Input):
    model: str | None = Field(default=None, max_length=200, description="Empty: no text model (template text).")
    test: bool | None = Field(default=None, description="Call the model once before saving.")


class CostInputsQuery(Input):
    provider: str | None = Field(default=None, max_length=20)
    model: str | None = Field(default=None, max_length=200)
    text_model: str | None = Field(default=None, max_length=200)


class PurgeIn(Input):
    confirm: str = Field(max_length=100, description="The word of what is purged: movies, series or everything.")


M = TypeVar("M", bound=BaseModel)


def describe(exc: ValidationError) -> str:
    """One line per problem, naming the field, for 4xx messages."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse(model: type[M], data: Any) -> M:
    """Validate ``data``; raises ``FieldErrors`` (an ``InvalidInput``, 422) with a readable message and the
    message of each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FieldErrors(describe(exc), field_messages(exc)) from None
