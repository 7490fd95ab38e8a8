"""Plain facts about a user's taste, for the taste-profile text (template or LLM) and the explanations.

The user's positive events (played, favourite or half watched) in the catalogue, newest first and at most
``recent_limit`` of them, each weighted as the taste is (``history_weights``: recency, completion,
favourite, repeat plays). Genres, decades and the first four credited people of each title add up those
weights; nothing is inferred beyond that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sidecar.recommender.prepared_model import PreparedModel, positive_event
from sidecar.recommender.taste import history_weights
from sidecar.recommender.types import WatchEvent

TOP = 5
PEOPLE_PER_TITLE = 4

K = TypeVar("K", str, int)


@dataclass(frozen=True, slots=True)
class TasteSummary:
    """Everything here is read off the history; nothing is inferred beyond weighted counting."""

    titles_watched: int
    top_genres: tuple[str, ...]  # by summed weight, largest first
    recent_titles: tuple[str, ...]  # newest first
    favourite_titles: tuple[str, ...]  # newest first
    frequent_people: tuple[str, ...]  # among the heaviest people, those credited on at least two titles
    typical_decade: int | None  # the decade with the largest summed weight


def summarise_taste(model: PreparedModel, history: Sequence[WatchEvent], recent_limit: int = 100) -> TasteSummary:
    events = [e for e in history if e.item_id in model.index and positive_event(e)]
    events.sort(key=lambda e: (-(e.last_played or 0.0), e.item_id))
    events = events[:recent_limit]
    weights = history_weights(events).tolist() if events else []
    genres: defaultdict[str, float] = defaultdict(float)
    decades: defaultdict[int, float] = defaultdict(float)
    people: defaultdict[str, float] = defaultdict(float)
    appearances: defaultdict[str, int] = defaultdict(int)
    items = [model.items[model.index[e.item_id]] for e in events]
    for item, weight in zip(items, weights, strict=True):
        for genre in item.genres:
            genres[genre] += weight
        if item.year:
            decades[item.year // 10 * 10] += weight
        for person in item.people[:PEOPLE_PER_TITLE]:
            people[person] += weight
            appearances[person] += 1
    titles = [item.title for item in items]
    return TasteSummary(
        titles_watched=len(events),
        top_genres=tuple(g for g, _ in _top(genres)),
        recent_titles=tuple(titles[:TOP]),
        favourite_titles=tuple(t for t, e in zip(titles, events, strict=True) if e.favourite)[:TOP],
        frequent_people=tuple(p for p, _ in _top(people) if appearances[p] >= 2),
        typical_decade=_top(decades, 1)[0][0] if decades else None,
    )


def _top(counter: Mapping[K, float], n: int = TOP) -> list[tuple[K, float]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
