"""Plain value types crossing the recommender's boundary (no numpy in the public fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

MOVIE = "movie"
SERIES = "series"


@dataclass(frozen=True, slots=True, eq=False)
class ItemFacts:
    """What the recommender knows about one recommendable item (a movie or a whole series).

    `provider_ids` (e.g. {"tmdb": "862", "imdb": "tt0114709"}) links duplicate copies:
    two items sharing any provider id are one title.
    """

    item_id: str
    title: str
    media_type: str = MOVIE
    year: int | None = None
    genres: tuple[str, ...] = ()
    community_rating: float | None = None  # 0-10
    official_rating: str | None = None
    people: tuple[str, ...] = ()  # directors/creators first, then cast
    studios: tuple[str, ...] = ()  # studios, or the network for series
    provider_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One user's relation to one item, as the media server reports it.

    A series is one event per user, rolled up from its episodes when the history is read
    (`sidecar.picks_store.inputs.series_event`).
    """

    item_id: str
    last_played: float | None = None  # unix seconds
    play_count: int = 1
    played: bool = True
    favourite: bool = False
    position_fraction: float = 0.0  # resume position / runtime of an unfinished play
    completion: float = 1.0  # share of the item seen (series: episodes seen / episodes)


@dataclass(frozen=True, slots=True)
class Weights:
    """Per-media-type weights, as edited in the settings UI.

    `similarity`, `novelty` and `rating` weigh the taste-match, discovery and quality
    components; `cowatch` weighs what the server's other viewers of the same titles went on
    to watch (used only where the server has enough plays); `diversity` is the MMR trade-off
    between relevance and distance from the picks already chosen (0 = pure relevance).
    Not in the settings UI (chosen by cross-validation in `marquee evaluate`): `genre`, the share of
    the stated-genre overlap inside the taste match; `session`, titles other viewers watched close
    to the user's recent ones; `popularity`, how many of the server's viewers watched a title; `people`,
    the share of shared directors and leading cast inside the taste match.
    """

    similarity: float = 0.5
    novelty: float = 0.3
    rating: float = 0.2
    diversity: float = 0.3
    cowatch: float = 1.0
    genre: float = 0.5
    session: float = 0.6
    popularity: float = 0.0
    people: float = 0.15


@dataclass(frozen=True, slots=True)
class Evidence:
    """A watched title that pulled a pick in, and how similar the two are (cosine)."""

    item_id: str
    title: str
    similarity: float


@dataclass(frozen=True, slots=True)
class ScoreBreakdown:
    """Component scores of one pick, each on a 0-1 scale (0.5 = the user's average item).

    `final` is the weighted relevance before re-ranking; `variety` is 1 minus the largest
    similarity to a pick ranked above it (1 = unlike anything above).
    """

    taste: float
    cowatch: float | None
    novelty: float
    quality: float
    variety: float
    final: float


@dataclass(frozen=True, slots=True)
class Pick:
    """One recommendation with everything the UI shows about it."""

    item_id: str
    title: str
    rank: int
    match_percent: int
    breakdown: ScoreBreakdown
    matching_genres: tuple[str, ...]
    new_genres: tuple[str, ...]
    evidence: tuple[Evidence, ...]
