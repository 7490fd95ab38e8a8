"""The simulator's state as plain Python objects (fast enough for 50,000 items)."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Flavor = Literal["jellyfin", "emby"]

TICKS_PER_SECOND = 10_000_000
VIDEO_EXTENSIONS = frozenset({".mkv", ".mp4", ".avi", ".m4v", ".mov", ".ts", ".webm", ".wmv", ".mpg"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def hex_id(*parts: str) -> str:
    """A stable 32-hex id, like Jellyfin's path-derived item ids."""
    return hashlib.md5("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


class IdFactory:
    """Jellyfin: 32-hex GUIDs derived from a key. Emby: increasing numeric strings, stable per key."""

    def __init__(self, flavor: Flavor, seed: int) -> None:
        self.flavor = flavor
        self.seed = seed
        self._counter = itertools.count(3)
        self._by_key: dict[str, str] = {}

    def item(self, key: str) -> str:
        existing = self._by_key.get(key)
        if existing is not None:
            return existing
        new = hex_id(str(self.seed), key) if self.flavor == "jellyfin" else str(next(self._counter))
        self._by_key[key] = new
        return new

    def guid(self, key: str) -> str:
        return hex_id(str(self.seed), "guid", key)


_ARTICLES = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
_REMOVE = re.compile(r"[,&\-{}'\":!?()\[\]]")
_REPLACE = re.compile(r"[.+%/]")
_DIGITS = re.compile(r"\d+")


def sort_name_for(name: str, forced: str | None = None) -> str:
    """Jellyfin-like: articles dropped (unless forced), punctuation removed, numbers padded, lowercase."""
    base = forced if forced else _ARTICLES.sub("", name)
    if not forced:
        base = _REPLACE.sub(" ", _REMOVE.sub("", base))
    base = " ".join(base.split())
    return _DIGITS.sub(lambda m: m.group(0).zfill(10), base).lower()


@dataclass(slots=True)
class SimPerson:
    name: str
    type: str  # Actor, Director, Writer, ...
    role: str | None = None


@dataclass(slots=True)
class SimItem:
    id: str
    type: str  # Movie, Series, Season, Episode, BoxSet, Playlist, CollectionFolder
    name: str
    library_id: str | None = None
    parent_id: str | None = None
    path: str | None = None
    original_title: str | None = None
    forced_sort_name: str | None = None
    year: int | None = None
    premiere_date: datetime | None = None
    overview: str | None = None
    taglines: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    people: list[SimPerson] = field(default_factory=list)
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    series_id: str | None = None
    season_id: str | None = None
    index_number: int | None = None
    parent_index_number: int | None = None
    date_created: datetime = field(default_factory=utcnow)
    date_last_saved: datetime = field(default_factory=utcnow)
    locked_fields: list[str] = field(default_factory=list)
    lock_data: bool = False
    display_order: str | None = None
    children: list[str] = field(default_factory=list)
    """Series → seasons, Season → episodes, BoxSet → member ids in collection order."""
    owner_id: str | None = None  # playlists
    is_public: bool = True  # playlists
    shares: dict[str, bool] = field(default_factory=dict)  # playlists: user id -> CanEdit (playlist_sharing)
    media_type: str | None = None  # playlists: Video/Audio
    source_id: str | None = None  # scanned copies: the catalogue item they point at
    _sort_key: str | None = None

    @property
    def is_folder(self) -> bool:
        return self.type in ("Series", "Season", "BoxSet", "Playlist", "CollectionFolder", "Folder")

    @property
    def sort_name(self) -> str:
        if self._sort_key is None:
            self._sort_key = sort_name_for(self.name, self.forced_sort_name)
        return self._sort_key

    def touch_names(self) -> None:
        self._sort_key = None

    @property
    def image_tag(self) -> str:
        return hex_id("img", self.id, self.name)

    @property
    def user_data_key(self) -> str:
        """Like the real servers, movies share user data by external id (so a STRM copy of a movie
        shares its played state with the original); episodes by series and number."""
        if self.type != "Movie":
            return self.id
        imdb = tmdb = None
        for key, value in self.provider_ids.items():  # keys compare case-insensitively; the last spelling wins
            lowered = key.lower()
            if lowered == "imdb":
                imdb = value
            elif lowered == "tmdb":
                tmdb = value
        if imdb:
            return f"imdb-{imdb}"
        if tmdb:
            return f"tmdb-{tmdb}"
        return self.id


@dataclass(slots=True)
class SimUserData:
    played: bool = False
    play_count: int = 0
    is_favorite: bool = False
    last_played: datetime | None = None
    position_ticks: int = 0
    rating: float | None = None
    likes: bool | None = None
    last_saved: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class SimUser:
    id: str
    name: str
    password: str
    policy: dict[str, Any]
    configuration: dict[str, Any]
    last_login: datetime | None = None
    last_activity: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return bool(self.policy.get("IsAdministrator"))


@dataclass(slots=True)
class SimLibrary:
    """A virtual folder. Catalogue libraries hold the seeded items; others are filled by scans."""

    id: str
    name: str
    collection_type: str | None
    locations: list[str]
    options: dict[str, Any]
    catalog: bool = False
    refresh_status: str = "Idle"
    refresh_progress: float | None = None
    item_ids: list[str] = field(default_factory=list)
    """Every item in the library (top level and below), in insertion order."""


@dataclass(slots=True)
class SimToken:
    token: str
    user_id: str | None  # None: an API key
    app_name: str
    device_id: str = ""
    device_name: str = ""
    client: str = ""
    version: str = ""
    created: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class PlaylistEntryState:
    entry_id: str
    item_id: str


@dataclass(slots=True)
class ScanTask:
    id: str
    state: str = "Idle"
    progress: float | None = None
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_status: str | None = None


@dataclass(slots=True)
class PlaybackSession:
    session_id: str
    play_session_id: str
    user_id: str
    item_id: str
    device_id: str
    device_name: str
    client: str
    position_ticks: int = 0
    is_paused: bool = False
    started: datetime = field(default_factory=utcnow)
    last_check_in: datetime = field(default_factory=utcnow)
