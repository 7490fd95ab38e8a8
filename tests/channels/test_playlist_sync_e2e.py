"""Channels as playlists, end to end on both simulator flavours: create → generate → sync → the owner's playlist
holds exactly the channel's titles in order; a shared user sees it (Jellyfin; Emby has no sharing API); a changed
channel updates the same playlist in place; the owner watches a title (a real webhook, a real worker) → it
leaves the playlist within seconds; delete → the playlist is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlmodel import select

from providers.errors import ProviderNotFound
from sidecar.app import create_app
from sidecar.channel_generate import generate_channel
from sidecar.channel_playlists import sync_channel
from sidecar.channel_refresh import refresh_after_watch
from sidecar.db.models import Channel, Item
from sidecar.jobs.channel_jobs import refresh_channels_job
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import sync_watch_history_job
from sidecar.jobs.worker import stop_worker
from sidecar.media_types import MediaType
from sidecar.web import actions, channel_actions
from sidecar.web.schemas import ChannelIn
from sidecar.webhooks.sweeper import on_worker_start
from tests.channels.conftest import ChannelWorld
from tests.servers import serve
from tests.sync.conftest import sync_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning"),
]


async def _wait_for(predicate: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _channel(world: ChannelWorld, channel_id: int) -> Channel:
    async with world.env.services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        assert channel is not None
        return channel


async def _provider_ids(world: ChannelWorld, item_ids: list[int]) -> list[str]:
    async with world.env.services.sessions() as session:
        rows = (await session.exec(select(Item.id, Item.provider_id).where(Item.id.in_(item_ids)))).all()  # type: ignore[union-attr]
    by_id = dict(rows)
    return [by_id[i] for i in item_ids]


async def _playlist(world: ChannelWorld, playlist_id: str, user: str = "alice") -> list[str]:
    entries = await world.server.playlist_entries(playlist_id, world.provider_user(user))
    return [e.item_id for e in entries]


async def _movie_example(world: ChannelWorld) -> int:
    async with world.env.services.sessions() as session:
        item = (await session.exec(select(Item).where(Item.kind == "Movie").order_by(Item.id))).first()
    assert item is not None and item.id is not None
    return item.id


async def test_movie_channel_lives_on_the_server_as_an_ordered_playlist(world: ChannelWorld) -> None:
    services, alice, bob = world.env.services, world.users["alice"], world.users["bob"]
    async with services.sessions() as session:
        created = await actions.create_channel(
            session,
            alice,
            ChannelIn(name="New channel", example_item_ids=[await _movie_example(world)], shared_with=[bob]),
        )
    assert created.id is not None
    channel_id = created.id

    proposal = await generate_channel(services, channel_id)
    channel = await _channel(world, channel_id)
    assert channel.name == proposal.name != "New channel"  # the default name was replaced, grounded in the example
    assert channel.text_preferences and channel.description
    assert 10 <= len(channel.item_ids) <= 30

    result = await sync_channel(services, channel_id)
    assert result.created and result.items == len(channel.item_ids)
    wanted = await _provider_ids(world, channel.item_ids)
    assert await _playlist(world, result.playlist_id) == wanted  # exactly the channel, in order, for the owner
    owned = await world.server.list_playlists(world.provider_user("alice"))
    assert [p.name for p in owned if p.id == result.playlist_id] == [channel.name]

    bob_sees = {p.id for p in await world.server.list_playlists(world.provider_user("bob"))}
    carol_sees = {p.id for p in await world.server.list_playlists(world.provider_user("carol"))}
    if world.sim.flavor == "jellyfin":
        assert result.shared is True
        assert await world.server.playlist_shared_with(result.playlist_id) == [world.provider_user("bob")]
        assert result.playlist_id in bob_sees and result.playlist_id not in carol_sees
    else:
        assert result.shared is False  # Emby documents no playlist-sharing API

    # a changed channel updates the same playlist in place: reorder, drop and add by entry id
    new_order = [channel.item_ids[2], channel.item_ids[0], *channel.item_ids[5:], channel.item_ids[1]]
    async with services.sessions() as session:
        row = await session.get(Channel, channel_id)
        assert row is not None
        row.item_ids = new_order
        session.add(row)
        await session.commit()
    again = await sync_channel(services, channel_id)
    assert again.playlist_id == result.playlist_id and not again.created
    assert again.removed == 2 and again.added == 0 and again.moved >= 1
    assert await _playlist(world, result.playlist_id) == await _provider_ids(world, new_order)

    # the owner watches the channel's first title: the webhook follow-up refills and resyncs within seconds
    app = create_app(world.env.settings, run_worker=False)
    stages = (("channels", refresh_after_watch),)
    worker = sync_worker(services, stages=stages, burst=False, startup_hooks=[on_worker_start])
    worker_task = asyncio.create_task(worker.async_run())
    try:
        async with serve(app) as base:
            secret = world.env.settings.secret_value("webhook_secret")
            world.sim.webhooks.add_target(f"{base}/webhooks/{world.sim.flavor}?token={secret}")
            watched = (await _playlist(world, result.playlist_id))[0]
            started = time.monotonic()
            world.sim.play("alice", watched, fraction=1.0)

            async def gone_from_playlist() -> bool:
                return watched not in await _playlist(world, result.playlist_id)

            await _wait_for(gone_from_playlist, 20, "the watched title to leave the playlist")
            assert time.monotonic() - started < 10

            async def in_step() -> bool:  # the follow-ups of the playback's webhooks have all run
                channel = await _channel(world, channel_id)
                held = await _playlist(world, result.playlist_id)
                return watched not in held and held == await _provider_ids(world, channel.item_ids)

            await _wait_for(in_step, 20, "the playlist to hold the refilled channel")
    finally:
        await stop_worker(worker, worker_task)
    channel = await _channel(world, channel_id)
    assert channel.sync_error is None and channel.synced_item_count == len(await _playlist(world, result.playlist_id))

    # delete: the playlist goes with the channel
    await channel_actions.delete(services, channel_id, alice)
    with pytest.raises(ProviderNotFound):
        await world.server.playlist_entries(result.playlist_id, world.provider_user("alice"))
    assert result.playlist_id not in {p.id for p in await world.server.list_playlists(world.provider_user("alice"))}


async def test_series_channel_holds_each_series_next_unwatched_episode(world: ChannelWorld) -> None:
    services, alice = world.env.services, world.users["alice"]
    async with services.sessions() as session:
        series = (await session.exec(select(Item).where(Item.kind == "Series").order_by(Item.id))).all()
        created = await actions.create_channel(
            session, alice, ChannelIn(name="Shows", media_type=MediaType.SERIES, text_preferences="drama")
        )
    assert created.id is not None and len(series) == 4
    async with services.sessions() as session:
        row = await session.get(Channel, created.id)
        assert row is not None
        row.item_ids = [s.id for s in series if s.id is not None]  # all four, in a known order
        session.add(row)
        await session.commit()
    first_series = world.sim.item(series[0].provider_id)
    episodes = sorted(
        (i for i in world.sim.items.values() if i.type == "Episode" and i.series_id == first_series.id),
        key=lambda e: (e.parent_index_number or 0, e.index_number or 0),
    )
    world.sim.mark_played("alice", episodes[0].id)  # watched the first episode: the playlist starts at the second
    await sync_watch_history_job(services, Progress.detached())

    result = await sync_channel(services, created.id)
    held = await world.server.playlist_entries(result.playlist_id, world.provider_user("alice"))
    assert [e.type for e in held] == ["Episode"] * len(held)
    expected = _next_episodes(world, [s.provider_id for s in series])
    assert [e.item_id for e in held] == expected
    assert expected[0] != episodes[0].id  # the watched first episode is not the entry

    # the hourly refresh catches a watch whose webhook never came: that series moves on to its next episode
    world.sim.mark_played("alice", expected[0], notify=False)
    await sync_watch_history_job(services, Progress.detached())
    report = await refresh_channels_job(services, Progress.detached())
    assert report["refilled"] >= 1 and report["synced"] == 1 and not report["failed"]
    channel = await _channel(world, created.id)
    now_held = await _playlist(world, result.playlist_id)
    assert expected[0] not in now_held
    assert now_held == _next_episodes(world, await _provider_ids(world, channel.item_ids))


def _next_episodes(world: ChannelWorld, series_ids: list[str]) -> list[str]:
    """Per series in order, the first episode alice has not played in the simulator (specials last)."""
    out = []
    for series_id in series_ids:
        eps = sorted(
            (i for i in world.sim.items.values() if i.type == "Episode" and i.series_id == series_id),
            key=lambda e: ((e.parent_index_number or 0) == 0, e.parent_index_number or 0, e.index_number or 0),
        )
        unwatched = [e for e in eps if not world.sim.get_user_data(world.provider_user("alice"), e).played]
        if unwatched:
            out.append(unwatched[0].id)
    return out
