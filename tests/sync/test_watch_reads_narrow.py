"""Watch-history reads, full and delta, ask the server only for ids and user data (no ``Fields``, no images),
for both flavours, and still leave the simulator's history in the database."""

from __future__ import annotations

import pytest

from providers.mediabrowser import EmbyServer, JellyfinServer
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.sync.watch import sync_watch_history
from tests.providers.recording import RecordingTransport
from tests.sync.conftest import SimEnv, same_state


def _assert_narrow(transport: RecordingTransport) -> int:
    listings = transport.item_listings()
    for call in listings:
        assert "fields" not in call.params, call.request.url
        assert call.params["enableimages"] == "false" and call.params["enableuserdata"] == "true"
    return len(listings)


async def _assert_history(sim_env: SimEnv) -> None:
    truth = sim_env.sim_truth()
    rows = {k: v for k, v in (await sim_env.watch_rows()).items() if v["kind"] != "Series"}
    assert set(rows) == set(truth)
    assert [k for k in truth if not same_state(rows[k], truth[k])] == []


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_full_and_delta_watch_reads_are_narrow(sim_env: SimEnv) -> None:
    sim, services = sim_env.sim, sim_env.services
    await initial_sync_job(services, Progress.detached())
    transport = RecordingTransport()
    cls = JellyfinServer if sim.flavor == "jellyfin" else EmbyServer
    catalogue_provider = services.media_server
    services.media_server = cls(sim_env.url, sim.admin_api_key, retries=0, timeout=10, http_transport=transport)
    try:
        await sync_watch_history(services, full=True)
        assert _assert_narrow(transport) >= 4 * len(sim.users)  # four views per user, resume among them
        assert any(c.request.url.path.endswith("/Resume") for c in transport.item_listings())
        await _assert_history(sim_env)

        movies = [i.id for i in sim.items.values() if i.type == "Movie"]
        sim.mark_played("alice", movies[0], notify=False)
        sim.set_favorite("bob", movies[1], notify=False)
        sim.play("bob", movies[2], fraction=0.3)
        transport.calls.clear()
        await sync_watch_history(services, full=False)
        assert _assert_narrow(transport) == len(sim.users)  # one delta read per user
        await _assert_history(sim_env)
    finally:
        await services.media_server.aclose()
        services.media_server = catalogue_provider
