"""Sort slots: increasing in pick order, kept by as many titles as the new order allows."""

from __future__ import annotations

import itertools
import random

from sidecar.publish.order import SLOT_MAX, SPACING, assign_slots, fresh_slots


def increasing(slots: list[int]) -> bool:
    return all(0 < a < b <= SLOT_MAX for a, b in itertools.pairwise(slots)) and all(0 < s <= SLOT_MAX for s in slots)


def test_a_fresh_layout_is_spaced_and_centred() -> None:
    slots = fresh_slots(5)
    assert increasing(slots)
    assert {b - a for a, b in itertools.pairwise(slots)} == {SPACING}
    assert slots[0] - 0 > SPACING * 100 and SLOT_MAX - slots[-1] > SPACING * 100
    assert increasing(fresh_slots(2000))  # more titles than the spacing allows: closer together


def test_a_new_first_title_moves_nobody() -> None:
    before = dict(zip("bcdef", fresh_slots(5), strict=True))
    after = assign_slots(list("abcdef"), before)
    assert increasing(after)
    assert after[1:] == [before[f] for f in "bcdef"]


def test_a_watched_title_leaving_and_one_moving_up_rewrite_only_the_mover() -> None:
    before = dict(zip("abcdefgh", fresh_slots(8), strict=True))
    order = list("afbcegh")  # d watched (gone), f moved up two places
    after = assign_slots(order, before)
    assert increasing(after)
    moved = [f for f, slot in zip(order, after, strict=True) if before[f] != slot]
    assert moved == ["f"]


def test_a_reversed_list_keeps_one_slot_and_stays_ordered() -> None:
    before = dict(zip("abcd", fresh_slots(4), strict=True))
    after = assign_slots(list("dcba"), before)
    assert increasing(after)
    assert sum(before[f] == s for f, s in zip("dcba", after, strict=True)) == 1


def test_a_full_gap_renumbers_the_library() -> None:
    before = {"a": 10, "b": 11}
    after = assign_slots(["a", "x", "b"], before)
    assert increasing(after) and after == fresh_slots(3)


def test_many_rounds_of_changes_always_give_increasing_slots() -> None:
    rng = random.Random(4)
    pool = [f"t{n}" for n in range(300)]
    order = pool[:50]
    slots = dict(zip(order, assign_slots(order, {}), strict=True))
    for _ in range(400):
        order = [t for t in order if rng.random() > 0.05]
        for _ in range(rng.randint(0, 4)):
            order.insert(rng.randint(0, len(order)), rng.choice([t for t in pool if t not in order]))
        if rng.random() < 0.3 and len(order) > 2:
            order.insert(rng.randint(0, len(order) - 1), order.pop(rng.randrange(len(order))))
        new = assign_slots(order, slots)
        assert increasing(new)
        slots = dict(zip(order, new, strict=True))
