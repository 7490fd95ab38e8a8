from __future__ import annotations

import numpy as np

from sidecar.recommender import (
    ItemDescription,
    WatchEvent,
    channel_items,
    embedding_text,
    recommend,
    rollup_series_history,
    similar_items,
    text_hash,
    top_picks,
)
from tests.recommender.builders import build, direction, item, watched

DAY = 86_400.0
NOW = 1_700_000_000.0


def test_episodes_roll_up_and_a_series_being_watched_is_not_recommended() -> None:
    episode_series = {f"a{k}": "A" for k in range(4)} | {f"b{k}": "B" for k in range(2)}
    events = [
        WatchEvent("a0", last_played=NOW, played=True),
        WatchEvent("a1", last_played=NOW + DAY, played=True, favourite=True),
        WatchEvent("b0", last_played=NOW, played=True),
        WatchEvent("b1", last_played=NOW + 2 * DAY, played=True),
        WatchEvent("zz", last_played=NOW, played=True),  # unknown episode: ignored
    ]
    series = rollup_series_history(events, episode_series, {"A": 4, "B": 2})
    a, b = series
    assert (a.item_id, a.played, a.completion, a.position_fraction, a.favourite) == ("A", False, 0.5, 1.0, True)
    assert (b.item_id, b.played, b.completion, b.last_played) == ("B", True, 1.0, NOW + 2 * DAY)

    entries = [(item(s, media_type="series"), direction(k, 0.1, towards=7)) for k, s in enumerate("ABCD")]
    model = build(entries)
    picks = [p.item_id for p in recommend(model, series, count=5, media_type="series")]
    assert picks and "A" not in picks and "B" not in picks


def test_top_picks_weights_window_and_min_viewers() -> None:
    histories = {
        "u1": [WatchEvent("x", last_played=NOW, play_count=3), WatchEvent("y", last_played=NOW)],
        "u2": [WatchEvent("x", last_played=NOW), WatchEvent("y", last_played=NOW)],
        "u3": [WatchEvent("y", last_played=NOW, played=False, position_fraction=0.5)],
        "u4": [WatchEvent("old", last_played=NOW - 90 * DAY), WatchEvent("solo", last_played=NOW)],
        "u5": [WatchEvent("old", last_played=NOW - 90 * DAY)],
    }
    picks = top_picks(histories, now=NOW, window_days=30, min_viewers=2)
    # x: 0.5*2/3 + 0.3*4/4 + 0.2*1.0; y: 0.5*3/3 + 0.3*2/4 + 0.2*(2.5/3)
    assert [(p.item_id, p.score) for p in picks] == [("x", 0.833333), ("y", 0.816667)]
    x, y = picks
    assert (y.viewers, y.plays, y.completion) == (3, 2, 0.8333)
    assert (x.viewers, x.plays) == (2, 4) and x.completion == 1.0
    viewers_only = top_picks(histories, now=NOW, min_viewers=2, weights=(1.0, 0.0, 0.0))
    assert viewers_only[0].item_id == "y" and viewers_only[0].score == 1.0
    assert "old" in [p.item_id for p in top_picks(histories, now=NOW, window_days=120)]


def test_top_picks_for_series_count_episodes() -> None:
    episode_series = {"s1e1": "S1", "s1e2": "S1", "s2e1": "S2"}
    histories = {
        "u1": [
            WatchEvent("s1e1", last_played=NOW),
            WatchEvent("s1e2", last_played=NOW),
            WatchEvent("s2e1", last_played=NOW),
        ],
        "u2": [WatchEvent("s1e1", last_played=NOW), WatchEvent("s2e1", last_played=NOW)],
    }
    picks = top_picks(histories, now=NOW, episode_series=episode_series, episodes_per_series={"S1": 2, "S2": 1})
    assert [(p.item_id, p.viewers, p.plays, p.completion) for p in picks] == [("S1", 2, 3, 0.75), ("S2", 2, 2, 1.0)]


def test_similar_items_and_channels() -> None:
    entries = [
        (item("a", ["Horror"], provider_ids={"tmdb": "1"}), direction(0)),
        (item("a-copy", ["Horror"], provider_ids={"tmdb": "1"}), direction(0)),
        (item("b", ["Horror"]), direction(0, 0.3, towards=1)),
        (item("c", ["Comedy"]), direction(0, 0.6, towards=1)),
        (item("d", ["Comedy"], rating=9.0), direction(3)),
        (item("e", ["Drama"], rating=2.0), direction(4)),
    ]
    model = build(entries)
    similar = similar_items(model, "a", count=2)
    assert [i for i, _ in similar] == ["b", "c"] and similar[0][1] > similar[1][1]
    assert similar_items(model, "missing") == []

    assert [i for i, _ in channel_items(model, genres=["Comedy"], example_ids=["a"])] == ["c", "d"]
    text_pref = direction(3)
    assert channel_items(model, preference_vector=text_pref, count=1)[0][0] == "d"
    no_seed = channel_items(model, exclude_ids=["d"], count=2)
    assert "d" not in [i for i, _ in no_seed]


def test_embedding_text_and_hash() -> None:
    desc = ItemDescription(
        title="Toy Story",
        year=1995,
        tagline="The adventure takes off",
        genres=["Animation", "Comedy"],
        official_rating="G",
        directors=["John Lasseter"],
        studios=["Pixar", "Disney", "Third"],
        actors=["Tom Hanks", "Tim Allen", "Don Rickles", "Jim Varney"],
        overview="Led by Woody, Andy's toys live happily.",
        tags=["toy", "friendship"],
    )
    text = embedding_text(desc)
    assert text == (
        'Toy Story (1995). "The adventure takes off". Genres: Animation, Comedy. Rated G. '
        "Directed by John Lasseter. Studio: Pixar, Disney. Starring Tom Hanks, Tim Allen, Don Rickles. "
        "Led by Woody, Andy's toys live happily. Themes: toy, friendship."
    )
    show = embedding_text(
        ItemDescription(title="Dark", media_type="series", year=2017, continuing=True, directors=["Baran bo Odar"])
    )
    assert show.startswith("Dark (2017-present). TV series. Created by Baran bo Odar")
    assert len(embedding_text(ItemDescription(title="Long", overview="word " * 400))) < 1100
    assert text_hash(text, "m1") == text_hash(text, "m1") != text_hash(text, "m2")
    assert text_hash(text, "m1") != text_hash(text + " ", "m1")
    assert np.isfinite(len(text))


def test_taste_summary_counts_only_what_is_in_the_history() -> None:
    from sidecar.recommender import summarise_taste

    entries = [
        (item("a", ["Horror"], year=1981, people=("Carpenter", "Russell")), direction(0)),
        (item("b", ["Horror", "Thriller"], year=1988, people=("Carpenter",)), direction(1)),
        (item("c", ["Comedy"], year=1995, people=("Reiner",)), direction(2)),
        (item("d", ["Drama"]), direction(3)),
    ]
    model = build(entries)
    history = [*watched("c", "a"), WatchEvent("b", last_played=NOW * 2, favourite=True)]
    summary = summarise_taste(model, history)
    assert summary.titles_watched == 3
    assert summary.recent_titles == ("Title b", "Title a", "Title c")
    assert summary.top_genres[0] == "Horror" and "Drama" not in summary.top_genres
    assert summary.favourite_titles == ("Title b",)
    assert summary.frequent_people == ("Carpenter",)
    assert summary.typical_decade == 1980
    assert summarise_taste(model, []).titles_watched == 0
