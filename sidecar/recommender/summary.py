"""Plain facts about a user's taste, for the taste-profile text (template or LLM)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sidecar.recommender.catalogue import PreparedModel
from sidecar.recommender.taste import build_taste
from sidecar.recommender.types import WatchEvent

TOP = 5


@dataclass(frozen=True, slots=True)
class TasteSummary:
    """Everything here is read off the history; nothing is inferred beyond counting."""

    titles_watched: int
    top_genres: tuple[str, ...]  # by recency-weighted share, largest first
    recent_titles: tuple[str, ...]  # newest first
    favourite_titles: tuple[str, ...]
    frequent_people: tuple[str, ...]  # people credited on at least two watched titles
    typical_decade: int | None


def summarise_taste(model: PreparedModel, history: Sequence[WatchEvent], recent_limit: int = 100) -> TasteSummary:
    taste = build_taste(model, history, recent_limit)
    if taste is None:
        return TasteSummary(0, (), (), (), (), None)
    items = [model.items[int(p)] for p in taste.positions]
    order = np.lexsort((np.arange(len(model.genres)), -taste.genre_share))
    genres = tuple(model.genres[int(g)] for g in order if taste.genre_share[g] > 0)[:TOP]
    favourite_ids = {e.item_id for e in history if e.favourite}
    people = Counter(p for it in items for p in dict.fromkeys(it.people))
    frequent = tuple(name for name, n in sorted(people.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2)[:TOP]
    decade = None if taste.mean_year is None else int(taste.mean_year // 10 * 10)
    return TasteSummary(
        titles_watched=len(items),
        top_genres=genres,
        recent_titles=tuple(it.title for it in items[:TOP]),
        favourite_titles=tuple(it.title for it in items if it.item_id in favourite_ids)[:TOP],
        frequent_people=frequent,
        typical_decade=decade,
    )
