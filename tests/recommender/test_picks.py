from __future__ import annotations

import numpy as np

from sidecar.recommender import PreparedModel, WatchEvent, Weights, recommend, recommend_many
from tests.recommender.builders import build, direction, item, watched

HORROR, COMEDY, DRAMA = 0, 1, 2


def one_genre_catalogue() -> PreparedModel:
    entries = []
    for k in range(8):  # horror titles, tilted in different directions so none is identical
        entries.append((item(f"h{k}", ["Horror"]), direction(HORROR, 0.1 * k, towards=3 + k % 4)))
    for k in range(3):
        entries.append((item(f"c{k}", ["Comedy"]), direction(COMEDY, 0.1 * k, towards=3)))
        entries.append((item(f"d{k}", ["Drama"]), direction(DRAMA, 0.1 * k, towards=4)))
    return build(entries)


def test_one_genre_user_gets_that_genre_without_novelty_and_something_else_with_a_high_one() -> None:
    model = one_genre_catalogue()
    history = watched("h0", "h1", "h2", "h3", "h4")
    plain = recommend(model, history, weights=Weights(novelty=0.0, diversity=0.0), count=3)
    assert [p.item_id[0] for p in plain] == ["h", "h", "h"]
    assert plain[0].matching_genres == ("Horror",) and plain[0].new_genres == ()

    curious = recommend(model, history, weights=Weights(novelty=5.0, diversity=0.0), count=3)
    assert curious[0].item_id[0] in "cd"
    assert curious[0].new_genres and not curious[0].matching_genres
    assert curious[0].breakdown.novelty > plain[0].breakdown.novelty


def test_mmr_spreads_near_duplicates() -> None:
    liked = direction(HORROR)
    entries = [(item("seed", ["Horror"]), liked)]
    entries += [(item(f"dup{k}", ["Horror"]), direction(HORROR, 0.01 * (k + 1), towards=5)) for k in range(5)]
    entries += [(item(f"other{k}", ["Horror"]), direction(HORROR, 0.9, towards=3 + k)) for k in range(2)]
    entries += [(item(f"far{k}", ["Drama"]), direction(DRAMA + 4 + k)) for k in range(2)]
    model = build(entries)
    history = watched("seed")

    plain = recommend(model, history, weights=Weights(novelty=0.0, diversity=0.0), count=3)
    assert [p.item_id for p in plain] == ["dup0", "dup1", "dup2"]
    spread = recommend(model, history, weights=Weights(novelty=0.0, diversity=0.6), count=3)
    assert spread[0].item_id == "dup0"
    assert sum(p.item_id.startswith("dup") for p in spread) == 1
    assert spread[1].breakdown.variety > plain[1].breakdown.variety


def test_evidence_names_the_watched_titles_that_pulled_the_pick_in() -> None:
    entries = [
        (item("alien"), direction(0, 0.2, towards=1)),
        (item("aliens"), direction(0, 0.4, towards=1)),
        (item("romance"), direction(2)),
        (item("western"), direction(3)),
        (item("cowboys"), direction(3, 0.3, towards=2)),
        (item("prometheus"), direction(0, 0.3, towards=1)),
    ]
    model = build(entries)
    history = watched("western", "aliens", "romance", "alien", "cowboys")
    picks = recommend(model, history, weights=Weights(novelty=0.0, diversity=0.0), count=1)
    assert picks[0].item_id == "prometheus"
    evidence = picks[0].evidence
    assert [e.item_id for e in evidence[:2]] == ["alien", "aliens"] or [e.item_id for e in evidence[:2]] == [
        "aliens",
        "alien",
    ]
    assert len(evidence) == 3 and evidence[0].similarity >= evidence[1].similarity >= evidence[2].similarity
    assert evidence[0].similarity > 0.95 and evidence[2].title.startswith("Title ")


def test_exclusions_watched_in_progress_favourite_and_duplicate_copies() -> None:
    entries = [
        (item("a", provider_ids={"tmdb": "1"}), direction(0)),
        (item("a-4k", provider_ids={"tmdb": "1", "imdb": "tt1"}), direction(0, 0.01, towards=1)),
        (item("a-imdb", provider_ids={"imdb": "tt1"}), direction(0, 0.02, towards=1)),
        (item("b"), direction(0, 0.1, towards=2)),
        (item("c"), direction(0, 0.2, towards=2)),
        (item("d"), direction(0, 0.3, towards=2)),
        (item("e"), direction(0, 0.4, towards=2)),
        (item("f"), direction(4)),
    ]
    model = build(entries)
    history = [
        *watched("a"),
        WatchEvent("b", last_played=1.0, played=False, position_fraction=0.30, completion=0.30),
        WatchEvent("c", last_played=2.0, played=False, position_fraction=0.02, completion=0.02),
        WatchEvent("d", last_played=3.0, played=False, favourite=True, completion=0.0),
    ]
    ids = [p.item_id for p in recommend(model, history, count=10)]
    assert "a" not in ids and "a-4k" not in ids and "a-imdb" not in ids  # copies via shared provider ids
    assert "b" not in ids  # in progress past 5%
    assert "c" in ids  # barely started: still a candidate
    assert "d" not in ids  # favourite
    assert set(ids) == {"c", "e", "f"}
    assert recommend(model, history, count=10, exclude_ids=["e"])[0].item_id != "e"


def test_deterministic_and_independent_of_history_order() -> None:
    rng = np.random.default_rng(7)
    entries = [
        (item(f"i{k}", [["Horror", "Comedy", "Drama"][k % 3]], year=1980 + k), rng.normal(size=8)) for k in range(60)
    ]
    others = {f"u{k}": watched(*[f"i{(k * 7 + j) % 60}" for j in range(8)]) for k in range(6)}
    model = build(entries, others)
    history = watched("i1", "i4", "i9", "i16", "i25")
    first = recommend(model, history, count=10)
    again = recommend(build(entries, dict(reversed(list(others.items())))), list(reversed(history)), count=10)
    assert first == again
    assert [p.rank for p in first] == list(range(1, 11))
    for p in first:
        assert 1 <= p.match_percent <= 99
        b = p.breakdown
        assert all(0.0 <= v <= 1.0 for v in (b.taste, b.novelty, b.quality, b.variety, b.final))
        assert b.cowatch is not None


def test_cowatch_lifts_what_similar_viewers_watched() -> None:
    entries = [(item(f"i{k}"), direction(k % 8, 0.05 * k, towards=(k + 1) % 8)) for k in range(16)]
    others = {"u1": watched("i0", "i9"), "u2": watched("i0", "i9"), "u3": watched("i1", "i10")}
    model = build(entries, others)
    history = watched("i0")
    with_cowatch = recommend(model, history, weights=Weights(novelty=0, rating=0, similarity=0, cowatch=1.0), count=1)
    assert with_cowatch[0].item_id == "i9"
    assert with_cowatch[0].breakdown.cowatch is not None and with_cowatch[0].breakdown.cowatch > 0.9


def test_quality_prefers_the_better_rated_of_two_equal_titles() -> None:
    entries = [
        (item("seen"), direction(0)),
        (item("weak", rating=4.0), direction(1)),
        (item("strong", rating=8.5), direction(2)),
    ]
    model = build(entries)
    picks = recommend(model, watched("seen"), weights=Weights(similarity=0, novelty=0, rating=1.0, diversity=0))
    assert [p.item_id for p in picks] == ["strong", "weak"]
    assert picks[0].breakdown.quality > picks[1].breakdown.quality


def test_cold_start_user_gets_popular_titles_and_media_type_filter() -> None:
    entries = [(item(f"m{k}"), direction(k)) for k in range(4)]
    entries += [(item(f"s{k}", media_type="series"), direction(k + 4)) for k in range(2)]
    others = {"u1": watched("m2", "s1"), "u2": watched("m2", "m3")}
    model = build(entries, others)
    assert recommend(model, [], count=1)[0].item_id == "m2"
    series = recommend(model, [], count=5, media_type="series")
    assert series[0].item_id == "s1" and {p.item_id for p in series} == {"s0", "s1"}
    assert recommend(model, [], media_type="episode") == []


def test_recommend_many_matches_recommend_per_user() -> None:
    rng = np.random.default_rng(3)
    entries = [(item(f"i{k}", [["Horror", "Comedy", "Drama"][k % 3]]), rng.normal(size=8)) for k in range(40)]
    histories = {f"u{k}": watched(*[f"i{(k * 5 + j) % 40}" for j in range(3 + k)]) for k in range(7)}
    histories["cold"] = []
    model = build(entries, histories)
    batched = dict(recommend_many(model, histories, count=5, batch_users=3, exclude_ids={"u1": ["i0"]}))
    assert list(batched) == sorted(histories)
    for user, history in histories.items():
        excluded = ["i0"] if user == "u1" else []
        assert batched[user] == recommend(model, history, count=5, exclude_ids=excluded)
