"""The taste text says what the watch-stats page shows: the same counts, the decades chart's peak, plurals."""

from __future__ import annotations

from collections import Counter

from providers.ai.writing import TasteFacts, TemplateWriter
from sidecar.recommender import WatchEvent, summarise_taste
from sidecar.recommender.summary import count_titles
from tests.recommender.builders import build, direction, item, watched


def _facts(summary, media_type="movie"):  # type: ignore[no-untyped-def]
    return TasteFacts(
        media_type=media_type,
        top_genres=summary.top_genres,
        recent_titles=summary.recent_titles,
        favourite_titles=summary.favourite_titles,
        frequent_people=summary.frequent_people,
        typical_decade=summary.typical_decade,
        titles_watched=summary.titles_watched,
        genre_counts=summary.genre_counts,
        peak_decades=summary.peak_decades,
    )


def test_the_typical_decade_is_the_peak_of_the_decades_chart_not_the_most_recent_weight() -> None:
    # six 2010s titles watched long ago, two 2020s titles watched yesterday (recency weighted them up before)
    entries = [(item(f"old{k}", ["Drama"], year=2011 + k), direction(0)) for k in range(6)]
    entries += [(item(f"new{k}", ["Action"], year=2021 + k), direction(1)) for k in range(2)]
    model = build(entries)
    history = watched(*[f"old{k}" for k in range(6)], start=1_500_000_000.0) + watched("new0", "new1")
    summary = summarise_taste(model, history)
    assert summary.titles_watched == 8
    assert summary.typical_decade == 2010 and summary.peak_decades == ((2010, 6),)
    text = TemplateWriter().taste_profile_sync(_facts(summary))
    assert "Most from the 2010s (6 titles)." in text and "2020s" not in text
    assert "Mostly Drama (6 of 8) and Action (2)." in text
    assert text.endswith("Based on 8 movies watched.")


def test_counts_are_those_of_the_stats_page_and_plurals_are_right() -> None:
    entries = [
        (item("a", ["Horror"], year=1981), direction(0)),
        (item("b", ["Horror"], year=1995), direction(1)),
        (item("c", ["Comedy"], year=1999), direction(2)),
    ]
    model = build(entries)
    started = WatchEvent("c", last_played=1.0, played=False, play_count=0, position_fraction=0.2, completion=0.2)
    favourite_only = WatchEvent("b", last_played=2.0, played=False, play_count=0, favourite=True)
    summary = summarise_taste(model, [*watched("a"), started, favourite_only])
    assert summary.titles_watched == 1  # the stats page counts played titles (or any play), not the rest
    text = TemplateWriter().taste_profile_sync(_facts(summary))
    assert "Based on 1 movie watched." in text and "(1 title)" in text and "1 titles" not in text
    series = TemplateWriter().taste_profile_sync(_facts(summarise_taste(model, watched("a")), "series"))
    assert "Based on 1 series watched." in series


def test_a_tie_names_every_peak_decade() -> None:
    model = build([(item(f"t{k}", ["Drama"], year=1990 + 10 * (k % 2)), direction(k % 2)) for k in range(4)])
    summary = summarise_taste(model, watched("t0", "t1", "t2", "t3"))
    assert summary.typical_decade is None and summary.peak_decades == ((1990, 2), (2000, 2))
    assert "Most from the 1990s and 2000s (2 titles each)." in TemplateWriter().taste_profile_sync(_facts(summary))


def test_count_titles_counts_each_title_once_per_genre() -> None:
    counts = count_titles([(("Drama", "Drama", "Crime"), 2012, ("X",)), (("Crime",), 2019, ("X", "Y"))])
    assert counts.titles == 2
    assert dict(counts.genres) == Counter({"Crime": 2, "Drama": 1})
    assert counts.genres[0] == ("Crime", 2) and counts.decades == ((2010, 2),) and counts.peak_decades == (2010,)
    assert dict(counts.people) == {"X": 2, "Y": 1}
