"""Settings edited from the admin UI, stored in ``runtime_setting`` (key → JSON) with typed defaults.

Each key has a pydantic model; reading a key that was never saved returns the model's defaults, and a
stored value is merged over the defaults, so adding a field later never breaks an existing database.
A stored value that no longer validates is logged and replaced by the defaults rather than failing a job.

    recommendations.{movies,series}  RecommendationSettings (weights, count, recent-watch limit)
    top_picks.{movies,series}        TopPicksSettings (window, viewers, count, weights, outputs)
    explanations                     ExplanationSettings (global "why we picked this" toggle; see
                                     ``effective_explanations`` for a user's effective value)
    publish                          PublishSettings (strm/symlink, all-folders conversion)

Usage: ``await load(session, recommendation_key("movies"))`` / ``await save(session, key, value)``;
``load_all``/``save`` take an open ``AsyncSession`` and ``save`` commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import RuntimeSetting
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.settings import Settings

log = logging.getLogger(__name__)

PublishModeSetting = Literal["strm", "symlink"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlgorithmWeights(_Strict):
    similarity: float = Field(default=0.5, ge=0.0, le=1.0, description="How closely picks follow the taste.")
    novelty: float = Field(default=0.3, ge=0.0, le=1.0, description="Preference for genres outside the habit.")
    rating: float = Field(default=0.2, ge=0.0, le=1.0, description="Weight of community ratings.")
    diversity: float = Field(default=0.3, ge=0.0, le=1.0, description="Variety in the list (MMR).")

    @model_validator(mode="after")
    def _something_counts(self) -> Self:
        if self.similarity == self.novelty == self.rating == 0:
            raise ValueError(
                "similarity, novelty and rating cannot all be 0: every title would score the same; "
                "set at least one above 0"
            )
        return self


class RecommendationSettings(_Strict):
    weights: AlgorithmWeights = Field(default_factory=AlgorithmWeights)
    count: int = Field(default=50, ge=1, le=500, description="Recommendations per user.")
    recent_watch_limit: int = Field(
        default=100, ge=1, le=10_000, description="How many recent watches shape the taste."
    )


class TopPicksWeights(_Strict):
    unique_viewers: float = Field(default=0.5, ge=0.0, le=1.0)
    play_count: float = Field(default=0.3, ge=0.0, le=1.0)
    completion: float = Field(default=0.2, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _something_counts(self) -> Self:
        if self.unique_viewers == self.play_count == self.completion == 0:
            raise ValueError(
                "unique viewers, play count and completion cannot all be 0: every title would rank the same; "
                "set at least one above 0"
            )
        return self


class TopPicksOutputs(_Strict):
    library: bool = True
    library_mode: PublishModeSetting = "strm"
    collection: bool = False
    playlist: bool = False
    name: str = Field(default="", max_length=200, description="Empty: 'Top Picks - Movies' / '- Series'.")


class TopPicksSettings(_Strict):
    enabled: bool = True
    window_days: int = Field(default=30, ge=1, le=3650)
    min_viewers: int = Field(default=2, ge=1, le=10_000)
    count: int = Field(default=10, ge=1, le=500)
    weights: TopPicksWeights = Field(default_factory=TopPicksWeights)
    outputs: TopPicksOutputs = Field(default_factory=TopPicksOutputs)


class ExplanationSettings(_Strict):
    enabled: bool = Field(default=True, description="Write 'why we picked this' into the libraries' NFO plots.")
    allow_user_override: bool = Field(
        default=True,
        description="Users the admin granted it (on each user's page) may choose for themselves; off: nobody may.",
    )


class PublishSettings(_Strict):
    mode: PublishModeSetting | None = Field(
        default=None, description="strm or symlink for AI Picks libraries; None follows MARQUEE_PUBLISH_MODE."
    )
    convert_all_folders_users: bool = Field(
        default=False,
        description="Give users who see 'all libraries' an explicit list (their libraries plus their own "
        "AI Picks) so no other user's AI Picks library becomes visible to them.",
    )


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RuntimeKey(Generic[M]):
    key: str
    model: type[M]

    def default(self) -> M:
        return self.model()


RECOMMENDATIONS: dict[MediaType, RuntimeKey[RecommendationSettings]] = {
    mt: RuntimeKey(f"recommendations.{mt}", RecommendationSettings) for mt in MEDIA_TYPES
}
TOP_PICKS: dict[MediaType, RuntimeKey[TopPicksSettings]] = {
    mt: RuntimeKey(f"top_picks.{mt}", TopPicksSettings) for mt in MEDIA_TYPES
}
EXPLANATIONS: RuntimeKey[ExplanationSettings] = RuntimeKey("explanations", ExplanationSettings)
PUBLISH: RuntimeKey[PublishSettings] = RuntimeKey("publish", PublishSettings)


def recommendation_key(media_type: MediaType) -> RuntimeKey[RecommendationSettings]:
    return RECOMMENDATIONS[media_type]


def top_picks_key(media_type: MediaType) -> RuntimeKey[TopPicksSettings]:
    return TOP_PICKS[media_type]


def merge(default: dict[str, Any], stored: Any) -> Any:
    """``stored`` laid over ``default``, nested objects field by field (unknown fields are kept, so
    validation can name them)."""
    if not isinstance(stored, dict):
        return stored
    merged = dict(default)
    for name, value in stored.items():
        merged[name] = merge(default[name], value) if isinstance(default.get(name), dict) else value
    return merged


def parse(key: RuntimeKey[M], stored: Any) -> M:
    """The stored JSON merged over the defaults; the defaults when it no longer validates."""
    default = key.default()
    if stored is None:
        return default
    try:
        return key.model.model_validate(merge(default.model_dump(), stored))
    except ValidationError as exc:
        log.warning("runtime setting %s is invalid, using defaults: %s", key.key, exc)
        return default


async def load(session: AsyncSession, key: RuntimeKey[M]) -> M:
    row = await session.get(RuntimeSetting, key.key)
    return parse(key, row.value if row is not None else None)


async def load_raw(session: AsyncSession) -> dict[str, Any]:
    """Every stored key with its JSON (for export and debugging)."""
    return {row.key: row.value for row in (await session.exec(select(RuntimeSetting))).all()}


async def save(session: AsyncSession, key: RuntimeKey[M], value: M) -> None:
    """Validate and store ``value`` under ``key`` and commit."""
    checked = key.model.model_validate(value.model_dump())
    stmt = insert(RuntimeSetting).values(
        key=key.key, value=checked.model_dump(mode="json"), updated_at=datetime.now(UTC)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"], set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}
    )
    await session.exec(stmt)
    await session.commit()


class ExplanationChooser(Protocol):
    """What of a user decides their explanations (``AppUser`` has both)."""

    may_override_explanations: bool
    show_explanations: bool | None


def may_choose_explanations(explanations: ExplanationSettings, user: ExplanationChooser | None) -> bool:
    """The user may pick "always" / "never" for themselves: the admin granted it and overrides are allowed."""
    return user is not None and explanations.allow_user_override and user.may_override_explanations


def effective_explanations(explanations: ExplanationSettings, user: ExplanationChooser | None) -> bool:
    """Whether this user's libraries (NFO plots) and pages carry "why we picked this": their own choice when
    they may choose and made one, else the global toggle. A choice stored without the grant is ignored."""
    if user is not None and user.show_explanations is not None and may_choose_explanations(explanations, user):
        return bool(user.show_explanations)
    return explanations.enabled


def effective_publish_mode(publish: PublishSettings, settings: Settings) -> PublishModeSetting:
    """The AI Picks output mode: the admin's choice, else MARQUEE_PUBLISH_MODE."""
    return publish.mode or settings.publish_mode
