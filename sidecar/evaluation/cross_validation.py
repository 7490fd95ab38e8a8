"""Cross-validated scores: each fold is scored with the settings chosen on the other folds.

A method comes with candidate settings ordered simplest first. On the training folds the simplest
setting whose NDCG@10 is within one standard error of the best one's (paired over the same users)
is chosen, so a gain that is within noise never buys complexity; the held-out fold is then scored
with it. A method with one setting is simply averaged per fold.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PerUser = Mapping[int, tuple[float, float]]  # user -> (NDCG@10, Recall@20)


@dataclass(frozen=True, slots=True)
class FoldScores:
    """One method's scores per held-out fold, and the setting each fold was scored with."""

    ndcg: tuple[float, ...]
    recall: tuple[float, ...]
    chosen: tuple[str, ...]
    users: int

    @property
    def ndcg_mean(self) -> float:
        return float(np.mean(self.ndcg)) if self.ndcg else 0.0

    @property
    def ndcg_spread(self) -> float:
        return _spread(self.ndcg)

    @property
    def recall_mean(self) -> float:
        return float(np.mean(self.recall)) if self.recall else 0.0

    @property
    def recall_spread(self) -> float:
        return _spread(self.recall)


def _spread(values: Sequence[float]) -> float:
    """Sample standard deviation across folds (0 for one fold)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def choose_setting(per_setting: Sequence[PerUser], users: Collection[int]) -> int:
    """Index of the simplest setting within one paired standard error of the best on `users`."""
    if len(per_setting) == 1:
        return 0
    ids = sorted(u for u in users if all(u in s for s in per_setting))
    if not ids:
        return 0
    table = np.array([[s[u][0] for u in ids] for s in per_setting])
    best = int(np.argmax(table.mean(axis=1)))
    for k in range(len(per_setting)):
        gap = table[best] - table[k]
        noise = float(gap.std(ddof=1) / np.sqrt(gap.size)) if gap.size > 1 else 0.0
        if float(gap.mean()) <= noise:
            return k
    return best


def cross_validate(labels: Sequence[str], per_setting: Sequence[PerUser], folds: Sequence[Sequence[int]]) -> FoldScores:
    """Score each fold with the setting chosen on the users of every other fold."""
    if len(labels) != len(per_setting):
        raise ValueError("one label per setting")
    ndcg: list[float] = []
    recall: list[float] = []
    chosen: list[str] = []
    users = 0
    for f, fold in enumerate(folds):
        training = [u for g, other in enumerate(folds) if g != f for u in other]
        k = choose_setting(per_setting, training)
        scored = [per_setting[k][u] for u in fold if u in per_setting[k]]
        if not scored:
            continue
        ndcg.append(float(np.mean([s[0] for s in scored])))
        recall.append(float(np.mean([s[1] for s in scored])))
        chosen.append(labels[k])
        users += len(scored)
    return FoldScores(tuple(ndcg), tuple(recall), tuple(chosen), users)
