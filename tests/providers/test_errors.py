from __future__ import annotations

import time

import pytest

from providers.errors import ProviderAuthError, ProviderNotFound, ProviderUnavailable
from providers.mediabrowser import make_client
from providers.simulator.serve import free_port
from tests.providers.conftest import Served


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_server_down_is_unavailable_after_retries(kind: str) -> None:
    port = free_port()
    client = make_client(kind, f"http://127.0.0.1:{port}", "k" * 32, retries=2, backoff=0.01)
    try:
        with pytest.raises(ProviderUnavailable, match=rf"Cannot reach .* at http://127.0.0.1:{port}.*3 attempts"):
            await client.server_info()
    finally:
        await client.aclose()


async def test_bad_key_says_where_to_make_one(served: Served) -> None:
    client = make_client(served.sim.flavor, served.url, "0" * 32, retries=0)
    try:
        with pytest.raises(ProviderAuthError, match=r"refused the API key.*API Keys") as caught:
            await client.list_users()
        assert caught.value.status_code == 401
    finally:
        await client.aclose()


async def test_unknown_ids_are_not_found(served: Served) -> None:
    missing = "ab" * 16 if served.sim.flavor == "jellyfin" else "424242"
    with pytest.raises(ProviderNotFound):
        await served.provider.set_favorite(served.user_id("alice"), missing, True)
    with pytest.raises(ProviderNotFound):
        await served.provider.add_to_collection(missing, [missing])


async def test_500_then_success_is_retried(served: Served) -> None:
    served.sim.inject_fault(500, 2, path_contains="/Users")
    users = await served.provider.list_users()
    assert len(users) == 3
    assert served.sim.faults[0].remaining == 0


async def test_persistent_500_is_unavailable(served: Served) -> None:
    served.sim.inject_fault(503, 10, path_contains="/ScheduledTasks")
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match=r"HTTP 503.*gave up after 3 attempts") as caught:
        await served.provider.scan_state()
    assert caught.value.status_code == 503
    assert time.monotonic() - started < 2


async def test_non_idempotent_post_is_not_repeated_after_500(served: Served) -> None:
    served.sim.inject_fault(500, 1, path_contains="/Collections", method="POST")
    with pytest.raises(ProviderUnavailable):
        await served.provider.create_collection("Once", [])
    assert await served.provider.find_collection("Once") is None


@pytest.mark.parametrize("body", [b'{"Version": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000])
async def test_json_marquee_cannot_read_is_a_provider_error(body: bytes) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from providers.errors import ProviderResponseError
    from tests.servers import serve

    async def answer(request: object) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", answer)])
    async with serve(app) as url:
        client = make_client("jellyfin", url, "k" * 32, retries=0)
        try:
            with pytest.raises(ProviderResponseError, match="cannot read"):
                await client.server_info()
        finally:
            await client.aclose()
