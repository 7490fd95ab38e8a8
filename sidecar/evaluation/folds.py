"""User folds for cross-validation, and the "new user" view of a history.

Folds partition the evaluated users, not the plays: a user's score is always computed with their
own test titles hidden, and a fold's score only ever comes from settings chosen on the other folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

FOLD_SEED = 17
NEW_USER_MAX_TITLES = 3


def user_folds(users: Sequence[int], k: int, seed: int = FOLD_SEED) -> list[list[int]]:
    """`k` disjoint folds of `users` (sorted inside each fold), of sizes differing by at most one.

    A fixed shuffle of the sorted ids, so households (neighbouring ids) spread over every fold and the
    same data always gives the same folds.
    """
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    ordered = sorted(users)
    if len(ordered) < k:
        raise ValueError(f"{len(ordered)} users cannot make {k} folds")
    order = np.random.default_rng(seed).permutation(len(ordered))
    return [sorted(ordered[int(i)] for i in order[f::k]) for f in range(k)]


def new_user_sizes(users: Sequence[int], max_titles: int = NEW_USER_MAX_TITLES) -> dict[int, int]:
    """How many titles each user keeps as a new user: 0, 1, ..., `max_titles` in turn over sorted ids."""
    return {u: n % (max_titles + 1) for n, u in enumerate(sorted(users))}


def newest(events: Sequence[T], keep: int) -> list[T]:
    """The last `keep` events of a chronological history (none for 0)."""
    return list(events[max(0, len(events) - keep) :]) if keep > 0 else []
