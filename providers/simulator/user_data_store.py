"""``Simulator.user_data``: every user's data by (user id, data key), indexed per user and by last save.

A real server answers ``IsPlayed``/``IsFavorite``/``MinDateLastSavedForUser`` from its UserData table through
indexes on the user and on the save time; these are the same two indexes, so such a query costs what the
user's data (or the changes since a date) costs, not what the catalogue costs.

Entries must be stored again (``store[key] = data``, as ``Simulator._save_user_data`` does) after their
``last_saved`` moves forward; changing other fields of a stored entry in place needs nothing.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from datetime import datetime
from typing import TypeVar, overload

from providers.simulator.model import SimUserData

Key = tuple[str, str]
"""(user id, user-data key)"""

_EMPTY: dict[str, SimUserData] = {}
_T = TypeVar("_T")


class UserDataStore(MutableMapping[Key, SimUserData]):
    def __init__(self, entries: Mapping[Key, SimUserData] | Iterable[tuple[Key, SimUserData]] = ()) -> None:
        self._data: dict[Key, SimUserData] = {}
        self._by_user: dict[str, dict[str, SimUserData]] = {}
        # Per user: (last_saved when stored, data key), sorted. An entry goes stale when its key is stored again
        # or deleted; stale entries are skipped when read and dropped when they outnumber the live ones.
        self._saved: dict[str, list[tuple[datetime, str]]] = {}
        self.update(entries)

    # --- the mapping ------------------------------------------------------------------------------------
    def __getitem__(self, key: Key) -> SimUserData:
        return self._data[key]

    @overload
    def get(self, key: Key, /) -> SimUserData | None: ...
    @overload
    def get(self, key: Key, default: SimUserData, /) -> SimUserData: ...
    @overload
    def get(self, key: Key, default: _T, /) -> SimUserData | _T: ...
    def get(self, key: Key, default: object = None, /) -> object:
        return self._data.get(key, default)

    def __setitem__(self, key: Key, data: SimUserData) -> None:
        user_id, data_key = key
        self._data[key] = data
        self._by_user.setdefault(user_id, {})[data_key] = data
        saved = self._saved.setdefault(user_id, [])
        insort(saved, (data.last_saved, data_key))
        if len(saved) > 2 * len(self._by_user[user_id]) + 64:
            self._saved[user_id] = sorted((d.last_saved, k) for k, d in self._by_user[user_id].items())

    def __delitem__(self, key: Key) -> None:
        del self._data[key]
        user_id, data_key = key
        mine = self._by_user[user_id]
        del mine[data_key]
        if not mine:
            del self._by_user[user_id]
            del self._saved[user_id]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Key]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> KeysView[Key]:
        return self._data.keys()

    def values(self) -> ValuesView[SimUserData]:
        return self._data.values()

    def items(self) -> ItemsView[Key, SimUserData]:
        return self._data.items()

    def __repr__(self) -> str:
        return f"UserDataStore({self._data!r})"

    # --- the indexes ------------------------------------------------------------------------------------
    def of_user(self, user_id: str) -> Mapping[str, SimUserData]:
        """The user's data by data key (read-only view; do not keep it across changes)."""
        return self._by_user.get(user_id, _EMPTY)

    def saved_since(self, user_id: str, since: datetime) -> set[str]:
        """The data keys whose entry for this user was saved at or after ``since``."""
        mine = self._by_user.get(user_id)
        if not mine:
            return set()
        saved = self._saved[user_id]
        found: set[str] = set()
        for _, data_key in saved[bisect_left(saved, (since,)) :]:
            live = mine.get(data_key)
            if live is not None and live.last_saved >= since:
                found.add(data_key)
        return found

    def drop_user(self, user_id: str) -> None:
        for data_key in list(self._by_user.get(user_id, ())):
            del self[(user_id, data_key)]
