"""User folds and the cross-validated choice of a method's setting."""

from __future__ import annotations

import pytest

from sidecar.evaluation.cross_validation import choose_setting, cross_validate
from sidecar.evaluation.folds import new_user_sizes, newest, user_folds


def test_user_folds_partition_the_users_deterministically_and_evenly() -> None:
    users = list(range(100, 123))
    folds = user_folds(users, 5)
    assert sorted(u for f in folds for u in f) == users
    assert {len(f) for f in folds} <= {4, 5}
    assert folds == user_folds(list(reversed(users)), 5)
    # neighbouring ids (one household) do not all land in one fold
    assert len({next(k for k, f in enumerate(folds) if u in f) for u in users[:8]}) > 1
    with pytest.raises(ValueError):
        user_folds(users, 1)


def test_new_users_keep_their_last_zero_to_three_titles() -> None:
    assert new_user_sizes([7, 3, 5, 9, 11]) == {3: 0, 5: 1, 7: 2, 9: 3, 11: 0}
    assert newest(["a", "b", "c", "d"], 3) == ["b", "c", "d"]
    assert newest(["a", "b"], 3) == ["a", "b"]
    assert newest(["a", "b"], 0) == []


def test_a_gain_within_noise_keeps_the_simpler_setting() -> None:
    users = range(40)
    simple = {u: (0.10 + (0.05 if u % 2 else -0.05), 0.0) for u in users}
    noisy_gain = {u: (simple[u][0] + (0.011 if u % 2 else -0.009), 0.0) for u in users}  # +0.001, noise 0.01
    clear_gain = {u: (simple[u][0] + 0.02, 0.0) for u in users}
    assert choose_setting([simple, noisy_gain], users) == 0
    assert choose_setting([simple, clear_gain], users) == 1
    assert choose_setting([simple], users) == 0


def test_each_fold_is_scored_with_a_setting_chosen_without_it() -> None:
    folds = [[0, 1, 2, 3], [4, 5, 6, 7]]
    # setting "b" is far better on fold 0 only, "a" slightly better on fold 1: fold 0 must be
    # scored with what fold 1 prefers ("a"), and fold 1 with "b"
    a = {u: (0.2 if u >= 4 else 0.1, 0.5) for u in range(8)}
    b = {u: (0.9 if u < 4 else 0.0, 0.5) for u in range(8)}
    scores = cross_validate(["a", "b"], [a, b], folds)
    assert scores.chosen == ("a", "b")
    assert scores.ndcg == (pytest.approx(0.1), pytest.approx(0.0))
    assert scores.users == 8 and scores.recall_mean == 0.5
    assert scores.ndcg_spread == pytest.approx(0.0707, abs=1e-4)
