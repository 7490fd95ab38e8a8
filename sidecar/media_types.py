"""The two media types Marquee recommends, and what each one means across the app.

``MediaType`` is a ``StrEnum``: its members equal the strings stored in the database (``channel.media_type``,
``recommendation_run.media_type``), the runtime settings keys (``recommendations.movies``), the URLs
(``/api/picks/series``) and the job arguments, so no data changes with it. ``SPECS`` answers "which server
kinds, which label, which job, which user flag for this type"; behaviour that really differs (series exclude
the shows a user already started, episodes roll up to their series) stays a branch on ``MediaType.SERIES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MediaType(StrEnum):
    MOVIES = "movies"
    SERIES = "series"


@dataclass(frozen=True)
class MediaTypeSpec:
    media_type: MediaType
    kind: str  # the item kind listed, embedded, recommended and published ("Movie", "Series")
    server_kinds: tuple[str, ...]  # the media-server item kinds synced for this type
    label: str  # for titles and library names ("Movies", "Series")
    collection_type: str  # the media server's library collection type
    user_flag: str  # the AppUser column turning this type's picks on for a user
    library_name_field: str  # the AppUser column holding the user's own library name for it
    embed_job: str
    recommend_job: str


SPECS: dict[MediaType, MediaTypeSpec] = {
    MediaType.MOVIES: MediaTypeSpec(
        media_type=MediaType.MOVIES,
        kind="Movie",
        server_kinds=("Movie",),
        label="Movies",
        collection_type="movies",
        user_flag="movies_enabled",
        library_name_field="movies_library_name",
        embed_job="generate-embeddings",
        recommend_job="generate-recommendations",
    ),
    MediaType.SERIES: MediaTypeSpec(
        media_type=MediaType.SERIES,
        kind="Series",
        server_kinds=("Series", "Season", "Episode"),
        label="Series",
        collection_type="tvshows",
        user_flag="series_enabled",
        library_name_field="series_library_name",
        embed_job="generate-series-embeddings",
        recommend_job="generate-series-recommendations",
    ),
}

MEDIA_TYPES: tuple[MediaType, ...] = tuple(MediaType)
_MEDIA_TYPE_OF_KIND = {kind: mt for mt, s in SPECS.items() for kind in s.server_kinds}


def spec(media_type: str) -> MediaTypeSpec:
    """The spec of ``media_type`` (a ``MediaType`` or its string); ``ValueError`` for anything else."""
    return SPECS[MediaType(media_type)]


def media_type_of_kind(kind: str) -> MediaType | None:
    """The media type a server item kind belongs to ("Episode" -> series); None for other kinds."""
    return _MEDIA_TYPE_OF_KIND.get(kind)
