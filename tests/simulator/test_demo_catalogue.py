"""The demo catalogue: real titles shipped as a small derived file, and histories that follow each taste."""

from __future__ import annotations

import json
import re
from importlib.resources import files

from providers.simulator.demo_catalogue import (
    DEMO_TASTES,
    _unmangle,
    demo_catalogue,
    derive_demo_titles,
    seed_taste_histories,
)
from providers.simulator.state import Simulator
from tests.conftest import shared_path


def test_real_titles_with_their_metadata_and_licence_note() -> None:
    catalogue = demo_catalogue()
    assert 250 <= len(catalogue.movies) <= 400 and 30 <= len(catalogue.series) <= 60
    for movie in catalogue.movies:
        assert movie.title and movie.year and movie.overview and movie.genres and movie.director and movie.actors
        assert movie.runtime_min and movie.keywords  # countries
    assert len({m.key for m in catalogue.movies}) == len(catalogue.movies)
    titles = {m.title for m in catalogue.movies} | {s.title for s in catalogue.series}
    assert not titles & {m.name for m in Simulator("jellyfin", users=0).items.values() if m.type == "Movie"}
    notice = (files("providers.simulator.data") / "demo_titles.NOTICE.txt").read_text("utf-8")
    assert "CC0" in notice and "netflix_titles.csv" in notice
    assert "CC0" in json.loads((files("providers.simulator.data") / "demo_titles.json").read_text("utf-8"))["licence"]


def test_any_prefix_holds_every_taste() -> None:
    small = demo_catalogue(60, 10)
    assert (len(small.movies), len(small.series)) == (60, 10)
    for taste in DEMO_TASTES:
        assert sum(taste.likes(m.genres, series=False) for m in small.movies) >= 5, taste.label
        assert any(taste.likes(s.genres, series=True) for s in small.series), taste.label


def test_histories_follow_each_users_taste() -> None:
    sim = Simulator("jellyfin", catalog=demo_catalogue(), users=6)
    labels = seed_taste_histories(sim)
    assert labels == {t.user: t.label for t in DEMO_TASTES[:6]}
    watched_by: dict[str, set[str]] = {}
    for taste in DEMO_TASTES[:6]:
        user = sim.user(taste.user)
        played = [i for i in sim.items.values() if i.type == "Movie" and sim.get_user_data(user.id, i).played]
        inside = [m for m in played if taste.likes(m.genres, series=False)]
        assert len(played) >= 8 and inside == played, (taste.label, [m.name for m in played])
        watched_by[taste.user] = {m.id for m in played}
        episodes = [i for i in sim.items.values() if i.type == "Episode" and sim.get_user_data(user.id, i).played]
        shows = {sim.items[e.series_id or ""].name for e in episodes}
        assert shows and all(
            taste.likes(s.genres, series=True) for s in sim.items.values() if s.type == "Series" and s.name in shows
        )
    for user, titles in watched_by.items():  # no title links two tastes (co-watching would blur the picks)
        assert not any(titles & other for name, other in watched_by.items() if name != user)
    admin = sim.user("admin")
    assert not any(d for (u, _), d in sim.user_data.items() if u == admin.id)


def test_the_shipped_file_is_what_the_dataset_gives() -> None:
    derived = derive_demo_titles(shared_path("data/netflix_titles.csv"), known_titles=shared_path("data/movies.jsonl"))
    shipped = json.loads((files("providers.simulator.data") / "demo_titles.json").read_text("utf-8"))
    assert derived == shipped


def test_text_garbled_in_the_dataset_reads_as_written() -> None:
    """The CSV holds some UTF-8 decoded as Windows-1252 ("PokÃ©mon", "NCIS â€“ the"); titles, names and
    descriptions shown in the demo read as the people who wrote them meant."""
    assert _unmangle("PokÃ©mon: Mewtwo Strikes Back") == "Pokémon: Mewtwo Strikes Back"
    assert _unmangle("NCIS â€“ the Naval") == "NCIS \u2013 the Naval"
    assert _unmangle("Jordi MollÃ") == "Jordi Mollà"
    assert _unmangle("Café \u2013 naïve “quoted”") == "Café \u2013 naïve “quoted”"  # text that is right stays as it is
    shipped = (files("providers.simulator.data") / "demo_titles.json").read_text("utf-8")
    assert not re.search("Ã|â€|Â", shipped)
    assert "Pokémon" in shipped
