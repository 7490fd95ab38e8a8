"""Plain facts about a user's taste, for the taste-profile text (template or LLM) and the explanations.

Counted exactly as the watch-stats page counts (``count_titles`` is the one implementation both use): the
titles the user watched (played, or played at all: ``counted``), each once; a title adds one to each of its
genres, to its decade and to each credited person. So the text and the stats page never disagree: its
typical decade is the peak of the decades chart, its genres the top of the genre chart, its totals the
stats' totals. Ties are broken the same way everywhere (larger count first, then by name or decade).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.types import WatchEvent

TOP = 5


@dataclass(frozen=True, slots=True)
class TitleCounts:
    """How many watched titles have each genre, decade and person (larger count first, ties by name)."""

    titles: int
    genres: tuple[tuple[str, int], ...]
    decades: tuple[tuple[int, int], ...]  # by decade, oldest first (as the decades chart)
    people: tuple[tuple[str, int], ...]

    @property
    def peak_decades(self) -> tuple[int, ...]:
        """The decade(s) with the most titles: the highest bar(s) of the decades chart."""
        top = max((count for _, count in self.decades), default=0)
        return tuple(decade for decade, count in self.decades if count == top and top > 0)


def ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def count_titles(
    titles: Iterable[tuple[Sequence[str], int | None, Sequence[str]]],
) -> TitleCounts:
    """Count watched titles, each given once as (genres, year, people credited)."""
    genres: Counter[str] = Counter()
    decades: Counter[int] = Counter()
    people: Counter[str] = Counter()
    n = 0
    for title_genres, year, credited in titles:
        n += 1
        genres.update(set(title_genres))
        if year:
            decades[year // 10 * 10] += 1
        people.update(set(credited))
    return TitleCounts(n, ranked(genres), tuple(sorted(decades.items())), ranked(people))


def counted(event: WatchEvent) -> bool:
    """Does the stats page count this title as watched (played, or any play at all)?"""
    return event.played or event.play_count > 0


@dataclass(frozen=True, slots=True)
class TasteSummary:
    """Everything here is read off the history; nothing is inferred beyond counting."""

    titles_watched: int
    top_genres: tuple[str, ...]  # most titles first
    recent_titles: tuple[str, ...]  # newest first
    favourite_titles: tuple[str, ...]  # newest first
    frequent_people: tuple[str, ...]  # credited on at least two watched titles, most first
    typical_decade: int | None  # the decade with the most titles (None: no year, or a tie)
    genre_counts: tuple[tuple[str, int], ...] = ()  # the top genres with their title counts
    peak_decades: tuple[tuple[int, int], ...] = ()  # the decade(s) with the most titles, and that count


def summarise_taste(model: PreparedModel, history: Sequence[WatchEvent], recent_limit: int = 100) -> TasteSummary:
    """``recent_limit`` bounds only the recent and favourite titles named; counts cover every watched title."""
    events = [e for e in history if e.item_id in model.index and counted(e)]
    events.sort(key=lambda e: (-(e.last_played or 0.0), e.item_id))
    items = [model.items[model.index[e.item_id]] for e in events]
    counts = count_titles((item.genres, item.year, item.people) for item in items)
    peaks = counts.peak_decades
    peak_count = dict(counts.decades).get(peaks[0], 0) if peaks else 0
    titles = [item.title for item in items[:recent_limit]]
    favourites = [t for t, e in zip(titles, events[:recent_limit], strict=True) if e.favourite]
    return TasteSummary(
        titles_watched=counts.titles,
        top_genres=tuple(g for g, _ in counts.genres[:TOP]),
        recent_titles=tuple(titles[:TOP]),
        favourite_titles=tuple(favourites[:TOP]),
        frequent_people=tuple(p for p, n in counts.people if n >= 2)[:TOP],
        typical_decade=peaks[0] if len(peaks) == 1 else None,
        genre_counts=counts.genres[:TOP],
        peak_decades=tuple((d, peak_count) for d in peaks),
    )
