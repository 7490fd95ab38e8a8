"""The contract between Marquee and a media server: a ``MediaServer`` Protocol and its models.

Models are plain pydantic objects with snake_case attributes. The Jellyfin/Emby adapters in
``providers.mediabrowser`` build them from the servers' PascalCase DTOs (``providers.mediabrowser.dto``),
so nothing outside ``providers`` ever sees a wire name. Ids are the server's own strings: 32-hex GUIDs on
Jellyfin, numeric strings for Emby items (32-hex for Emby users and servers).

Times are timezone-aware UTC datetimes. Durations are in ticks (100 ns; 10,000,000 per second) as the
servers count them. Errors are the tree in ``providers.errors``.

Later changes add fields and methods; nothing here is renamed or removed, because the sync, webhook and
publishing code is written against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

ServerKind = Literal["jellyfin", "emby"]
ItemType = Literal[
    "Movie",
    "Series",
    "Season",
    "Episode",
    "BoxSet",
    "Playlist",
    "CollectionFolder",
    "Folder",
    "Video",
    "Other",
]
"""Item kinds Marquee understands; anything else a server returns is reported as ``"Other"``."""

TICKS_PER_SECOND = 10_000_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=False)


class ServerInfo(_Model):
    id: str
    name: str
    version: str
    product: ServerKind
    local_address: str | None = None


class User(_Model):
    id: str
    name: str
    is_admin: bool = False
    is_disabled: bool = False
    is_hidden: bool = False
    enable_all_folders: bool = True
    enabled_folders: list[str] = Field(default_factory=list)
    has_password: bool | None = None
    last_activity: datetime | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    """The server's full ``UserPolicy`` as received (PascalCase), for lossless round trips."""


class Library(_Model):
    """A virtual folder. ``id`` is its ItemId: use it as ``parent_id`` and in ``enabled_folders``."""

    id: str
    name: str
    collection_type: str | None = None
    locations: list[str] = Field(default_factory=list)
    refresh_status: str | None = None
    refresh_progress: float | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    """The server's ``LibraryOptions`` as received (PascalCase)."""


class Person(_Model):
    name: str
    role: str | None = None
    type: str | None = None  # Actor, Director, Writer, GuestStar, Producer, ...
    id: str | None = None


class UserData(_Model):
    item_id: str
    played: bool = False
    play_count: int = 0
    is_favorite: bool = False
    last_played: datetime | None = None
    position_ticks: int = 0
    played_percentage: float | None = None
    rating: float | None = None
    likes: bool | None = None
    unplayed_item_count: int | None = None


class Item(_Model):
    id: str
    type: ItemType
    name: str
    server_type: str | None = None
    """The ``Type`` string exactly as the server sent it (useful when ``type`` is ``"Other"``)."""
    original_title: str | None = None
    sort_name: str | None = None
    forced_sort_name: str | None = None
    year: int | None = None
    premiere_date: datetime | None = None
    overview: str | None = None
    taglines: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    studios: list[str] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = Field(default_factory=dict)
    """Keys normalised to "Tmdb", "Imdb", "Tvdb" (others title-cased); values as the server has them."""
    path: str | None = None
    parent_id: str | None = None
    series_id: str | None = None
    series_name: str | None = None
    season_id: str | None = None
    season_name: str | None = None
    index_number: int | None = None
    parent_index_number: int | None = None
    is_folder: bool = False
    media_type: str | None = None
    image_tags: dict[str, str] = Field(default_factory=dict)
    date_created: datetime | None = None
    date_last_saved: datetime | None = None
    locked_fields: list[str] = Field(default_factory=list)
    child_count: int | None = None
    user_data: UserData | None = None

    @property
    def tagline(self) -> str | None:
        return self.taglines[0] if self.taglines else None


class UserItem(NamedTuple):
    """One row of a user's watch history: the item's id and the user's data for it (no other item fields)."""

    id: str
    user_data: UserData


class Collection(_Model):
    """A collection (Jellyfin/Emby "BoxSet")."""

    id: str
    name: str
    child_count: int | None = None


class Playlist(_Model):
    id: str
    name: str
    child_count: int | None = None


class PlaylistEntry(_Model):
    """One line of a playlist: ``entry_id`` (PlaylistItemId) is what removal takes, not ``item_id``."""

    entry_id: str
    item_id: str
    name: str
    type: ItemType = "Other"


class ScanState(_Model):
    """State of the server's "Scan Media Library" scheduled task (Key ``RefreshLibrary``)."""

    running: bool
    state: str  # Idle | Running | Cancelling
    progress: float | None = None
    last_status: str | None = None  # Completed | Failed | Cancelled | Aborted
    last_start: datetime | None = None
    last_end: datetime | None = None


NamedImageKind = Literal["Persons", "Studios"]


class Image(_Model):
    """An image's bytes as the server sent them, and their media type (``image/jpeg``, ``image/png``...)."""

    data: bytes
    content_type: str


class MediaServer(Protocol):
    """What Marquee needs from a Jellyfin or Emby server. Implemented by ``providers.mediabrowser``.

    Every method raises a ``providers.errors.MediaServerError`` subclass on failure. Admin operations
    need an admin API key (Dashboard → API Keys). ``user_id`` arguments select whose ``UserData`` is
    returned; without one, items come without user data.
    """

    kind: ServerKind
    base_url: str

    # --- server and users -------------------------------------------------------------------------
    async def server_info(self) -> ServerInfo:
        """Authenticated ``/System/Info``: proves the URL and the API key both work."""
        ...

    async def authenticate_user(self, name: str, password: str) -> tuple[User, str]:
        """Log a user in by name and password; returns the user and their access token."""
        ...

    async def list_users(self) -> list[User]: ...

    async def get_user(self, user_id: str) -> User: ...

    async def update_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        """Replace the user's policy. Pass a full policy (``User.policy`` modified), never a fragment."""
        ...

    async def set_user_folders(self, user_id: str, *, enable_all_folders: bool, enabled_folders: Sequence[str]) -> User:
        """Read the policy, change only the library access fields, write it back; returns the new user."""
        ...

    # --- libraries --------------------------------------------------------------------------------
    async def list_libraries(self) -> list[Library]: ...

    async def create_library(
        self,
        name: str,
        collection_type: str,
        paths: Sequence[str],
        *,
        refresh: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Library:
        """Create a virtual folder (collection_type "movies" or "tvshows") and return it."""
        ...

    async def delete_library(self, name: str, *, refresh: bool = False) -> None: ...

    async def update_library_options(self, library_id: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` (PascalCase LibraryOptions keys) over the current options and save them."""
        ...

    async def refresh_library(self, library_id: str | None = None) -> None:
        """Start a scan of every library, or only of ``library_id``; returns once it is queued."""
        ...

    async def scan_state(self) -> ScanState: ...

    async def wait_for_scan(
        self, *, timeout_s: float = 300.0, library_id: str | None = None, settle_s: float = 1.0
    ) -> ScanState:
        """Wait until the scan started by the last ``refresh_library`` has finished (ScanTimeout if not)."""
        ...

    # --- items ------------------------------------------------------------------------------------
    def iter_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved: datetime | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        ids: Sequence[str] | None = None,
        recursive: bool = True,
        page_size: int = 500,
        sort_by: Sequence[str] | None = ("DateCreated", "SortName"),
        fields: Sequence[str] | None = None,
        enable_images: bool = True,
    ) -> AsyncIterator[Item]:
        """Every matching item, fetched page by page (``StartIndex``/``Limit``).

        The default order (date added, then sort name) keeps paging stable while items are added;
        ``sort_by=None`` keeps the server's own order (a collection's display order).
        ``fields`` names the optional fields to ask for (server names: "Genres", "People"...); None asks for
        everything Marquee stores, ``()`` for only the properties servers always send. ``enable_images=False``
        leaves out the image tags.
        """
        ...

    def iter_user_data(
        self,
        types: Sequence[str] | None,
        *,
        user_id: str,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        page_size: int = 500,
    ) -> AsyncIterator[UserItem]:
        """The user's data for every matching item (the filters as in ``iter_items``), and nothing else of the
        items: the server builds and sends no optional fields or images, and no ``Item`` is parsed."""
        ...

    async def count_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        recursive: bool = True,
    ) -> int: ...

    async def get_item(self, item_id: str, user_id: str | None = None) -> Item: ...

    async def get_user_data(self, user_id: str, item_ids: Sequence[str]) -> dict[str, UserData]:
        """The user's data for each item that exists, keyed by item id."""
        ...

    async def resume_items(
        self, user_id: str, *, limit: int = 100, fields: Sequence[str] | None = None, enable_images: bool = True
    ) -> list[Item]:
        """The user's in-progress items; ``fields`` and ``enable_images`` as in ``iter_items``."""
        ...

    async def set_sort_name(self, item_id: str, sort_name: str, *, lock: bool = True) -> None:
        """Set ``ForcedSortName`` through a full item round trip; ``lock`` adds "Name" to LockedFields."""
        ...

    async def update_item(self, item_id: str, changes: dict[str, Any]) -> None:
        """Full round trip: read the item's DTO, apply ``changes`` (PascalCase keys), post it back."""
        ...

    async def delete_item(self, item_id: str) -> None: ...

    # --- user actions (tests, simulator driving) -----------------------------------------------------
    async def mark_played(self, user_id: str, item_id: str, date_played: datetime | None = None) -> UserData: ...

    async def mark_unplayed(self, user_id: str, item_id: str) -> UserData: ...

    async def set_favorite(self, user_id: str, item_id: str, favorite: bool) -> UserData: ...

    # --- collections ------------------------------------------------------------------------------
    async def find_collection(self, name: str) -> Collection | None: ...

    async def list_collections(self) -> list[Collection]: ...

    async def create_collection(self, name: str, item_ids: Sequence[str] = ()) -> Collection: ...

    async def add_to_collection(self, collection_id: str, item_ids: Sequence[str]) -> None: ...

    async def remove_from_collection(self, collection_id: str, item_ids: Sequence[str]) -> None: ...

    async def collection_items(self, collection_id: str, user_id: str | None = None) -> list[Item]: ...

    # --- playlists --------------------------------------------------------------------------------
    async def find_playlist(self, name: str, user_id: str | None = None) -> Playlist | None: ...

    async def list_playlists(self, user_id: str | None = None) -> list[Playlist]: ...

    async def create_playlist(
        self,
        name: str,
        item_ids: Sequence[str],
        user_id: str,
        *,
        media_type: str = "Video",
        is_public: bool = True,
    ) -> Playlist: ...

    async def add_to_playlist(self, playlist_id: str, item_ids: Sequence[str], user_id: str) -> None: ...

    async def playlist_entries(self, playlist_id: str, user_id: str | None = None) -> list[PlaylistEntry]:
        """The playlist's entries in order."""
        ...

    async def remove_from_playlist(self, playlist_id: str, entry_ids: Sequence[str]) -> None: ...

    async def move_playlist_entry(self, playlist_id: str, entry_id: str, new_index: int) -> None:
        """Move one entry (by ``entry_id``) to ``new_index`` (0-based); the others keep their order."""
        ...

    async def update_playlist(
        self, playlist_id: str, *, name: str | None = None, shared_with: Sequence[str] | None = None
    ) -> bool:
        """Rename the playlist and/or make it visible, read-only, to exactly ``shared_with`` besides its owner.
        Returns whether the server took the shares (Jellyfin 10.9+ does; Emby has no documented API for it)."""
        ...

    async def playlist_shared_with(self, playlist_id: str) -> list[str] | None:
        """The user ids the playlist is shared with; None where the server cannot say (Emby)."""
        ...

    # --- urls and lifecycle -----------------------------------------------------------------------
    def stream_url(self, item_id: str, *, with_key: bool = True) -> str:
        """A direct-stream URL; ``with_key`` embeds the API key (never write that into shared files)."""
        ...

    def image_url(
        self,
        item_id: str,
        *,
        image_type: str = "Primary",
        tag: str | None = None,
        max_width: int | None = None,
    ) -> str: ...

    async def fetch_image(
        self,
        item_id: str,
        *,
        image_type: str = "Primary",
        tag: str | None = None,
        max_width: int | None = None,
    ) -> Image:
        """An item's image (``Primary``, ``Backdrop``, ...), asked once (no retries: a missing poster must
        not hold up a page or a publish). ``ProviderNotFound`` when the item has no such image."""
        ...

    async def fetch_named_image(
        self,
        kind: NamedImageKind,
        name: str,
        *,
        image_type: str = "Primary",
        max_width: int | None = None,
    ) -> Image:
        """A person's (``Persons``) or studio's/network's (``Studios``) image by name; ``ProviderNotFound``
        when the server has none."""
        ...

    async def fetch_user_image(self, user_id: str, *, max_width: int | None = None) -> Image:
        """A user's avatar; ``ProviderNotFound`` when the user has none."""
        ...

    async def aclose(self) -> None: ...


def make_media_server(
    kind: ServerKind,
    url: str,
    api_key: str,
    *,
    timeout: float = 15.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> MediaServer:
    """The provider for ``kind`` at ``url`` using an admin ``api_key``. Close it with ``aclose()``."""
    from providers.mediabrowser import make_client

    return make_client(kind, url, api_key, timeout=timeout, retries=retries, backoff=backoff)
