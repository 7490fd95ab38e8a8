"""The text we embed for one movie or series, and its change-detection hash.

Pure functions: the embedding job builds an `ItemDescription` from its rows, embeds
`embedding_text(desc)` and stores `text_hash(text, model)` next to the vector; on the next
run only items whose hash changed (new metadata or a new model) are embedded again.
Series are described with series-level metadata only (episodes are never embedded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

OVERVIEW_LIMIT = 1000
MAX_STUDIOS = 2
MAX_ACTORS_MOVIE = 3
MAX_ACTORS_SERIES = 4
MAX_TAGS = 12


@dataclass(frozen=True, slots=True)
class ItemDescription:
    """What a media server knows about a movie or a series, as plain values."""

    title: str
    media_type: str = "movie"  # "movie" | "series"
    year: int | None = None
    end_year: int | None = None  # series only; None with `continuing` means still running
    continuing: bool = False
    tagline: str | None = None
    genres: Sequence[str] = ()
    official_rating: str | None = None
    directors: Sequence[str] = ()  # for series: creators
    studios: Sequence[str] = ()  # for series: network first
    actors: Sequence[str] = ()
    overview: str | None = None
    tags: Sequence[str] = field(default_factory=tuple)


def _clean(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _names(values: Sequence[str], limit: int) -> list[str]:
    seen: list[str] = []
    for raw in values:
        name = _clean(raw)
        if name and name not in seen:
            seen.append(name)
        if len(seen) == limit:
            break
    return seen


def _title_part(desc: ItemDescription) -> str:
    title = _clean(desc.title)
    if desc.year is None:
        return title
    if desc.media_type == "series":
        if desc.end_year and desc.end_year != desc.year:
            return f"{title} ({desc.year}-{desc.end_year})"
        if desc.continuing:
            return f"{title} ({desc.year}-present)"
    return f"{title} ({desc.year})"


def embedding_text(desc: ItemDescription) -> str:
    """`Title (Year). "Tagline". Genres: … Rated … Directed by … Studio … Starring … Overview. Themes: …`

    Empty parts are left out; the overview is cut at 1000 characters on a word boundary.
    """
    series = desc.media_type == "series"
    parts: list[str] = [_title_part(desc)]
    if series:
        parts.append("TV series")
    tagline = _clean(desc.tagline)
    if tagline:
        parts.append(f'"{tagline.strip(chr(34))}"')
    genres = _names(desc.genres, 8)
    if genres:
        parts.append("Genres: " + ", ".join(genres))
    rating = _clean(desc.official_rating)
    if rating:
        parts.append(f"Rated {rating}")
    directors = _names(desc.directors, 3)
    if directors:
        parts.append(("Created by " if series else "Directed by ") + ", ".join(directors))
    studios = _names(desc.studios, MAX_STUDIOS)
    if studios:
        parts.append(("Network: " if series else "Studio: ") + ", ".join(studios))
    actors = _names(desc.actors, MAX_ACTORS_SERIES if series else MAX_ACTORS_MOVIE)
    if actors:
        parts.append("Starring " + ", ".join(actors))
    overview = _clean(desc.overview)
    if len(overview) > OVERVIEW_LIMIT:
        overview = overview[:OVERVIEW_LIMIT].rsplit(" ", 1)[0] + "..."
    if overview:
        parts.append(overview)
    tags = _names(desc.tags, MAX_TAGS)
    if tags:
        parts.append("Themes: " + ", ".join(tags))
    return ". ".join(p.rstrip(".") if not p.endswith("...") else p for p in parts if p) + "."


def text_hash(text: str, model: str) -> str:
    """Hex SHA-256 of model id and text: it changes when either does."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()
