"""Top Picks: what this server's users watched most within a time window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.recommender.types import WatchEvent

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class TopPick:
    item_id: str
    score: float  # 0-1
    viewers: int
    plays: int
    completion: float  # mean completion over the viewers


def top_picks(
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    now: float,
    window_days: float = 30.0,
    min_viewers: int = 2,
    count: int = 10,
    weights: tuple[float, float, float] = (0.5, 0.3, 0.2),
    episode_series: Mapping[str, str] | None = None,
    episodes_per_series: Mapping[str, int] | None = None,
) -> list[TopPick]:
    """Rank items by unique viewers, total plays and completion (weights normalised to 1).

    Each signal is divided by its maximum over the eligible items, so the score is in 0-1.
    With `episode_series`, episode events count for their series: plays are episodes played
    and completion is distinct episodes seen / `episodes_per_series`.
    Only events played within `window_days` before `now` count. Ties go to the smaller id.
    """
    since = now - window_days * DAY_S
    viewers: dict[str, set[str]] = defaultdict(set)
    plays: dict[str, int] = defaultdict(int)
    seen_parts: dict[tuple[str, str], set[str]] = defaultdict(set)
    completion_sum: dict[str, float] = defaultdict(float)
    for user, events in histories.items():
        for e in events:
            if e.last_played is None or e.last_played < since or not (e.played or e.position_fraction > 0):
                continue
            item = episode_series.get(e.item_id) if episode_series is not None else e.item_id
            if item is None:
                continue
            viewers[item].add(user)
            plays[item] += max(1, e.play_count) if e.played else 0
            if episode_series is not None:
                if e.played:
                    seen_parts[(item, user)].add(e.item_id)
            else:
                completion_sum[item] += 1.0 if e.played else min(1.0, e.position_fraction)
    if episode_series is not None:
        for (item, _user), episodes in seen_parts.items():
            total = max((episodes_per_series or {}).get(item, 0), len(episodes), 1)
            completion_sum[item] += len(episodes) / total
    eligible = sorted(i for i, v in viewers.items() if len(v) >= min_viewers)
    if not eligible:
        return []
    wv, wp, wc = (max(0.0, w) for w in weights)
    total_w = (wv + wp + wc) or 1.0
    max_v = max(len(viewers[i]) for i in eligible)
    max_p = max(plays[i] for i in eligible) or 1
    rows = []
    for i in eligible:
        completion = completion_sum[i] / len(viewers[i])
        score = (wv * len(viewers[i]) / max_v + wp * plays[i] / max_p + wc * completion) / total_w
        rows.append(TopPick(i, round(score, 6), len(viewers[i]), plays[i], round(completion, 4)))
    rows.sort(key=lambda r: (-r.score, r.item_id))
    return rows[:count]
