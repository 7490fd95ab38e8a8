from __future__ import annotations

import numpy as np

from sidecar.recommender import (
    ItemDescription,
    WatchEvent,
    channel_items,
    embedding_text,
    text_hash,
)
from tests.recommender.builders import build, direction, item, watched

DAY = 86_400.0
NOW = 1_700_000_000.0


def test_channels() -> None:
    entries = [
        (item("a", ["Horror"], provider_ids={"tmdb": "1"}), direction(0)),
        (item("a-copy", ["Horror"], provider_ids={"tmdb": "1"}), direction(0)),
        (item("b", ["Horror"]), direction(0, 0.3, towards=1)),
        (item("c", ["Comedy"]), direction(0, 0.6, towards=1)),
        (item("d", ["Comedy"], rating=9.0), direction(3)),
        (item("e", ["Drama"], rating=2.0), direction(4)),
    ]
    model = build(entries)
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
