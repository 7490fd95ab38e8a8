"""Episodes roll up to their series: one `WatchEvent` per series and user."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sidecar.recommender.types import WatchEvent

STARTED_FRACTION = 0.05


def rollup_series_history(
    episode_events: Sequence[WatchEvent],
    episode_series: Mapping[str, str],
    episodes_per_series: Mapping[str, int],
    favourite_series: Sequence[str] = (),
) -> list[WatchEvent]:
    """Turn one user's episode events into series events.

    completion = distinct episodes played / episodes in the series; the series counts as
    `played` when every episode was; `position_fraction` is 1 for a series that was started
    but not finished, so it is never recommended (it belongs in "continue watching").
    Episodes of unknown series are ignored. Output is sorted by series id.
    """
    played: dict[str, set[str]] = defaultdict(set)
    touched: dict[str, set[str]] = defaultdict(set)
    last: dict[str, float | None] = {}
    plays: dict[str, int] = defaultdict(int)
    favourite: dict[str, bool] = defaultdict(bool)
    for e in episode_events:
        series = episode_series.get(e.item_id)
        if series is None:
            continue
        if e.played or e.position_fraction >= STARTED_FRACTION:
            touched[series].add(e.item_id)
        if e.played:
            played[series].add(e.item_id)
            plays[series] += max(1, e.play_count)
        favourite[series] |= e.favourite
        if e.last_played is not None:
            previous = last.get(series)
            last[series] = e.last_played if previous is None else max(previous, e.last_played)
        else:
            last.setdefault(series, None)
    for series in favourite_series:
        favourite[series] = True
        last.setdefault(series, None)
    out: list[WatchEvent] = []
    for series in sorted(set(touched) | set(favourite)):
        total = max(episodes_per_series.get(series, 0), len(played[series]), 1)
        completion = len(played[series]) / total
        done = completion >= 1.0
        out.append(
            WatchEvent(
                item_id=series,
                last_played=last.get(series),
                play_count=plays[series],
                played=done,
                favourite=favourite[series],
                position_fraction=1.0 if touched[series] and not done else 0.0,
                completion=completion,
            )
        )
    return out
