"""``Simulator``: the whole state of a small Jellyfin or Emby server, and the user actions that change it.

Tests and the demo drive it directly (``sim.play(...)``, ``sim.mark_played(...)``, ``sim.add_movie(...)``)
or over HTTP through ``providers.simulator.app``; either way user data changes like on the real server
and the real webhooks go out to ``sim.webhooks``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.simulator.catalog import Catalog, CatalogMovie, CatalogSeries, synthetic_catalog
from providers.simulator.catalogue_index import CatalogueIndex, ItemTable
from providers.simulator.history import load_ratings, synthetic_movie_history
from providers.simulator.model import (
    TICKS_PER_SECOND,
    Flavor,
    IdFactory,
    PlaybackSession,
    PlaylistEntryState,
    ScanTask,
    SimItem,
    SimLibrary,
    SimPerson,
    SimToken,
    SimUser,
    SimUserData,
    hex_id,
    utcnow,
)
from providers.simulator.policies import default_configuration, default_library_options, default_policy
from providers.simulator.user_data_store import UserDataStore
from providers.simulator.webhooks import PlaybackKind, WebhookHub

if TYPE_CHECKING:
    from starlette.applications import Starlette

DEMO_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
MIN_RESUME_PCT = 5.0
MAX_RESUME_PCT = 90.0
_UNSAFE = re.compile(r'[\\/:*?"<>|]')


class SimError(Exception):
    """An HTTP-shaped failure inside the simulator (the app turns it into that status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Fault:
    status: int
    remaining: int
    path_contains: str | None = None
    method: str | None = None


@dataclass(slots=True)
class SimUserInfo:
    """What the simulator prints at start: who can log in with what."""

    id: str
    name: str
    password: str
    is_admin: bool


def safe_name(name: str) -> str:
    return " ".join(_UNSAFE.sub("", name).split()) or "Untitled"


EMBY_VERSIONS = {"4.8": "4.8.10.0", "4.9": "4.9.0.33"}
"""The Emby versions the simulator can act as, and the version string ``/System/Info`` reports for each."""


class Simulator:
    """A small Jellyfin (``flavor="jellyfin"``) or Emby (``flavor="emby"``) server held in memory."""

    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def __init__(
        self,
        flavor: Flavor = "jellyfin",
        *,
        catalog: Catalog | None = None,
        users: int | Sequence[str] = 3,
        seed_history: bool | Path = False,
        media_root: Path | None = None,
        webhook_urls: Iterable[str] = (),
        api_key: str | None = None,
        seed: int = 0,
        server_name: str | None = None,
        legacy_auth: bool = True,
        scan_duration_s: float = 0.05,
        server_url: str = "http://127.0.0.1:8096",
        emby_version: str = "4.8",
    ) -> None:
        if emby_version not in EMBY_VERSIONS:
            raise ValueError(f"emby_version must be one of {', '.join(EMBY_VERSIONS)}")
        self.flavor: Flavor = flavor
        self.emby_version = emby_version
        self.variant = "jellyfin" if flavor == "jellyfin" else f"emby-{emby_version}"
        """Which server the routes follow: ``jellyfin``, ``emby-4.8`` or ``emby-4.9`` (no ``GET /Users``, the
        ``…/Query`` routes, playlist results with a body)."""
        self.seed = seed
        self.ids = IdFactory(flavor, seed)
        self.server_id = hex_id(str(seed), flavor, "server")
        self.server_name = server_name or f"{flavor}-sim"
        self.version = "10.11.8" if flavor == "jellyfin" else EMBY_VERSIONS[emby_version]
        self.server_url = server_url
        self.legacy_auth = legacy_auth
        self.scan_duration_s = scan_duration_s
        self.media_root = media_root
        self.admin_api_key = api_key or secrets.token_hex(16)
        self.rng = random.Random(seed)

        self.items = ItemTable()
        self.libraries: dict[str, SimLibrary] = {}
        self.users: dict[str, SimUser] = {}
        self._user_data = UserDataStore()
        self._catalogue_index: CatalogueIndex | None = None
        self.tokens: dict[str, SimToken] = {}
        self.playlist_entries: dict[str, list[PlaylistEntryState]] = {}
        self.sessions: dict[tuple[str, str], PlaybackSession] = {}
        self.faults: list[Fault] = []
        self.custom_images: dict[tuple[str, str], tuple[bytes, str]] = {}  # (item id, lowercase type) → bytes, type
        self.display_preferences: dict[tuple[str, str, str], dict[str, Any]] = {}  # (user, id, client) → prefs
        self.scan_task = ScanTask(id=hex_id("task", "RefreshLibrary"))
        self.version_counter = 0
        self._entry_counter = itertools.count(1)
        self._path_index: dict[str, str] = {}
        self._provider_index: dict[tuple[str, str], str] = {}
        self._movielens_index: dict[int, str] = {}
        self._scan_jobs: set[asyncio.Task[None]] = set()
        self.webhooks = WebhookHub(self)
        self._app: Starlette | None = None
        for url in webhook_urls:
            self.webhooks.add_target(url)

        self.tokens[self.admin_api_key] = SimToken(self.admin_api_key, None, "Marquee simulator admin")
        self._make_users(users)
        self.movies_library = self._add_library("Movies", "movies", [self._media_dir("movies")], catalog=True)
        self.shows_library = self._add_library("Shows", "tvshows", [self._media_dir("tv")], catalog=True)
        self.load_catalog(catalog if catalog is not None else synthetic_catalog())
        if seed_history:
            self.seed_history(seed_history if isinstance(seed_history, Path) else None)

    @property
    def app(self) -> Starlette:
        """The ASGI app serving this simulator (created once)."""
        if self._app is None:
            from providers.simulator.app import create_app

            self._app = create_app(self)
        return self._app

    @property
    def user_data(self) -> UserDataStore:
        """Every user's data by (user id, data key); see ``UserDataStore`` for what keeps its indexes right."""
        return self._user_data

    @user_data.setter
    def user_data(self, entries: Mapping[tuple[str, str], SimUserData]) -> None:
        self._user_data = UserDataStore(entries)

    def catalogue_index(self) -> CatalogueIndex:
        """Which items share each user-data key (rebuilt after the items change)."""
        index = self._catalogue_index
        if index is None or index.changes != self.items.changes:
            index = self._catalogue_index = CatalogueIndex.build(self, self.items.changes)
        return index

    # --- basics -------------------------------------------------------------------------------------
    def bump(self) -> None:
        self.version_counter += 1

    def _media_dir(self, sub: str) -> str:
        return str(self.media_root / sub) if self.media_root is not None else f"/media/{sub}"

    def _make_users(self, users: int | Sequence[str]) -> None:
        names = (
            list(users)
            if not isinstance(users, int)
            else [DEMO_NAMES[i] if i < len(DEMO_NAMES) else f"user{i + 1}" for i in range(users)]
        )
        self.add_user("admin", f"admin-{self.rng.randint(1000, 9999)}", is_admin=True, announce=False)
        for name in names:
            self.add_user(name, f"{name}-{self.rng.randint(1000, 9999)}", announce=False)

    def add_user(self, name: str, password: str, *, is_admin: bool = False, announce: bool = True) -> SimUser:
        user = SimUser(
            id=hex_id(str(self.seed), "user", name),
            name=name,
            password=password,
            policy=default_policy(self.flavor, is_admin=is_admin),
            configuration=default_configuration(self.flavor),
        )
        self.users[user.id] = user
        self.bump()
        if announce:  # UserCreated, as a server sends it (not for the users the simulator starts with)
            self.webhooks.user_created(user)
        return user

    def delete_user(self, user_id: str) -> SimUser:
        """Remove a user with their tokens, user data and playback sessions, and send the user-deleted webhook."""
        user = self.user(user_id)
        if user.is_admin and sum(1 for u in self.users.values() if u.is_admin) == 1:
            raise SimError(400, "The last administrator cannot be deleted")
        del self.users[user.id]
        self.tokens = {k: t for k, t in self.tokens.items() if t.user_id != user.id}
        self.user_data.drop_user(user.id)
        self.sessions = {k: v for k, v in self.sessions.items() if k[0] != user.id}
        self.bump()
        self.webhooks.user_deleted(user)
        return user

    def user_list(self) -> list[SimUserInfo]:
        return [SimUserInfo(u.id, u.name, u.password, u.is_admin) for u in self.users.values()]

    def user(self, id_or_name: str) -> SimUser:
        key = id_or_name.replace("-", "").lower()
        if key in self.users:
            return self.users[key]
        for user in self.users.values():
            if user.name.lower() == id_or_name.lower():
                return user
        raise SimError(404, f"User {id_or_name} not found")

    def item(self, item_id: str) -> SimItem:
        key = item_id.replace("-", "").lower() if self.flavor == "jellyfin" else item_id
        found = self.items.get(key)
        if found is None:
            raise SimError(404, f"Item {item_id} not found")
        return found

    def find_by_path(self, path: str) -> SimItem | None:
        item_id = self._path_index.get(os.path.normpath(path))
        return self.items.get(item_id) if item_id else None

    def find_by_provider(self, provider: str, value: str) -> SimItem | None:
        item_id = self._provider_index.get((provider.lower(), value))
        return self.items.get(item_id) if item_id else None

    def find_by_name(self, name: str, type_: str | None = None) -> SimItem:
        for item in self.items.values():
            if item.name == name and (type_ is None or item.type == type_):
                return item
        raise SimError(404, f"No item named {name!r}")

    # --- libraries and items ------------------------------------------------------------------------
    def _add_library(self, name: str, collection_type: str | None, paths: list[str], *, catalog: bool) -> SimLibrary:
        library_id = self.ids.item(f"library:{name}")
        library = SimLibrary(
            id=library_id,
            name=name,
            collection_type=collection_type,
            locations=paths,
            options=default_library_options(paths),
            catalog=catalog,
        )
        self.libraries[library_id] = library
        self.items[library_id] = SimItem(
            id=library_id, type="CollectionFolder", name=name, path=paths[0] if paths else None
        )
        self.bump()
        return library

    def create_library(
        self, name: str, collection_type: str | None, paths: list[str], options: dict[str, Any] | None
    ) -> SimLibrary:
        if not name or name != name.strip():
            raise SimError(400, "Library name is empty or has leading/trailing whitespace")
        if any(lib.name.lower() == name.lower() for lib in self.libraries.values()):
            raise SimError(400, f"A library named {name} already exists")
        library = self._add_library(name, collection_type, paths, catalog=False)
        if options:
            library.options = {**library.options, **options, "PathInfos": [{"Path": p} for p in paths]}
        return library

    def library_by_name(self, name: str) -> SimLibrary:
        for library in self.libraries.values():
            if library.name.lower() == name.lower():
                return library
        raise SimError(404, f"Library {name} not found")

    def delete_library(self, name: str) -> None:
        library = self.library_by_name(name)
        for item_id in list(library.item_ids):
            self._drop_item(item_id, notify=False)
        del self.libraries[library.id]
        self.items.pop(library.id, None)
        for user in self.users.values():
            folders = user.policy.get("EnabledFolders") or []
            if library.id in folders:
                user.policy["EnabledFolders"] = [f for f in folders if f != library.id]
        self.bump()

    def register_item(self, item: SimItem, library: SimLibrary | None) -> SimItem:
        self.items[item.id] = item
        if library is not None:
            item.library_id = library.id
            library.item_ids.append(item.id)
        if item.path:
            self._path_index[os.path.normpath(item.path)] = item.id
        for key, value in item.provider_ids.items():
            self._provider_index.setdefault((key.lower(), value), item.id)
        self.bump()
        return item

    def _drop_item(self, item_id: str, *, notify: bool) -> None:
        item = self.items.pop(item_id, None)
        if item is None:
            return
        for child in list(item.children) if item.type in ("Series", "Season") else []:
            self._drop_item(child, notify=False)
        if item.path and self._path_index.get(os.path.normpath(item.path)) == item_id:
            del self._path_index[os.path.normpath(item.path)]
        for key, value in item.provider_ids.items():
            if self._provider_index.get((key.lower(), value)) == item_id:
                del self._provider_index[(key.lower(), value)]
        if item.library_id and item.library_id in self.libraries:
            ids = self.libraries[item.library_id].item_ids
            if item_id in ids:
                ids.remove(item_id)
        if item.parent_id and item.parent_id in self.items:
            siblings = self.items[item.parent_id].children
            if item_id in siblings:
                siblings.remove(item_id)
        for other in self.items.values():
            if other.type == "BoxSet" and item_id in other.children:
                other.children.remove(item_id)
        for entries in self.playlist_entries.values():
            entries[:] = [e for e in entries if e.item_id != item_id]
        self.bump()
        if notify:
            self.webhooks.item_deleted(item)

    def remove_item(self, item_id: str) -> None:
        """Delete an item (and, for a series, its seasons and episodes); fires ItemDeleted/library.deleted."""
        self._drop_item(self.item(item_id).id, notify=True)

    def _touch_file(self, path: str) -> None:
        if self.media_root is None:
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)

    def _people(self, director: Iterable[str], actors: Iterable[str]) -> list[SimPerson]:
        people = [SimPerson(name, "Director") for name in director]
        people += [SimPerson(name, "Actor", role=f"Role {i + 1}") for i, name in enumerate(actors)]
        return people

    def _premiere(self, year: int | None, offset_days: int = 0) -> datetime | None:
        if year is None:
            return None
        return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=offset_days)

    def add_movie(self, movie: CatalogMovie, *, notify: bool = True, created: datetime | None = None) -> SimItem:
        """Add a movie to the catalogue library (fires ItemAdded/library.new when ``notify``)."""
        label = safe_name(f"{movie.title} ({movie.year})" if movie.year else movie.title)
        path = os.path.join(self._media_dir("movies"), label, f"{label}.mkv")
        provider_ids = {k: v for k, v in (("Tmdb", movie.tmdb_id), ("Imdb", movie.imdb_id)) if v}
        when = created or utcnow()
        item = SimItem(
            id=self.ids.item(f"movie:{movie.key}"),
            type="Movie",
            name=movie.title,
            parent_id=self.movies_library.id,
            path=path,
            original_title=movie.title,
            year=movie.year,
            premiere_date=self._premiere(movie.year, self.rng.randint(0, 300)),
            overview=movie.overview,
            taglines=[movie.tagline] if movie.tagline else [],
            genres=list(movie.genres),
            tags=list(movie.keywords),
            studios=list(movie.studios),
            people=self._people([movie.director] if movie.director else [], movie.actors),
            community_rating=movie.community_rating,
            official_rating=movie.official_rating,
            runtime_ticks=(movie.runtime_min or 100) * 60 * TICKS_PER_SECOND,
            provider_ids=provider_ids,
            date_created=when,
            date_last_saved=when,
        )
        if item.id in self.items:
            raise SimError(400, f"{movie.title} is already in the catalogue")
        self.register_item(item, self.movies_library)
        if movie.movielens_id is not None:
            self._movielens_index[movie.movielens_id] = item.id
        self._touch_file(path)
        if notify:
            self.webhooks.item_added(item)
        return item

    def add_series(self, series: CatalogSeries, *, notify: bool = True, created: datetime | None = None) -> SimItem:
        label = safe_name(f"{series.title} ({series.year})" if series.year else series.title)
        folder = os.path.join(self._media_dir("tv"), label)
        when = created or utcnow()
        provider_ids = {k: v for k, v in (("Tvdb", series.tvdb_id), ("Imdb", series.imdb_id)) if v}
        show = SimItem(
            id=self.ids.item(f"series:{series.key}"),
            type="Series",
            name=series.title,
            parent_id=self.shows_library.id,
            path=folder,
            original_title=series.title,
            year=series.year,
            premiere_date=self._premiere(series.year, self.rng.randint(0, 200)),
            overview=series.overview,
            genres=list(series.genres),
            studios=list(series.studios),
            people=self._people(series.directors, series.actors),
            community_rating=series.community_rating,
            official_rating=series.official_rating,
            provider_ids=provider_ids,
            date_created=when,
            date_last_saved=when,
        )
        self.register_item(show, self.shows_library)
        premiere = show.premiere_date
        for season_no, count in enumerate(series.episodes_per_season, start=1):
            season_path = os.path.join(folder, f"Season {season_no:02d}")
            season = SimItem(
                id=self.ids.item(f"season:{series.key}:{season_no}"),
                type="Season",
                name=f"Season {season_no}",
                parent_id=show.id,
                path=season_path,
                series_id=show.id,
                index_number=season_no,
                year=(series.year + season_no - 1) if series.year else None,
                date_created=when,
                date_last_saved=when,
            )
            self.register_item(season, self.shows_library)
            show.children.append(season.id)
            for ep_no in range(1, count + 1):
                ep_name = f"Episode {ep_no}"
                file_name = safe_name(f"{series.title} - S{season_no:02d}E{ep_no:02d} - {ep_name}") + ".mkv"
                aired = premiere + timedelta(days=365 * (season_no - 1) + 7 * (ep_no - 1)) if premiere else None
                tvdb = series.tvdb_id
                episode = SimItem(
                    id=self.ids.item(f"episode:{series.key}:{season_no}:{ep_no}"),
                    type="Episode",
                    name=ep_name,
                    parent_id=season.id,
                    path=os.path.join(season_path, file_name),
                    year=aired.year if aired else None,
                    premiere_date=aired,
                    overview=f"{series.title}, season {season_no}, episode {ep_no}.",
                    runtime_ticks=series.episode_runtime_min * 60 * TICKS_PER_SECOND,
                    series_id=show.id,
                    season_id=season.id,
                    index_number=ep_no,
                    parent_index_number=season_no,
                    community_rating=series.community_rating,
                    official_rating=series.official_rating,
                    provider_ids={"Tvdb": f"{tvdb}{season_no:02d}{ep_no:03d}"} if tvdb else {},
                    date_created=when,
                    date_last_saved=when,
                )
                self.register_item(episode, self.shows_library)
                season.children.append(episode.id)
                self._touch_file(episode.path or "")
        if notify:
            self.webhooks.item_added(show)
        return show

    def load_catalog(self, catalog: Catalog) -> None:
        start = utcnow() - timedelta(days=400)
        total = max(1, len(catalog.movies) + len(catalog.series))
        step = timedelta(days=380) / total
        for n, movie in enumerate(catalog.movies):
            try:
                self.add_movie(movie, notify=False, created=start + step * n)
            except SimError:
                continue  # duplicate key in the source file
        for n, series in enumerate(catalog.series):
            self.add_series(series, notify=False, created=start + step * (len(catalog.movies) + n))

    # --- user data ----------------------------------------------------------------------------------
    def data_key(self, item: SimItem) -> str:
        if item.source_id and item.source_id in self.items:
            return self.items[item.source_id].user_data_key
        return item.user_data_key

    def get_user_data(self, user_id: str, item: SimItem) -> SimUserData:
        key = (user_id, self.data_key(item))
        data = self.user_data.get(key)
        if data is None:
            data = SimUserData(last_saved=self.epoch)
        return data

    def _save_user_data(self, user_id: str, item: SimItem, data: SimUserData) -> None:
        data.last_saved = utcnow()
        self.user_data[(user_id, self.data_key(item))] = data
        self.bump()

    def folder_counts(self, user_id: str, item: SimItem) -> tuple[int, int]:
        """(played, total) episodes under a series or season."""
        episodes = self.descendants(item, types={"Episode"})
        played = sum(1 for e in episodes if self.get_user_data(user_id, e).played)
        return played, len(episodes)

    def descendants(self, item: SimItem, types: set[str] | None = None) -> list[SimItem]:
        out: list[SimItem] = []
        stack = list(reversed(item.children))
        while stack:
            child = self.items.get(stack.pop())
            if child is None:
                continue
            if types is None or child.type in types:
                out.append(child)
            if child.type in ("Series", "Season"):
                stack.extend(reversed(child.children))
        return out

    def mark_played(
        self, user: str, item_id: str, played: bool = True, date: datetime | None = None, *, notify: bool = True
    ) -> SimUserData:
        sim_user, item = self.user(user), self.item(item_id)
        targets = self.descendants(item, {"Episode"}) if item.type in ("Series", "Season") else [item]
        data = self.get_user_data(sim_user.id, item)
        for target in targets:
            data = self.get_user_data(sim_user.id, target)
            if played:
                data.played = True
                data.play_count += 1
                data.last_played = date or utcnow()
                data.position_ticks = 0
            else:
                data.played = False
                data.play_count = 0
                data.position_ticks = 0
            self._save_user_data(sim_user.id, target, data)
        if notify:
            self.webhooks.user_data_saved(sim_user, item, data, "TogglePlayed")
        return self.get_user_data(sim_user.id, item)

    def set_favorite(self, user: str, item_id: str, favorite: bool = True, *, notify: bool = True) -> SimUserData:
        sim_user, item = self.user(user), self.item(item_id)
        data = self.get_user_data(sim_user.id, item)
        data.is_favorite = favorite
        self._save_user_data(sim_user.id, item, data)
        if notify:
            self.webhooks.user_data_saved(sim_user, item, data, "UpdateUserRating")
        return data

    # --- playback -----------------------------------------------------------------------------------
    def play_start(
        self, user: str, item_id: str, position_ticks: int = 0, *, device: str = "Firefox", client: str | None = None
    ) -> PlaybackSession:
        sim_user, item = self.user(user), self.item(item_id)
        if item.is_folder:
            raise SimError(400, f"{item.type} {item.name} cannot be played")
        client_name = client or ("Jellyfin Web" if self.flavor == "jellyfin" else "Emby Web")
        session = PlaybackSession(
            session_id=hex_id("session", sim_user.id, device),
            play_session_id=secrets.token_hex(16),
            user_id=sim_user.id,
            item_id=item.id,
            device_id=hex_id("device", device)[:24],
            device_name=device,
            client=client_name,
            position_ticks=position_ticks,
        )
        self.sessions[(sim_user.id, item.id)] = session
        data = self.get_user_data(sim_user.id, item)
        data.play_count += 1
        data.last_played = utcnow()
        data.played = False
        self._save_user_data(sim_user.id, item, data)
        sim_user.last_activity = utcnow()
        self.webhooks.user_data_saved(sim_user, item, data, "PlaybackStart")
        self.webhooks.playback("start", session, sim_user, item, data, False)
        return session

    def play_progress(self, user: str, item_id: str, position_ticks: int, *, paused: bool = False) -> PlaybackSession:
        sim_user, item = self.user(user), self.item(item_id)
        session = self.sessions.get((sim_user.id, item.id)) or self.play_start(user, item_id)
        was_paused = session.is_paused
        session.position_ticks = position_ticks
        session.is_paused = paused
        session.last_check_in = utcnow()
        data = self.get_user_data(sim_user.id, item)
        data.position_ticks = position_ticks
        self._save_user_data(sim_user.id, item, data)
        self.webhooks.user_data_saved(sim_user, item, data, "PlaybackProgress")
        kind: PlaybackKind = "progress"
        if paused != was_paused:
            kind = "pause" if paused else "unpause"
        self.webhooks.playback(kind, session, sim_user, item, data, False)
        return session

    def play_stop(self, user: str, item_id: str, position_ticks: int | None = None) -> SimUserData:
        """Stop playback at ``position_ticks`` (default: the end). Like the servers: past 90 % is played
        to completion, under 5 % keeps nothing, in between saves a resume position."""
        sim_user, item = self.user(user), self.item(item_id)
        session = self.sessions.pop((sim_user.id, item.id), None) or self.play_start(user, item_id)
        self.sessions.pop((sim_user.id, item.id), None)
        runtime = item.runtime_ticks or 0
        position = runtime if position_ticks is None else position_ticks
        session.position_ticks = position
        data = self.get_user_data(sim_user.id, item)
        completed = False
        if runtime <= 0:
            completed = True
            data.position_ticks = 0
        else:
            pct = 100.0 * position / runtime
            if pct >= MAX_RESUME_PCT:
                completed = True
                data.position_ticks = 0
            elif pct < MIN_RESUME_PCT:
                data.position_ticks = 0
            else:
                data.position_ticks = position
        if completed:
            data.played = True
            data.last_played = utcnow()
        self._save_user_data(sim_user.id, item, data)
        self.webhooks.user_data_saved(sim_user, item, data, "PlaybackFinished")
        self.webhooks.playback("stop", session, sim_user, item, data, completed)
        return data

    def play(self, user: str, item_id: str, fraction: float = 1.0) -> SimUserData:
        """A whole playback: start, one progress report, stop at ``fraction`` of the runtime."""
        item = self.item(item_id)
        runtime = item.runtime_ticks or 0
        self.play_start(user, item_id)
        self.play_progress(user, item_id, int(runtime * fraction / 2))
        return self.play_stop(user, item_id, int(runtime * fraction))

    # --- history ------------------------------------------------------------------------------------
    def seed_history(self, ratings_path: Path | None) -> None:
        """Completed plays (and favourites for 4.5+) from a ratings file, or a synthetic taste per user."""
        viewers = [u for u in self.users.values() if not u.is_admin]
        if ratings_path is not None:
            ratings = load_ratings(ratings_path)
            for user, source in zip(viewers, ratings.values(), strict=False):
                for rating in source:
                    item_id = self._movielens_index.get(rating.movielens_id)
                    if item_id is None or item_id not in self.items:
                        continue
                    item = self.items[item_id]
                    data = self.get_user_data(user.id, item)
                    data.played, data.play_count, data.last_played = True, data.play_count + 1, rating.when
                    data.is_favorite = data.is_favorite or rating.rating >= 4.5
                    data.rating = rating.rating * 2
                    self._save_user_data(user.id, item, data)
            return
        movies = [item for item in self.items.values() if item.type == "Movie"]
        now = utcnow()
        for n, user in enumerate(viewers):
            for play in synthetic_movie_history([m.genres for m in movies], seed=self.seed * 1000 + n, now=now):
                item = movies[play.item_index]
                data = self.get_user_data(user.id, item)
                data.play_count += 1
                data.last_played = play.when
                if play.fraction >= 1.0:
                    data.played = True
                else:
                    data.position_ticks = int((item.runtime_ticks or 0) * play.fraction)
                data.is_favorite = play.favourite
                self._save_user_data(user.id, item, data)
            series = [item for item in self.items.values() if item.type == "Series"]
            rng = random.Random(self.seed * 7919 + n)
            for show in rng.sample(series, k=min(len(series), rng.randint(1, 3))):
                episodes = self.descendants(show, {"Episode"})
                watched = episodes[: rng.randint(1, len(episodes))] if episodes else []
                for k, episode in enumerate(watched):
                    data = self.get_user_data(user.id, episode)
                    data.played, data.play_count = True, 1
                    data.last_played = now - timedelta(days=60 - k * 0.5)
                    self._save_user_data(user.id, episode, data)

    # --- collections and playlists ------------------------------------------------------------------
    def create_collection(self, name: str, item_ids: Sequence[str]) -> SimItem:
        folder = next((lib for lib in self.libraries.values() if lib.collection_type == "boxsets"), None)
        if folder is None:
            folder = self._add_library("Collections", "boxsets", ["/config/data/collections"], catalog=True)
        collection = SimItem(
            id=self.ids.item(f"boxset:{name}:{next(self._entry_counter)}"),
            type="BoxSet",
            name=name,
            parent_id=folder.id,
            path=f"/config/data/collections/{safe_name(name)} [boxset]",
        )
        self.register_item(collection, folder)
        self.add_to_collection(collection.id, item_ids)
        return collection

    def add_to_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        collection = self.item(collection_id)
        if collection.type != "BoxSet":
            raise SimError(404, f"{collection_id} is not a collection")
        for item_id in item_ids:
            member = self.item(item_id)
            if member.id not in collection.children:
                collection.children.append(member.id)
        collection.date_last_saved = utcnow()
        self.bump()

    def remove_from_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        collection = self.item(collection_id)
        drop = {i.replace("-", "").lower() if self.flavor == "jellyfin" else i for i in item_ids}
        collection.children = [c for c in collection.children if c not in drop]
        self.bump()

    def create_playlist(
        self, name: str, item_ids: Sequence[str], owner: SimUser, media_type: str | None, is_public: bool
    ) -> SimItem:
        playlist = SimItem(
            id=self.ids.item(f"playlist:{name}:{next(self._entry_counter)}"),
            type="Playlist",
            name=name,
            path=f"/config/data/playlists/{safe_name(name)}/playlist.xml",
            owner_id=owner.id,
            is_public=is_public,
            media_type=media_type or "Video",
        )
        self.register_item(playlist, None)
        self.playlist_entries[playlist.id] = []
        self.add_to_playlist(playlist.id, item_ids)
        return playlist

    def add_to_playlist(self, playlist_id: str, item_ids: Sequence[str]) -> None:
        playlist = self.item(playlist_id)
        if playlist.type != "Playlist":
            raise SimError(404, f"{playlist_id} is not a playlist")
        entries = self.playlist_entries.setdefault(playlist.id, [])
        for item_id in item_ids:
            member = self.item(item_id)
            entries.append(PlaylistEntryState(hex_id("entry", playlist.id, str(next(self._entry_counter))), member.id))
        playlist.date_last_saved = utcnow()
        self.bump()

    def remove_from_playlist(self, playlist_id: str, entry_ids: Sequence[str]) -> None:
        playlist = self.item(playlist_id)
        drop = {e.replace("-", "").lower() for e in entry_ids}
        self.playlist_entries[playlist.id] = [
            e for e in self.playlist_entries.get(playlist.id, []) if e.entry_id not in drop
        ]
        self.bump()

    def move_playlist_item(self, playlist_id: str, entry_or_item: str, new_index: int) -> None:
        entries = self.playlist_entries.get(self.item(playlist_id).id, [])
        for n, entry in enumerate(entries):
            if entry_or_item in (entry.entry_id, entry.item_id):
                entries.insert(max(0, min(new_index, len(entries) - 1)), entries.pop(n))
                self.bump()
                return
        raise SimError(404, f"{entry_or_item} is not in playlist {playlist_id}")

    # --- faults -------------------------------------------------------------------------------------
    def inject_fault(
        self, status: int = 500, count: int = 1, *, path_contains: str | None = None, method: str | None = None
    ) -> None:
        """The next ``count`` matching API requests answer ``status`` (500-then-success tests)."""
        self.faults.append(Fault(status, count, path_contains.lower() if path_contains else None, method))

    def take_fault(self, method: str, path: str) -> int | None:
        for fault in self.faults:
            if fault.remaining <= 0:
                continue
            if fault.method and fault.method.upper() != method.upper():
                continue
            if fault.path_contains and fault.path_contains not in path.lower():
                continue
            fault.remaining -= 1
            return fault.status
        return None

    # --- scans --------------------------------------------------------------------------------------
    def start_scan(self, library_id: str | None = None) -> None:
        """Queue a scan (all libraries, or one) as a background task, like ``/Library/Refresh``."""
        from providers.simulator.scanner import run_scan

        if library_id is None:
            self.scan_task.state = "Running"
            self.scan_task.progress = 0.0
            self.scan_task.last_start = utcnow()
            targets = [lib for lib in self.libraries.values() if not lib.catalog]
        else:
            targets = [self.libraries[library_id]] if library_id in self.libraries else []
        for library in targets:
            library.refresh_status = "Active"
            library.refresh_progress = 0.0
        job = asyncio.get_running_loop().create_task(run_scan(self, targets, whole=library_id is None))
        self._scan_jobs.add(job)
        job.add_done_callback(self._scan_jobs.discard)

    async def wait_scans(self) -> None:
        while self._scan_jobs:
            await asyncio.gather(*list(self._scan_jobs))
