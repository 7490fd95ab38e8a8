"""``Simulator.items`` and the index a user-data query needs over it: which items share each user-data key.

User data is stored by key (movies share it by external id, a scanned copy with its source), so turning
"this user's data saved since T" into items needs key → items. The index is rebuilt on first use after the
item table changed, so user-data changes (plays, marks) never rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from providers.simulator.model import SimItem

if TYPE_CHECKING:
    from providers.simulator.state import Simulator

FOLDER_PLAYED = ("Series", "Season")
"""Their played state comes from their episodes, not from their own user data."""


class ItemTable(dict[str, SimItem]):
    """A dict of items that counts its changes. Changing an item's provider ids or ``source_id`` in place
    changes its user-data key: call ``mark_changed()`` after that."""

    changes = 0

    def mark_changed(self) -> None:
        self.changes += 1

    def __setitem__(self, key: str, value: SimItem) -> None:
        self.changes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changes += 1
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.changes += 1
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, SimItem]:
        self.changes += 1
        return super().popitem()

    def setdefault(self, key: str, default: SimItem) -> SimItem:
        self.changes += 1
        return super().setdefault(key, default)

    def clear(self) -> None:
        self.changes += 1
        super().clear()

    def update(self, *args: Any, **kwargs: SimItem) -> None:
        self.changes += 1
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> ItemTable:  # type: ignore[override,misc]
        self.changes += 1
        super().update(other)
        return self


@dataclass(frozen=True, slots=True)
class CatalogueIndex:
    changes: int
    """``ItemTable.changes`` when built."""
    by_key: Mapping[str, list[str]]
    """User-data key → ids of the items that share it, in catalogue order."""
    position: Mapping[str, int]
    """Item id → its place in the item table's order (the order a full scan visits items in)."""
    folders: list[str]
    """Series and seasons, in catalogue order."""

    @classmethod
    def build(cls, sim: Simulator, changes: int) -> CatalogueIndex:
        by_key: dict[str, list[str]] = {}
        position: dict[str, int] = {}
        folders: list[str] = []
        data_key = sim.data_key
        for n, (item_id, item) in enumerate(sim.items.items()):
            position[item_id] = n
            by_key.setdefault(data_key(item), []).append(item_id)
            if item.type in FOLDER_PLAYED:
                folders.append(item_id)
        return cls(changes, by_key, position, folders)

    def items_for(self, keys: Iterable[str]) -> list[str]:
        """The ids of the items holding any of these keys, in catalogue order."""
        found = [i for key in keys for i in self.by_key.get(key, ())]
        found.sort(key=self.position.__getitem__)
        return found
