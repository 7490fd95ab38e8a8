"""The taste match's genre overlap and the session co-watch links."""

from __future__ import annotations

import numpy as np
import pytest

from sidecar.recommender import Weights
from sidecar.recommender.picks import cowatch_weight_for
from sidecar.recommender.session_cowatch import build_session_cowatch
from sidecar.recommender.taste import build_taste, genre_match, people_match
from tests.recommender.builders import build, direction, item, watched


def test_genre_match_is_the_cosine_of_the_items_genres_and_the_users_shares() -> None:
    model = build(
        [
            (item("a", ["Crime", "Thriller"]), direction(0)),
            (item("b", ["Crime"]), direction(1)),
            (item("c", ["Documentary"]), direction(2)),
            (item("d", []), direction(3)),
        ]
    )
    shares = np.zeros(len(model.genres))
    shares[model.genres.index("Crime")] = 0.5
    shares[model.genres.index("Thriller")] = 0.5
    one = genre_match(model, shares)
    assert one[0] > one[1] > one[2] == one[3] == 0.0
    assert np.isclose(one[0], 1.0)
    other = np.zeros(len(model.genres))
    other[model.genres.index("Documentary")] = 1.0
    both = genre_match(model, np.stack([shares, other], axis=1))
    assert both.shape == (4, 2)
    assert np.allclose(both[:, 0], one) and np.isclose(both[2, 1], 1.0)


def test_session_links_favour_titles_watched_close_together_by_several_viewers() -> None:
    vocabulary = np.arange(6, dtype=np.int64)
    orders = [np.array([0, 1, 2, 3, 4, 5]), np.array([0, 1, 5]), np.array([3, 2])]
    sessions = build_session_cowatch(orders, vocabulary, 6)
    assert sessions is not None
    links = sessions.links(np.arange(6))
    assert np.allclose(links, links.T) and np.all(np.diag(links) == 0)
    assert links[0, 1] > links[0, 2] > links[0, 4]  # two viewers back to back > one, nearer > farther
    assert links[0, 1] > links[0, 5]
    scores = sessions.scores(np.array([0]), np.array([1.0]), 8)
    assert scores.shape == (8,) and scores[6] == scores[7] == 0.0
    assert int(np.argmax(scores)) == 1
    assert build_session_cowatch([np.array([0]), np.array([1])], vocabulary, 6) is None


def test_a_held_out_title_loses_the_links_only_its_own_viewer_gave_it() -> None:
    vocabulary = np.arange(5, dtype=np.int64)
    mine = np.array([0, 1, 2])
    sessions = build_session_cowatch([mine, np.array([0, 1]), np.array([3, 4])], vocabulary, 5)
    assert sessions is not None
    weights = np.array([0.5, 0.5])
    titles = np.array([1, 0])
    assert sessions.scores(titles, weights, 5)[2] > 0  # only I watched 2 after 0 and 1
    assert sessions.held_out_score(mine, 2, titles, weights) == 0.0
    # 1 keeps the other viewer's link to 0 when my watch of 1 is held out
    held = sessions.held_out_score(mine, 1, np.array([0]), np.array([1.0]))
    assert 0 < held < sessions.scores(np.array([0]), np.array([1.0]), 5)[1]


def test_people_match_follows_the_directors_and_cast_of_the_users_titles() -> None:
    model = build(
        [
            (item("seen", people=("Ana Director", "Bo Actor")), direction(0)),
            (item("same-director", people=("Ana Director", "Cy Actor")), direction(1)),
            (item("same-both", people=("Ana Director", "Bo Actor")), direction(2)),
            (item("stranger", people=("Di Actor",)), direction(3)),
            (item("nobody"), direction(4)),
        ]
    )
    taste = build_taste(model, watched("seen"), 100)
    assert taste is not None
    shared = people_match(model, taste)
    assert shared[2] > shared[1] > shared[3] == shared[4] == 0.0


def test_cowatch_weighs_by_the_share_of_the_users_titles_anyone_else_watched() -> None:
    entries = [(item(f"m{k}"), direction(k % 8)) for k in range(12)]
    histories = {"a": watched("m0", "m1", "m2", "m3"), "b": watched("m3", "m4"), "c": watched("m5", "m6")}
    model = build(entries, histories)
    lonely = build_taste(model, watched("m0", "m1", "m2"), 100)
    shared = build_taste(model, watched("m3", "m4"), 100)
    assert lonely is not None and shared is not None
    assert cowatch_weight_for(model, lonely, Weights()) == 0.0  # nobody else watched m0-m2
    # 3 viewers: 2/7 of full confidence; of m3 and m4 only m3 has another viewer
    m3_share = float(shared.weights[shared.positions == model.index["m3"]].sum())
    assert 0.3 < m3_share < 0.7
    assert cowatch_weight_for(model, shared, Weights()) == pytest.approx(2 / 7 * m3_share)
