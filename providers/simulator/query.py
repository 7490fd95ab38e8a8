"""The ``/Items`` query engine: filters, sorting and paging over the in-memory items.

The filtered, sorted id list of a query is cached per state version, so paging through a large
library costs one filter pass and then a slice per page.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from providers.simulator import playlist_sharing
from providers.simulator.catalogue_index import FOLDER_PLAYED
from providers.simulator.model import SimItem, SimUser, SimUserData

if TYPE_CHECKING:
    from providers.simulator.state import Simulator


class QueryError(ValueError):
    pass


def _bool(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise QueryError(f"'{value}' is not a boolean")


def _list(value: str | None, sep: str = ",") -> list[str]:
    return [v.strip() for v in (value or "").split(sep) if v.strip()]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        # An unencoded "+00:00" offset arrives as " 00:00".
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value)
    except ValueError as exc:
        raise QueryError(f"'{value}' is not a date") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class ItemQuery:
    user: SimUser | None
    parent_id: str | None
    recursive: bool
    include_types: frozenset[str]
    exclude_types: frozenset[str]
    ids: tuple[str, ...] | None
    is_played: bool | None
    is_favorite: bool | None
    filters: frozenset[str]
    min_date_last_saved: datetime | None
    min_date_last_saved_for_user: datetime | None
    search: str | None
    years: frozenset[int]
    genres: frozenset[str]
    sort_by: tuple[str, ...]
    sort_order: tuple[str, ...]
    media_types: frozenset[str]
    any_provider_id: tuple[str, str] | None
    path: str | None

    @classmethod
    def parse(cls, q: dict[str, str], user: SimUser | None, normalise_id: Callable[[str], str]) -> ItemQuery:
        provider = None
        if q.get("anyprovideridequals"):
            key, _, value = q["anyprovideridequals"].partition(".")
            provider = (key.lower(), value)
        ids = tuple(normalise_id(i) for i in _list(q.get("ids"))) if q.get("ids") else None
        try:
            years = frozenset(int(y) for y in _list(q.get("years")))
        except ValueError as exc:
            raise QueryError("years must be numbers") from exc
        return cls(
            user=user,
            parent_id=normalise_id(q["parentid"]) if q.get("parentid") else None,
            recursive=bool(_bool(q.get("recursive"))),
            include_types=frozenset(t.lower() for t in _list(q.get("includeitemtypes"))),
            exclude_types=frozenset(t.lower() for t in _list(q.get("excludeitemtypes"))),
            ids=ids,
            is_played=_bool(q.get("isplayed")),
            is_favorite=_bool(q.get("isfavorite")),
            filters=frozenset(f.lower() for f in _list(q.get("filters"))),
            min_date_last_saved=_date(q.get("mindatelastsaved")),
            min_date_last_saved_for_user=_date(q.get("mindatelastsavedforuser")),
            search=(q.get("searchterm") or "").lower() or None,
            years=years,
            genres=frozenset(g.lower() for g in _list(q.get("genres"), "|")),
            sort_by=tuple(s.lower() for s in _list(q.get("sortby"))),
            sort_order=tuple(s.lower() for s in _list(q.get("sortorder"))),
            media_types=frozenset(m.lower() for m in _list(q.get("mediatypes"))),
            any_provider_id=provider,
            path=q.get("path"),
        )

    def cache_key(self) -> tuple[object, ...]:
        return (
            self.user.id if self.user else None,
            self.parent_id,
            self.recursive,
            self.include_types,
            self.exclude_types,
            self.ids,
            self.is_played,
            self.is_favorite,
            self.filters,
            self.min_date_last_saved,
            self.min_date_last_saved_for_user,
            self.search,
            self.years,
            self.genres,
            self.sort_by,
            self.sort_order,
            self.media_types,
            self.any_provider_id,
            self.path,
        )


def _needs_user(query: ItemQuery) -> bool:
    return bool(
        query.is_played is not None
        or query.is_favorite is not None
        or query.min_date_last_saved_for_user
        or query.filters & {"isplayed", "isunplayed", "isfavorite", "isresumable", "isfavoriteorlikes", "likes"}
    )


def _needs_played(query: ItemQuery) -> bool:
    return query.is_played is not None or bool(query.filters & {"isplayed", "isunplayed"})


def _user_data_matches(query: ItemQuery, data: SimUserData, played: bool) -> bool:
    if query.is_played is not None and played != query.is_played:
        return False
    if query.is_favorite is not None and data.is_favorite != query.is_favorite:
        return False
    if "isplayed" in query.filters and not played:
        return False
    if "isunplayed" in query.filters and played:
        return False
    if "isfavorite" in query.filters and not data.is_favorite:
        return False
    if "isfavoriteorlikes" in query.filters and not (data.is_favorite or data.likes):
        return False
    if "isresumable" in query.filters and data.position_ticks <= 0:
        return False
    return not (query.min_date_last_saved_for_user and data.last_saved < query.min_date_last_saved_for_user)


class QueryEngine:
    """``indexed=False`` checks every item in scope, the reference the indexed answers are tested against."""

    def __init__(self, sim: Simulator, *, indexed: bool = True) -> None:
        self.sim = sim
        self.indexed = indexed
        self._cache: OrderedDict[tuple[object, ...], list[str]] = OrderedDict()
        self._cache_version = -1

    def _user_data_scope(self, query: ItemQuery) -> set[str] | None:
        """When an item without user data cannot match (played, favourite, saved since…), the ids of the only
        items that can: those whose data this user has (saved since the date, if one is asked for), and
        series and seasons, played by their episodes. ``None`` when the query is not narrowed that way."""
        user = query.user
        if user is None or query.ids is not None or not _needs_user(query):
            return None
        no_data = SimUserData(last_saved=self.sim.epoch)
        if _user_data_matches(query, no_data, False):
            return None
        store, index = self.sim.user_data, self.sim.catalogue_index()
        since = query.min_date_last_saved_for_user
        keys = store.saved_since(user.id, since) if since else store.of_user(user.id).keys()
        scope = {i for key in keys for i in index.by_key.get(key, ())}
        types = query.include_types
        if _user_data_matches(query, no_data, True) and (not types or types & {"series", "season"}):
            scope.update(index.folders)
        return scope

    def _scoped_candidates(self, query: ItemQuery) -> Iterable[SimItem]:
        scope = self._user_data_scope(query) if self.indexed else None
        if scope is None:
            return self._candidates(query)
        sim = self.sim
        if query.parent_id is None and query.recursive:  # the whole catalogue: no need to visit it
            position = sim.catalogue_index().position
            return [sim.items[i] for i in sorted(scope, key=position.__getitem__)]
        return [i for i in self._candidates(query) if i.id in scope]

    def visible_libraries(self, user: SimUser | None) -> set[str]:
        sim = self.sim
        if user is None or user.policy.get("EnableAllFolders", True):
            return set(sim.libraries)
        enabled = {str(f).replace("-", "").lower() for f in user.policy.get("EnabledFolders") or []}
        return {
            lib.id for lib in sim.libraries.values() if lib.id.lower() in enabled or lib.collection_type == "boxsets"
        }

    def _candidates(self, query: ItemQuery) -> Iterable[SimItem]:
        sim = self.sim
        if query.ids is not None:
            return [sim.items[i] for i in query.ids if i in sim.items]
        if query.parent_id is not None:
            parent = sim.items.get(query.parent_id)
            if parent is None:
                return []
            if parent.type == "BoxSet":
                members = [sim.items[i] for i in parent.children if i in sim.items]
                return members
            if parent.type == "CollectionFolder":
                library = sim.libraries.get(parent.id)
                if library is None:
                    return []
                items = (sim.items[i] for i in library.item_ids if i in sim.items)
                return list(items) if query.recursive else [i for i in items if i.parent_id == parent.id]
            if query.recursive:
                return sim.descendants(parent)
            return [sim.items[i] for i in parent.children if i in sim.items]
        if not query.recursive:
            visible = self.visible_libraries(query.user)
            return [sim.items[lib] for lib in sim.libraries if lib in visible and lib in sim.items]
        return list(sim.items.values())

    def _matches(self, item: SimItem, query: ItemQuery, visible: set[str]) -> bool:
        sim = self.sim
        if item.type == "CollectionFolder" and query.parent_id is None and query.recursive and query.ids is None:
            return False
        if query.include_types and item.type.lower() not in query.include_types:
            return False
        if item.type.lower() in query.exclude_types:
            return False
        if item.library_id is not None and item.library_id not in visible:
            return False
        if item.type == "Playlist" and query.user is not None and not playlist_sharing.visible_to(item, query.user):
            return False
        if query.search and query.search not in item.name.lower():
            return False
        if query.years and item.year not in query.years:
            return False
        if query.genres and not query.genres & {g.lower() for g in item.genres}:
            return False
        if query.media_types and ("video" if not item.is_folder else "unknown") not in query.media_types:
            return False
        if query.min_date_last_saved and item.date_last_saved < query.min_date_last_saved:
            return False
        if query.any_provider_id:
            key, value = query.any_provider_id
            if {k.lower(): v for k, v in item.provider_ids.items()}.get(key) != value:
                return False
        if query.path and item.path != query.path:
            return False
        if "isfolder" in query.filters and not item.is_folder:
            return False
        if "isnotfolder" in query.filters and item.is_folder:
            return False
        user = query.user
        if _needs_user(query):
            if user is None:
                return False
            data = sim.get_user_data(user.id, item)
            played = data.played
            if item.type in FOLDER_PLAYED and _needs_played(query):
                watched, total = sim.folder_counts(user.id, item)
                played = total > 0 and watched == total
            return _user_data_matches(query, data, played)
        return True

    def _sort(self, items: list[SimItem], query: ItemQuery) -> list[SimItem]:
        sim = self.sim
        keys = [k for k in query.sort_by if k != "default"]
        if not keys:
            return items
        user = query.user

        def key_fn(name: str) -> Callable[[SimItem], object]:
            if name in ("sortname", "name"):
                return lambda i: i.sort_name if name == "sortname" else i.name.lower()
            if name == "datecreated":
                return lambda i: i.date_created
            if name in ("premieredate", "productionyear"):
                return lambda i: (i.year or 0, i.premiere_date.timestamp() if i.premiere_date else 0)
            if name == "communityrating":
                return lambda i: i.community_rating or 0.0
            if name == "criticrating":
                return lambda i: i.critic_rating or 0.0
            if name == "runtime":
                return lambda i: i.runtime_ticks or 0
            if name == "indexnumber":
                return lambda i: i.index_number or 0
            if name == "parentindexnumber":
                return lambda i: i.parent_index_number or 0
            if name in ("dateplayed", "playcount") and user is not None:
                if name == "dateplayed":
                    return lambda i: (sim.get_user_data(user.id, i).last_played or sim.epoch).timestamp()
                return lambda i: sim.get_user_data(user.id, i).play_count
            if name == "random":
                rng = random.Random(sim.version_counter)
                return lambda i: rng.random()
            if name == "seriessortname":
                return lambda i: (
                    sim.items[i.series_id].sort_name if i.series_id and i.series_id in sim.items else i.sort_name
                )
            if name == "officialrating":
                return lambda i: i.official_rating or ""
            if name == "isfolder":
                return lambda i: i.is_folder
            if name == "datelastcontentadded":
                return lambda i: i.date_created
            if name == "airedepisodeorder":
                return lambda i: (i.parent_index_number or 0, i.index_number or 0)
            if name == "studio":
                return lambda i: i.studios[0].lower() if i.studios else ""
            if name in ("isplayed", "isunplayed", "isfavoriteorliked", "seriesdateplayed") and user is not None:
                if name == "isfavoriteorliked":
                    return lambda i: sim.get_user_data(user.id, i).is_favorite
                if name == "seriesdateplayed":
                    return lambda i: (sim.get_user_data(user.id, i).last_played or sim.epoch).timestamp()
                return lambda i: sim.get_user_data(user.id, i).played == (name == "isplayed")
            # The rest (Album, Artist, VideoBitRate, StartDate, AirTime…) are valid but equal for every video
            # item here, so like the server they leave the order to the next key.
            return lambda i: 0

        ordered = list(items)
        for n in range(len(keys) - 1, -1, -1):
            order = (
                query.sort_order[n]
                if n < len(query.sort_order)
                else (query.sort_order[-1] if query.sort_order else "ascending")
            )
            ordered.sort(key=key_fn(keys[n]), reverse=order == "descending")  # type: ignore[arg-type]
        return ordered

    def run(self, query: ItemQuery) -> list[str]:
        if self._cache_version != self.sim.version_counter:
            self._cache.clear()
            self._cache_version = self.sim.version_counter
        key = query.cache_key()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        visible = self.visible_libraries(query.user)
        matched = [i for i in self._scoped_candidates(query) if self._matches(i, query, visible)]
        default_sort = query.parent_id is None or self.sim.items.get(query.parent_id, SimItem("", "", "")).type not in (
            "BoxSet",
        )
        if not query.sort_by and default_sort and query.ids is None:
            matched.sort(key=lambda i: i.sort_name)
        elif query.sort_by:
            matched = self._sort(matched, query)
        elif query.parent_id and self.sim.items[query.parent_id].type == "BoxSet":
            matched = self._boxset_order(self.sim.items[query.parent_id], matched)
        ids = [i.id for i in matched]
        self._cache[key] = ids
        if len(self._cache) > 16:
            self._cache.popitem(last=False)
        return ids

    def _boxset_order(self, boxset: SimItem, members: list[SimItem]) -> list[SimItem]:
        order = (boxset.display_order or "").lower()
        if order == "sortname":
            return sorted(members, key=lambda i: i.sort_name)
        if order == "premieredate":
            return sorted(members, key=lambda i: (i.premiere_date.timestamp() if i.premiere_date else 0, i.sort_name))
        return members
