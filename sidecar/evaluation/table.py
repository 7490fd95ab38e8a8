"""The cross-validated table `marquee evaluate` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sidecar.evaluation.cross_validation import FoldScores

REGIME_LABELS = {
    "community": "community",
    "household": "household",
    "community-new": "community, new users (<= 3 titles)",
    "household-new": "household, new users (<= 3 titles)",
}


@dataclass(frozen=True, slots=True)
class TableRow:
    regime: str
    method: str
    scores: FoldScores


def _settings(chosen: Sequence[str]) -> str:
    counts = Counter(chosen)
    if len(counts) <= 1:
        return next(iter(counts), "-")
    return ", ".join(f"{label} x{n}" for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def format_table(rows: Sequence[TableRow], *, folds: int, users: int, seconds: float) -> list[str]:
    """Header, one line per (regime, method) as `regime method NDCG@10 m ± s Recall@20 m ± s ...`, and
    each regime's best baseline against Marquee."""
    lines = [
        f"cross-validated over {folds} user folds of {users} users: mean ± spread (sample std of the folds' means);",
        "each fold is scored with the setting chosen on the other folds (the simplest within one standard error);",
        "new users: each fold's users keep only their last 0, 1, 2 or 3 history titles, everyone else unchanged",
        "",
        f"{'regime':<15} {'method':<13} {'NDCG@10':<17} {'Recall@20':<17} {'users':>5}  setting (folds)",
    ]
    for row in rows:
        s = row.scores
        lines.append(
            f"{row.regime:<15} {row.method:<13} {s.ndcg_mean:.4f} ± {s.ndcg_spread:.4f}  "
            f"{s.recall_mean:.4f} ± {s.recall_spread:.4f}  {s.users:>5}  {_settings(s.chosen)}"
        )
    lines.append("")
    for regime in dict.fromkeys(r.regime for r in rows):
        in_regime = {r.method: r.scores for r in rows if r.regime == regime}
        ours = in_regime.get("marquee")
        others = {m: s for m, s in in_regime.items() if not m.startswith("marquee")}
        if ours is None or not others:
            continue
        best = max(others, key=lambda m: others[m].ndcg_mean)
        base = others[best].ndcg_mean
        ratio = f"{ours.ndcg_mean / base:.2f}x" if base > 0 else "n/a"
        label = REGIME_LABELS.get(regime, regime)
        lines.append(f"{label}: marquee {ours.ndcg_mean:.4f} = {ratio} the best baseline ({best} {base:.4f})")
    lines.append(f"run time {seconds:.0f} s")
    return lines
