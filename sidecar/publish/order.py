"""Where each title sits in a published library: a sort slot that survives other titles moving.

The server lists a library by sort title (and "date added" for "newest first"), both written in each
title's NFO. Numbering titles 1..n meant a new pick at rank 1 shifted every other title's number, so
every NFO was rewritten and re-read by the server on each playback. Instead each title gets a *slot*,
an integer key: slots increase in pick order, so sorting by slot is the pick order, but the gaps
between them let a title keep its slot (and its unchanged files) while titles around it come and go.

``assign_slots`` keeps the slots of the longest run of titles that are still in increasing order (a
longest increasing subsequence: the fewest titles move) and gives the others slots in the gaps between
their kept neighbours. Only when a gap is too narrow is the whole library renumbered, as before.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

SLOT_DIGITS = 7
SLOT_MAX = 10**SLOT_DIGITS - 1
SPACING = 1 << 14
"""Between neighbours in a fresh layout: 14 insertions into one gap, or hundreds at either end, fit."""


def fresh_slots(count: int) -> list[int]:
    """``count`` increasing slots, evenly spaced and centred, so titles can be added on either side."""
    if count <= 0:
        return []
    step = min(SPACING, (SLOT_MAX + 1) // (count + 1))
    start = (SLOT_MAX + 1) // 2 - step * (count - 1) // 2
    return [start + step * n for n in range(count)]


def _longest_increasing(values: Sequence[int | None]) -> set[int]:
    """Indices of a longest strictly increasing subsequence of the non-None values."""
    tails: list[int] = []  # smallest last value of an increasing run of each length
    tail_index: list[int] = []
    previous: dict[int, int | None] = {}
    for index, value in enumerate(values):
        if value is None:
            continue
        length = bisect.bisect_left(tails, value)
        previous[index] = tail_index[length - 1] if length else None
        if length == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[length] = value
            tail_index[length] = index
    kept: set[int] = set()
    cursor: int | None = tail_index[-1] if tail_index else None
    while cursor is not None:
        kept.add(cursor)
        cursor = previous[cursor]
    return kept


def _fill(low: int, high: int, count: int, *, open_below: bool, open_above: bool) -> list[int] | None:
    """``count`` increasing slots strictly between ``low`` and ``high``; None when they do not fit.
    Before the first kept title (``open_below``) or after the last (``open_above``) they are spaced
    like a fresh layout, so the next titles added at that end fit too."""
    if open_below and high - SPACING * count > low:
        return [high - SPACING * (count - n) for n in range(count)]
    if open_above and low + SPACING * count < high:
        return [low + SPACING * (n + 1) for n in range(count)]
    step = (high - low) // (count + 1)
    if step < 1:
        return None
    return [low + step * (n + 1) for n in range(count)]


def assign_slots(folders: Sequence[str], previous: Mapping[str, int]) -> list[int]:
    """Slots for ``folders`` (in pick order), reusing ``previous`` slots (folder -> slot) where the order
    allows; strictly increasing."""
    old = [previous.get(f) if 0 < previous.get(f, 0) <= SLOT_MAX else None for f in folders]
    kept = _longest_increasing(old)
    if not kept:
        return fresh_slots(len(folders))
    slots: list[int | None] = [old[i] if i in kept else None for i in range(len(folders))]
    index = 0
    while index < len(slots):
        if slots[index] is not None:
            index += 1
            continue
        end = index
        while end < len(slots) and slots[end] is None:
            end += 1
        low = slots[index - 1] if index > 0 else 0
        high = slots[end] if end < len(slots) else SLOT_MAX + 1
        filled = _fill(int(low or 0), int(high or 0), end - index, open_below=index == 0, open_above=end == len(slots))
        if filled is None:
            return fresh_slots(len(folders))
        slots[index:end] = filled
        index = end
    return [int(s or 0) for s in slots]
