"""Pure writers: names, NFO, per-title file plans and their hashes, the placeholder poster."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from sidecar.publish.naming import ai_picks_library_name, sanitise, sort_title, title_folder
from sidecar.publish.nfo import build_nfo, date_added
from sidecar.publish.placeholder import HEIGHT, WIDTH, placeholder_png
from sidecar.publish.sources import EpisodeSource, RankedSource, TitleSource
from sidecar.publish.titles import PlanOptions, UnpublishableTitle, plan_title

ANCHOR = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def movie(**changes: object) -> TitleSource:
    fields: dict[str, object] = {
        "item_id": 7,
        "provider_id": "abc123",
        "kind": "Movie",
        "name": "Heat: The <Director's> Cut?",
        "year": 1995,
        "original_title": "Heat",
        "overview": "A heist in Los Angeles.",
        "tagline": "A Los Angeles crime saga",
        "genres": ("Crime", "Thriller"),
        "studios": ("Warner Bros.",),
        "people": (
            {"name": "Michael Mann", "type": "Director"},
            {"name": "Al Pacino", "role": "Vincent Hanna", "type": "Actor"},
            {"name": "Robert De Niro", "role": "Neil McCauley", "type": "Actor"},
        ),
        "community_rating": 8.3,
        "critic_rating": 87.0,
        "official_rating": "R",
        "runtime_ticks": 170 * 60 * 10_000_000,
        "path": "/media/movies/Heat (1995)/Heat (1995).mkv",
        "provider_ids": {"Imdb": "tt0113277", "Tmdb": "949"},
        "image_tags": {"Primary": "tag1", "Backdrop": "b1"},
    }
    fields.update(changes)
    return TitleSource(**fields)  # type: ignore[arg-type]


def series() -> TitleSource:
    eps = tuple(
        EpisodeSource(f"e{s}{e}", s, e, f"Ep {e}", f"/media/tv/Show (2010)/Season {s:02d}/Show S{s:02d}E{e:02d}.mkv")
        for s in (1, 2)
        for e in (1, 2)
    )
    return TitleSource(
        item_id=9,
        provider_id="s1",
        kind="Series",
        name="Show",
        year=2010,
        path="/media/tv/Show (2010)",
        provider_ids={"Tvdb": "555", "Imdb": "tt9"},
        episodes=eps,
        status="Ended",
    )


def test_names_are_safe_and_unique() -> None:
    assert sanitise('A/B\\C:D*E?"F<G>H|') == "A B C D E F G H"
    assert sanitise("...hidden. ") == "hidden"
    assert sanitise("   ") == "Untitled"
    assert len(sanitise("é" * 400).encode()) <= 150
    assert title_folder("Heat", 1995, "abc") == "Heat (1995) [abc]"
    assert title_folder("Heat", None, "x/y") == "Heat [x y]"
    assert sort_title(3, "Heat") == "0000003 - Heat"
    assert sort_title(4_980_736, "Heat") == "4980736 - Heat"
    assert ai_picks_library_name("AI Picks", "alice", None) == "AI Picks - alice"
    assert ai_picks_library_name("AI Picks", "alice", None, "series") == "AI Picks - alice (Series)"
    assert ai_picks_library_name("AI Picks", "alice", "  Alice's movies ") == "Alice's movies"


def test_nfo_has_slot_sort_title_explanation_and_real_ids() -> None:
    pick = RankedSource(movie(), rank=2, explanation="You loved Collateral.", slot=60)
    root = ET.fromstring(build_nfo(pick, anchor=ANCHOR))
    assert root.tag == "movie"
    assert root.findtext("title") == "Heat: The <Director's> Cut?"
    assert root.findtext("originaltitle") == "Heat"
    assert root.findtext("sorttitle") == "0000060 - Heat: The <Director's> Cut?"
    assert root.findtext("year") == "1995"
    plot = root.findtext("plot") or ""
    assert plot.startswith("Why we picked this: You loved Collateral.")
    assert plot.endswith("A heist in Los Angeles.")
    assert root.findtext("tagline") == "A Los Angeles crime saga"
    assert root.findtext("runtime") == "170"
    assert root.findtext("mpaa") == "R"
    assert root.findtext("rating") == "8.3"
    assert root.findtext("ratings/rating/value") == "8.3"
    assert [g.text for g in root.findall("genre")] == ["Crime", "Thriller"]
    assert [s.text for s in root.findall("studio")] == ["Warner Bros."]
    assert root.findtext("director") == "Michael Mann"
    assert [(a.findtext("name"), a.findtext("role")) for a in root.findall("actor")] == [
        ("Al Pacino", "Vincent Hanna"),
        ("Robert De Niro", "Neil McCauley"),
    ]
    ids = {u.get("type"): u.text for u in root.findall("uniqueid")}
    assert ids == {"imdb": "tt0113277", "tmdb": "949"}
    assert root.find("uniqueid[@default='true']").text == "tt0113277"  # type: ignore[union-attr]
    assert root.findtext("dateadded") == "2026-01-01 11:59:00"


def test_nfo_without_explanation_is_just_the_overview() -> None:
    root = ET.fromstring(build_nfo(RankedSource(movie(), 1, None), anchor=ANCHOR))
    assert root.findtext("plot") == "A heist in Los Angeles."


def test_date_added_sorts_in_slot_order() -> None:
    dates = [date_added(ANCHOR, slot) for slot in range(1, 10**7, 16_384)]
    assert dates == sorted(dates, reverse=True)


def test_tvshow_nfo_prefers_tvdb() -> None:
    root = ET.fromstring(build_nfo(RankedSource(series(), 1, None), anchor=ANCHOR))
    assert root.tag == "tvshow"
    assert root.find("uniqueid[@default='true']").text == "555"  # type: ignore[union-attr]
    assert root.findtext("sorttitle") == "0000001 - Show"
    assert root.findtext("status") == "Ended"


def files(plan: object) -> dict[str, object]:
    return {f.rel: f for f in plan.files}  # type: ignore[attr-defined]


def test_strm_movie_plan() -> None:
    plan = plan_title(RankedSource(movie(), 1), PlanOptions("strm", ANCHOR))
    by_rel = files(plan)
    strm = by_rel["Heat The Director's Cut (1995).strm"]
    assert strm.data == b"/media/movies/Heat (1995)/Heat (1995).mkv\n"  # type: ignore[attr-defined]
    assert "movie.nfo" in by_rel and "poster" in by_rel and "fanart" in by_rel
    assert plan.folder == "Heat The Director's Cut (1995) [abc123]"


def test_streaming_url_mode_writes_the_url() -> None:
    options = PlanOptions("strm", ANCHOR, stream_url=lambda pid: f"http://srv/Videos/{pid}/stream?api_key=k")
    plan = plan_title(RankedSource(movie(path=None), 1), options)
    strm = next(f for f in plan.files if f.rel.endswith(".strm"))
    assert strm.data == b"http://srv/Videos/abc123/stream?api_key=k\n"


def test_symlink_movie_plan_links_the_video() -> None:
    plan = plan_title(RankedSource(movie(), 1), PlanOptions("symlink", ANCHOR, artwork=False))
    by_rel = files(plan)
    assert set(by_rel) == {"movie.nfo", "Heat The Director's Cut (1995).mkv"}
    assert by_rel["Heat The Director's Cut (1995).mkv"].link == "/media/movies/Heat (1995)/Heat (1995).mkv"  # type: ignore[attr-defined]


def test_series_plans() -> None:
    strm = files(plan_title(RankedSource(series(), 1), PlanOptions("strm", ANCHOR, artwork=False)))
    assert set(strm) == {
        "tvshow.nfo",
        "Season 01/Show S01E01 - Ep 1.strm",
        "Season 01/Show S01E02 - Ep 2.strm",
        "Season 02/Show S02E01 - Ep 1.strm",
        "Season 02/Show S02E02 - Ep 2.strm",
    }
    links = files(plan_title(RankedSource(series(), 1), PlanOptions("symlink", ANCHOR, artwork=False)))
    assert {rel: f.link for rel, f in links.items() if rel != "tvshow.nfo"} == {  # type: ignore[attr-defined]
        "Season 01": "/media/tv/Show (2010)/Season 01",
        "Season 02": "/media/tv/Show (2010)/Season 02",
    }


def test_unpublishable_titles_say_why() -> None:
    with pytest.raises(UnpublishableTitle, match="no file path"):
        plan_title(RankedSource(movie(path=None), 1), PlanOptions("strm", ANCHOR))
    with pytest.raises(UnpublishableTitle, match="Windows path"):
        plan_title(RankedSource(movie(path="D:\\Movies\\Heat.mkv"), 1), PlanOptions("symlink", ANCHOR))


def test_hash_changes_with_what_is_written_only() -> None:
    options = PlanOptions("strm", ANCHOR)
    base = plan_title(RankedSource(movie(), 1, "why"), options).content_hash
    assert plan_title(RankedSource(movie(), 1, "why"), options).content_hash == base
    assert plan_title(RankedSource(movie(), 2, "why"), options).content_hash != base  # its slot is its rank
    assert plan_title(RankedSource(movie(), 1, "why", slot=7), options).content_hash != base
    assert plan_title(RankedSource(movie(), 1, "other"), options).content_hash != base
    assert plan_title(RankedSource(movie(image_tags={"Primary": "new"}), 1, "why"), options).content_hash != base
    assert plan_title(RankedSource(movie(), 1, "why"), PlanOptions("symlink", ANCHOR)).content_hash != base


def test_placeholder_is_a_png() -> None:
    data = placeholder_png("Heat", 12)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(data[16:20], "big") == WIDTH and int.from_bytes(data[20:24], "big") == HEIGHT
    assert placeholder_png("Heat", 12) == data != placeholder_png("Heat", 13)


def test_plans_are_renumbered_when_a_title_cannot_be_published() -> None:
    from sidecar.publish.library import build_plans

    picks = [
        RankedSource(movie(item_id=1, provider_id="a", name="A"), 1),
        RankedSource(movie(item_id=2, provider_id="b", name="B", path=None), 2),
        RankedSource(movie(item_id=3, provider_id="c", name="C"), 3),
    ]
    plans, skipped = build_plans(picks, PlanOptions("strm", ANCHOR, artwork=False))
    assert [(p.item_id, p.rank) for p in plans] == [(1, 1), (3, 2)]
    assert len(skipped) == 1 and "B has no file path" in skipped[0]
    nfo = next(f for f in plans[1].files if f.rel == "movie.nfo")
    assert ET.fromstring(nfo.data or b"").findtext("sorttitle") == f"{plans[1].slot:07d} - C"
    assert plans[0].slot < plans[1].slot
    full, _ = build_plans(picks[:1], PlanOptions("strm", ANCHOR, artwork=False))
    assert [(p.item_id, p.rank) for p in full] == [(1, 1)]


def test_a_title_that_keeps_its_slot_keeps_its_files_whatever_its_rank() -> None:
    """A title with the server's poster is the same bytes at rank 1 or rank 9 when its slot stays."""
    options = PlanOptions("strm", ANCHOR)
    first = plan_title(RankedSource(movie(), 1, "why", slot=500), options)
    moved = plan_title(RankedSource(movie(), 9, "why", slot=500), options)
    assert moved.content_hash == first.content_hash and moved.files == first.files
    # A generated poster shows the rank, so a title without one is rewritten when its rank changes.
    bare = movie(image_tags={})
    assert (
        plan_title(RankedSource(bare, 1, "why", slot=500), options).content_hash
        != plan_title(RankedSource(bare, 9, "why", slot=500), options).content_hash
    )


def test_a_new_first_pick_leaves_the_other_plans_unchanged() -> None:
    from sidecar.publish.library import build_plans

    options = PlanOptions("strm", ANCHOR, artwork=False)
    titles = [movie(item_id=n, provider_id=f"p{n}", name=f"T{n}") for n in range(1, 8)]
    before, _ = build_plans([RankedSource(t, rank) for rank, t in enumerate(titles[1:], start=1)], options)
    slots = {p.folder: p.slot for p in before}
    after, _ = build_plans([RankedSource(t, rank) for rank, t in enumerate(titles, start=1)], options, slots)
    assert [p.item_id for p in after] == list(range(1, 8))
    assert [p.slot for p in after] == sorted(p.slot for p in after)
    old_hashes = {p.folder: p.content_hash for p in before}
    assert [p.item_id for p in after if old_hashes.get(p.folder) != p.content_hash] == [1]
