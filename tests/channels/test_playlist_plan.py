"""Planning a playlist's update in place: what to remove (by entry id), append and move, on any starting state."""

from __future__ import annotations

import random

import pytest

from providers.base import PlaylistEntry
from sidecar.channel_playlists import plan_moves, plan_playlist


def _entries(item_ids: list[str]) -> list[PlaylistEntry]:
    return [PlaylistEntry(entry_id=f"e{n}-{i}", item_id=i, name=i) for n, i in enumerate(item_ids)]


def _apply(entries: list[PlaylistEntry], wanted: list[str]) -> tuple[list[str], int]:
    """Run a plan as a server would: remove, append, then each move (take out, insert at index)."""
    plan = plan_playlist(entries, wanted)
    kept = [e for e in entries if e.entry_id not in set(plan.remove)]
    kept += [PlaylistEntry(entry_id=f"new-{i}", item_id=i, name=i) for i in plan.add]
    moves = plan_moves(kept, wanted)
    for entry_id, index in moves:
        entry = next(e for e in kept if e.entry_id == entry_id)
        kept.remove(entry)
        kept.insert(index, entry)
    return [e.item_id for e in kept], len(moves)


def test_a_synced_playlist_needs_nothing() -> None:
    entries = _entries(["a", "b", "c"])
    plan = plan_playlist(entries, ["a", "b", "c"])
    assert plan.empty and plan_moves(entries, ["a", "b", "c"]) == []


def test_removals_are_entry_ids_and_repeats_go() -> None:
    entries = _entries(["a", "x", "b", "a"])
    plan = plan_playlist(entries, ["a", "b", "c"])
    assert plan.remove == ["e1-x", "e3-a"]  # the entry ids, not the item ids; the second "a" is a repeat
    assert plan.add == ["c"]


def test_ids_compare_without_dashes_or_case() -> None:
    entries = [PlaylistEntry(entry_id="1", item_id="ABCD-EF", name="t")]
    assert plan_playlist(entries, ["abcdef"]).empty


@pytest.mark.parametrize("seed", range(25))
def test_any_start_ends_in_the_wanted_order(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"i{n}" for n in range(12)]
    start = [rng.choice(pool) for _ in range(rng.randint(0, 10))]
    wanted = rng.sample(pool, rng.randint(0, 10))
    held, moves = _apply(_entries(start), wanted)
    assert held == wanted
    assert moves <= len(wanted)
