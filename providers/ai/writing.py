"""Natural-language taste profiles and "why we picked this" texts.

Two `TextGenerator`s: `TemplateWriter` here (deterministic, uses only the facts it is given, the
default) and `providers.ai.openai_chat.OpenAIChatWriter` (any OpenAI-compatible chat model, told to
use only the facts; it falls back to the template when the endpoint fails).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class TasteFacts:
    """What we know about one user's taste in one media type ("movie" or "series")."""

    media_type: str
    top_genres: Sequence[str] = ()  # most watched first
    recent_titles: Sequence[str] = ()  # newest first
    favourite_titles: Sequence[str] = ()
    frequent_people: Sequence[str] = ()  # directors/cast seen most often
    typical_decade: int | None = None  # e.g. 1990: the decade with the most titles
    titles_watched: int = 0
    genre_counts: Sequence[tuple[str, int]] = ()  # the top genres with how many watched titles have each
    peak_decades: Sequence[tuple[int, int]] = ()  # the decade(s) with the most titles, with that count


@dataclass(frozen=True, slots=True)
class PickFacts:
    """What we know about one pick and why the recommender chose it."""

    title: str
    year: int | None = None
    genres: Sequence[str] = ()
    match_percent: int | None = None
    matching_genres: Sequence[str] = ()
    new_genres: Sequence[str] = ()
    evidence: Sequence[tuple[str, float]] = ()  # watched title, cosine similarity
    community_rating: float | None = None
    watched_by_others: bool = False  # the co-watch signal was above average
    overview: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class TextGenerator(Protocol):
    @property
    def name(self) -> str: ...

    async def taste_profile(self, facts: TasteFacts) -> str: ...

    async def why_picked(self, facts: PickFacts) -> str: ...


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 title``, ``3 titles`` (``many`` for irregular plurals: ``1 series``, ``2 series``)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _join(values: Sequence[str]) -> str:
    items = [v for v in values if v]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class TemplateWriter:
    """Deterministic sentences built only from the facts given (nothing is ever invented)."""

    @property
    def name(self) -> str:
        return "template"

    async def taste_profile(self, facts: TasteFacts) -> str:
        return self.taste_profile_sync(facts)

    async def why_picked(self, facts: PickFacts) -> str:
        return self.why_picked_sync(facts)

    def taste_profile_sync(self, facts: TasteFacts) -> str:
        """Every number is a count the watch-stats page shows too (see ``sidecar.recommender.summary``)."""
        kind = "series" if facts.media_type == "series" else "movies"
        if facts.titles_watched == 0 and not facts.recent_titles:
            return f"No {kind} watched yet, so picks start from what is popular on this server."
        sentences: list[str] = []
        if facts.genre_counts:
            named = [f"{genre} ({count})" for genre, count in list(facts.genre_counts)[:3]]
            if facts.titles_watched:  # "Thrillers (15 of 17)": the share of the stats page's total
                named[0] = named[0][:-1] + f" of {facts.titles_watched})"
            sentences.append(f"Mostly {_join(named)}.")
        elif facts.top_genres:
            sentences.append(f"Mostly {_join(list(facts.top_genres[:3]))} {kind}.")
        if facts.peak_decades:
            decades = [f"{decade}s" for decade, _ in facts.peak_decades]
            count = facts.peak_decades[0][1]
            each = " each" if len(decades) > 1 else ""
            sentences.append(f"Most from the {_join(decades)} ({plural(count, 'title')}{each}).")
        elif facts.typical_decade is not None:
            sentences.append(f"Most from the {facts.typical_decade}s.")
        if facts.recent_titles:
            sentences.append(f"Lately: {_join(list(facts.recent_titles[:3]))}.")
        if facts.favourite_titles:
            sentences.append(f"Favourites include {_join(list(facts.favourite_titles[:3]))}.")
        if facts.frequent_people:
            sentences.append(f"Often watches work by or with {_join(list(facts.frequent_people[:3]))}.")
        if facts.titles_watched:
            one = "series" if kind == "series" else "movie"
            sentences.append(f"Based on {plural(facts.titles_watched, one, kind)} watched.")
        return " ".join(sentences)

    def why_picked_sync(self, facts: PickFacts) -> str:
        sentences: list[str] = []
        if facts.evidence:
            named = [title for title, _ in facts.evidence[:3]]
            sentences.append(f"Because you watched {_join(named)}.")
        if facts.matching_genres:
            sentences.append(f"It is {_join(list(facts.matching_genres))}, like much of what you watch.")
        if facts.new_genres:
            sentences.append(f"It also brings in {_join(list(facts.new_genres))}, which is new for you.")
        if facts.watched_by_others:
            sentences.append("People on this server who watch what you watch also watched it.")
        if facts.community_rating is not None:
            sentences.append(f"Rated {facts.community_rating:.1f}/10 by the community.")
        if facts.match_percent is not None:
            sentences.append(f"{facts.match_percent}% match.")
        return " ".join(sentences) or f"{facts.title} is a pick for you."
