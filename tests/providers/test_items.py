from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from providers.errors import ProviderNotFound, ProviderUnavailable
from tests.providers.conftest import Served


async def test_iter_items_pages_through_everything_once(served: Served) -> None:
    provider = served.provider
    movies = [item async for item in provider.iter_items(["Movie"], page_size=7)]
    assert len(movies) == 40 == len({m.id for m in movies})
    assert await provider.count_items(["Movie"]) == 40
    first = movies[0]
    assert first.type == "Movie" and first.year and first.genres and first.studios and first.overview
    assert {p.type for p in first.people} == {"Director", "Actor"}
    assert set(first.provider_ids) == {"Tmdb", "Imdb"}
    assert first.path and first.path.endswith(".mkv")
    assert first.image_tags.get("Primary") and first.image_tags.get("Backdrop")  # from BackdropImageTags
    assert first.date_created and first.runtime_ticks
    assert first.user_data is None  # no user asked for
    dates = [m.date_created for m in movies]
    assert dates == sorted(dates)  # stable paging order


async def test_series_seasons_and_episodes_hang_together(served: Served) -> None:
    provider = served.provider
    series = [s async for s in provider.iter_items(["Series"])]
    assert len(series) == 3
    show = series[0]
    seasons = [s async for s in provider.iter_items(["Season"], parent_id=show.id)]
    episodes = [e async for e in provider.iter_items(["Episode"], parent_id=show.id)]
    assert seasons and episodes
    assert all(e.series_id == show.id and e.series_name == show.name for e in episodes)
    assert {e.season_id for e in episodes} == {s.id for s in seasons}
    assert all(e.index_number and e.parent_index_number for e in episodes)
    in_first = [e async for e in provider.iter_items(["Episode"], parent_id=seasons[0].id)]
    assert in_first and all(e.parent_id == seasons[0].id for e in in_first)


async def test_user_filters_and_delta_cursor(served: Served) -> None:
    provider, sim = served.provider, served.sim
    alice = served.user_id("alice")
    movies = [m async for m in provider.iter_items(["Movie"], user_id=alice)]
    assert all(m.user_data is not None and not m.user_data.played for m in movies)
    before = datetime.now(UTC) - timedelta(seconds=1)
    played = await provider.mark_played(alice, movies[0].id)
    assert played.played and played.play_count == 1 and played.item_id == movies[0].id
    favourite = await provider.set_favorite(alice, movies[1].id, True)
    assert favourite.is_favorite
    assert [m.id async for m in provider.iter_items(["Movie"], user_id=alice, is_played=True)] == [movies[0].id]
    assert [m.id async for m in provider.iter_items(["Movie"], user_id=alice, is_favorite=True)] == [movies[1].id]
    changed = {m.id async for m in provider.iter_items(["Movie"], user_id=alice, min_date_last_saved_for_user=before)}
    assert changed == {movies[0].id, movies[1].id}
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert [m async for m in provider.iter_items(["Movie"], user_id=alice, min_date_last_saved_for_user=later)] == []
    # Bob's data is his own.
    assert [m async for m in provider.iter_items(["Movie"], user_id=served.user_id("bob"), is_played=True)] == []
    unplayed = await provider.mark_unplayed(alice, movies[0].id)
    assert not unplayed.played
    assert not (await provider.set_favorite(alice, movies[1].id, False)).is_favorite
    assert sim.get_user_data(alice, sim.item(movies[1].id)).is_favorite is False


async def test_min_date_last_saved_finds_edited_items(served: Served) -> None:
    provider = served.provider
    movies = [m async for m in provider.iter_items(["Movie"])]
    cutoff = datetime.now(UTC) - timedelta(milliseconds=1)
    await provider.update_item(movies[3].id, {"Overview": "Rewritten."})
    edited = [m async for m in provider.iter_items(["Movie"], min_date_last_saved=cutoff)]
    assert [m.id for m in edited] == [movies[3].id]
    assert edited[0].overview == "Rewritten."


async def test_ids_filter_and_user_data_for_many_items(served: Served) -> None:
    provider = served.provider
    alice = served.user_id("alice")
    ids = [m.id async for m in provider.iter_items(["Movie", "Episode"])]
    assert len(ids) > 100  # crosses the per-request id chunk
    fetched = [i.id async for i in provider.iter_items(ids=ids, sort_by=None)]
    assert sorted(fetched) == sorted(ids)
    await provider.mark_played(alice, ids[-1])
    data = await provider.get_user_data(alice, ids)
    assert len(data) == len(ids) and data[ids[-1]].played and not data[ids[0]].played


async def test_get_item_and_resume(served: Served) -> None:
    provider, sim = served.provider, served.sim
    alice = served.user_id("alice")
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    sim.play_start("alice", movie.id)
    sim.play_stop("alice", movie.id, (movie.runtime_ticks or 0) // 2)
    item = await provider.get_item(movie.id, user_id=alice)
    assert item.id == movie.id and item.name == movie.name
    assert item.user_data and item.user_data.position_ticks == (movie.runtime_ticks or 0) // 2
    assert item.user_data.played_percentage == pytest.approx(50.0)
    assert [i.id for i in await provider.resume_items(alice)] == [movie.id]
    assert (await provider.get_item(movie.id)).user_data is None
    with pytest.raises(ProviderNotFound, match="has no item"):
        await provider.get_item("deadbeef" * 4 if sim.flavor == "jellyfin" else "999999")


async def test_set_sort_name_round_trips_the_whole_item(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    before = (movie.overview, list(movie.genres), dict(movie.provider_ids), movie.year, [p.name for p in movie.people])
    await provider.set_sort_name(movie.id, "00001 - first")
    item = await provider.get_item(movie.id)
    assert item.forced_sort_name == "00001 - first"
    assert "Name" in item.locked_fields
    assert (movie.overview, movie.genres, movie.provider_ids, movie.year, [p.name for p in movie.people]) == before
    ordered = [m.id async for m in provider.iter_items(["Movie"], sort_by=["SortName"])]
    assert ordered[0] == movie.id


async def test_delete_item_fires_and_disappears(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    await provider.delete_item(movie.id)
    assert await provider.count_items(["Movie"]) == 39
    with pytest.raises(ProviderNotFound):
        await provider.delete_item(movie.id)


async def test_stream_and_image_urls_work(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    async with httpx.AsyncClient() as http:
        stream = await http.get(provider.stream_url(movie.id))
        assert stream.status_code == 200
        assert (await http.get(provider.stream_url(movie.id, with_key=False))).status_code == 401
        image = await http.get(provider.image_url(movie.id, tag=movie.image_tag, max_width=300))
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


async def test_fetch_image_goes_through_the_provider(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    image = await provider.fetch_image(movie.id, tag=movie.image_tag, max_width=300)
    assert image.content_type == "image/png" and image.data.startswith(b"\x89PNG")
    backdrop = await provider.fetch_image(movie.id, image_type="Backdrop", max_width=1280)
    assert backdrop.data.startswith(b"\x89PNG")
    with pytest.raises(ProviderNotFound):  # no such image: a 404 means "no image"
        await provider.fetch_image(movie.id, image_type="Disc")
    with pytest.raises(ProviderNotFound):  # no such item
        await provider.fetch_image("f" * 32)


async def test_fetch_image_fails_fast_when_the_server_fails(served: Served) -> None:
    movie = next(i for i in served.sim.items.values() if i.type == "Movie")
    served.sim.inject_fault(503, 2, path_contains=f"/items/{movie.id}/images/primary", method="GET")
    with pytest.raises(ProviderUnavailable):
        await served.provider.fetch_image(movie.id)
    assert served.sim.faults[-1].remaining == 1  # asked once, not retried (other calls retry twice)


async def test_ids_a_jellyfin_server_cannot_bind_match_nothing(served: Served) -> None:
    """Jellyfin drops a non-GUID id and then filters on nothing; the provider must not page the whole server."""
    alice = served.user_id("alice")
    if served.sim.flavor == "jellyfin":
        assert [i async for i in served.provider.iter_items(ids=["not-a-guid"], user_id=alice)] == []
    movie = next(i for i in served.sim.items.values() if i.type == "Movie")
    found = [i.id async for i in served.provider.iter_items(ids=["42x", movie.id], user_id=alice)]
    assert found == [movie.id]
