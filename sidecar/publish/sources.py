"""What a published title is made of: plain values read from ``item`` rows, free of the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class EpisodeSource:
    provider_id: str
    season: int
    episode: int
    name: str | None
    path: str | None


@dataclass(frozen=True)
class TitleSource:
    """A movie or series as the media server knows it (``path`` is the server's path)."""

    item_id: int
    provider_id: str
    kind: str  # Movie | Series
    name: str
    year: int | None = None
    original_title: str | None = None
    overview: str | None = None
    tagline: str | None = None
    genres: tuple[str, ...] = ()
    studios: tuple[str, ...] = ()
    people: tuple[dict[str, Any], ...] = ()
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    premiere_date: datetime | None = None
    status: str | None = None
    path: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    image_tags: dict[str, str] = field(default_factory=dict)
    episodes: tuple[EpisodeSource, ...] = ()

    def provider_id_of(self, name: str) -> str | None:
        """A provider id by name, case-insensitively ("imdb", "Tmdb", "TVDB" all match)."""
        wanted = name.lower()
        for key, value in self.provider_ids.items():
            if key.lower() == wanted and value:
                return str(value)
        return None


@dataclass(frozen=True)
class RankedSource:
    """One title at one rank in a published list; ``explanation`` only when it may be shown. ``slot`` orders
    the title on the server (``publish.order``); without one the rank does."""

    source: TitleSource
    rank: int
    explanation: str | None = None
    slot: int | None = None
