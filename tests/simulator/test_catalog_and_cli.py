from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from providers.simulator import Simulator, load_catalog, synthetic_catalog
from providers.simulator.serve import banner, build_parser, free_port, simulator_from_args
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[2]


def test_synthetic_catalogue_is_coherent_and_deterministic() -> None:
    one, two = synthetic_catalog(200, 20, seed=5), synthetic_catalog(200, 20, seed=5)
    assert [m.title for m in one.movies] == [m.title for m in two.movies]
    assert len({m.title for m in one.movies}) == 200
    assert all(m.overview and m.genres and m.director and len(m.actors) == 4 and m.year for m in one.movies)
    assert all(s.episodes_per_season and s.overview for s in one.series)
    sim = Simulator("jellyfin", catalog=one, users=0)
    assert sum(1 for i in sim.items.values() if i.type == "Movie") == 200
    seasons = [i for i in sim.items.values() if i.type == "Season"]
    assert all(sim.items[s.parent_id or ""].type == "Series" for s in seasons)


def test_media_root_gets_real_files(tmp_path: Path) -> None:
    sim = Simulator("emby", catalog=synthetic_catalog(5, 1), users=1, media_root=tmp_path)
    for item in sim.items.values():
        if item.type in ("Movie", "Episode"):
            assert item.path and item.path.startswith(str(tmp_path)) and os.path.isfile(item.path)


def test_synthetic_history_gives_each_user_plays() -> None:
    sim = Simulator("jellyfin", catalog=synthetic_catalog(120, 5), users=3, seed_history=True)
    for name in ("alice", "bob", "carol"):
        user = sim.user(name)
        played = [k for (u, k), d in sim.user_data.items() if u == user.id and d.played]
        assert len(played) >= 5, name


def test_real_catalogue_and_ratings_history() -> None:
    catalog = load_catalog(shared_path("data/movies.jsonl"), max_series=25)
    assert len(catalog.movies) > 3000 and all(m.overview for m in catalog.movies)
    assert len(catalog.series) == 25 and all(s.episodes_per_season for s in catalog.series)
    sim = Simulator("jellyfin", catalog=catalog, users=2, seed_history=shared_path("data/ratings.csv"))
    alice = sim.user("alice")
    plays = [d for (u, _), d in sim.user_data.items() if u == alice.id]
    assert plays and all(d.played and d.last_played for d in plays)
    assert any(d.is_favorite for d in plays) or all((d.rating or 0) < 9 for d in plays)


def test_cli_args_and_banner() -> None:
    args = build_parser().parse_args(
        ["--flavor", "emby", "--port", "8999", "--users", "2", "--seed-history", "--movies", "30", "--series", "2"]
    )
    sim = simulator_from_args(args)
    text = banner(sim, "http://127.0.0.1:8999")
    assert "http://127.0.0.1:8999/emby" in text and sim.admin_api_key in text
    assert all(f"{u.name} / {u.password}" in text for u in sim.user_list())
    assert len(sim.admin_api_key) == 32 and int(sim.admin_api_key, 16) >= 0


def test_python_m_serves_a_browsable_catalogue() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "providers.simulator",
            "--flavor",
            "jellyfin",
            "--port",
            str(port),
            "--movies",
            "25",
            "--series",
            "2",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        key = lines[1].split(":")[1].strip()
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/Items",
                    params={"Recursive": "true", "IncludeItemTypes": "Movie", "ApiKey": key},
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["TotalRecordCount"] == 25
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_marquee_simulator_takes_the_simulator_options_directly(capsys: pytest.CaptureFixture[str]) -> None:
    from sidecar.cli import build_parser as marquee_parser

    args = marquee_parser().parse_args(["simulator", "--flavor", "emby", "--emby-version", "4.9", "--port", "18150"])
    assert (args.flavor, args.emby_version, args.port, args.after_dashes) == ("emby", "4.9", 18150, [])
    sim = simulator_from_args(args)
    assert sim.variant == "emby-4.9" and sim.version.startswith("4.9.")
    older = marquee_parser().parse_args(["simulator", "--", "--flavor", "emby"])
    assert build_parser().parse_args(older.after_dashes).flavor == "emby"
    with pytest.raises(SystemExit):
        marquee_parser().parse_args(["simulator", "--help"])
    shown = capsys.readouterr().out
    assert "--emby-version {4.8,4.9}" in shown and "--flavor {jellyfin,emby}" in shown and "--seed-history" in shown
