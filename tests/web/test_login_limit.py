"""The login limit over real HTTP: per account and per client address, atomic under 100 concurrent attempts,
and X-Forwarded-For believed only from MARQUEE_TRUSTED_PROXIES. The simulator is served behind a small ASGI
wrapper that counts the logins that reach it (and answers them slowly, so concurrent attempts overlap)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator, synthetic_catalog
from sidecar.settings import Settings
from sidecar.web import login_limit
from tests.servers import free_port, serve
from tests.web.conftest import Web, running_web

LIMIT = login_limit.LOGIN_MAX_FAILURES
AUTH_DELAY_S = 0.3


class CountingLogins:
    """ASGI wrapper around the simulator: counts ``POST /Users/AuthenticateByName`` and delays each answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.logins = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/Users/AuthenticateByName"):
            self.logins += 1
            await asyncio.sleep(AUTH_DELAY_S)
        await self.app(scope, receive, send)


@asynccontextmanager
async def marquee(settings: Settings, *, trusted_proxies: str = "") -> AsyncIterator[tuple[Web, CountingLogins]]:
    simulator = Simulator("jellyfin", catalog=synthetic_catalog(4, 1, seed=5), users=["alice", "bob"], seed=7)
    counting = CountingLogins(simulator.app)
    async with serve(counting) as url:
        simulator.server_url = url
        configured = settings.model_copy(update={"trusted_proxies": trusted_proxies})
        async with running_web(configured, simulator, url, run_worker=False) as web:
            yield web, counting


@pytest.fixture
async def direct(
    settings: Settings, clean_db: AsyncEngine, clean_redis: str
) -> AsyncIterator[tuple[Web, CountingLogins]]:
    """No trusted proxies (the default): X-Forwarded-For is ignored."""
    async with marquee(settings) as env:
        yield env


@pytest.fixture
async def proxied(
    settings: Settings, clean_db: AsyncEngine, clean_redis: str
) -> AsyncIterator[tuple[Web, CountingLogins]]:
    """The test client (127.0.0.1) is a trusted proxy: X-Forwarded-For says who the client is."""
    async with marquee(settings, trusted_proxies="127.0.0.1,10.0.0.0/8") as env:
        yield env


async def _attempt(client: httpx.AsyncClient, name: str, password: str, forwarded: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await client.post("/api/auth/login", json={"name": name, "password": password}, headers=headers)


async def test_rotating_x_forwarded_for_does_not_bypass_the_address_limit(
    direct: tuple[Web, CountingLogins],
) -> None:
    web, counting = direct
    client = web.client()
    for n in range(LIMIT):  # a new account name and a new "address" every time
        response = await _attempt(client, f"guess{n}", "x", forwarded=f"203.0.113.{n + 1}")
        assert response.status_code == 401, response.text
    blocked = await _attempt(client, "alice", web.password("alice"), forwarded="198.51.100.99")
    assert blocked.status_code == 429 and "from your address" in blocked.json()["error"]["message"]
    assert counting.logins == LIMIT


async def test_100_concurrent_wrong_passwords_let_only_the_limit_through(direct: tuple[Web, CountingLogins]) -> None:
    web, counting = direct
    async with httpx.AsyncClient(base_url=web.base, timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        responses = await asyncio.gather(*(_attempt(client, "alice", f"wrong-{n}") for n in range(100)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * LIMIT + [429] * (100 - LIMIT)
    assert counting.logins == LIMIT
    # Locked now, the right password included; nothing more reaches the server.
    assert (await _attempt(web.client(), "alice", web.password("alice"))).status_code == 429
    assert counting.logins == LIMIT


async def test_100_concurrent_attempts_on_rotating_names_and_forwarded_addresses(
    direct: tuple[Web, CountingLogins],
) -> None:
    web, counting = direct
    async with httpx.AsyncClient(base_url=web.base, timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        responses = await asyncio.gather(
            *(_attempt(client, f"user{n}", "x", forwarded=f"198.51.100.{n + 1}") for n in range(100))
        )
    assert sorted(r.status_code for r in responses) == [401] * LIMIT + [429] * (100 - LIMIT)
    assert counting.logins == LIMIT


async def test_the_account_limit_holds_across_addresses_and_spellings(proxied: tuple[Web, CountingLogins]) -> None:
    web, counting = proxied
    client = web.client()
    spellings = ["alice", "Alice", "ALICE", " alice ", "aLiCe"]
    for n, name in enumerate(spellings):
        response = await _attempt(client, name, "wrong", forwarded=f"203.0.113.{n + 1}")
        assert response.status_code == 401, response.text
    blocked = await _attempt(client, "alice", web.password("alice"), forwarded="198.51.100.7")
    assert blocked.status_code == 429 and "for this user name" in blocked.json()["error"]["message"]
    assert counting.logins == LIMIT
    # Another account from the same address is not affected.
    assert (await _attempt(client, "bob", web.password("bob"), forwarded="198.51.100.7")).status_code == 200


async def test_concurrent_guesses_at_one_account_from_many_addresses(proxied: tuple[Web, CountingLogins]) -> None:
    web, counting = proxied
    async with httpx.AsyncClient(base_url=web.base, timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        responses = await asyncio.gather(
            *(_attempt(client, "bob", "x", forwarded=f"10.9.{n}.1, 198.51.{n}.1") for n in range(100))
        )
    assert sorted(r.status_code for r in responses) == [401] * LIMIT + [429] * (100 - LIMIT)
    assert counting.logins == LIMIT


async def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(proxied: tuple[Web, CountingLogins]) -> None:
    web, counting = proxied
    client = web.client()
    for n in range(LIMIT):
        # The left-most entry is whatever the client wrote; the proxy appended the real address.
        response = await _attempt(client, f"guess{n}", "x", forwarded=f"192.0.2.{n + 1}, 203.0.113.7")
        assert response.status_code == 401, response.text
    blocked = await _attempt(client, "alice", web.password("alice"), forwarded="203.0.113.7")
    assert blocked.status_code == 429 and "from your address" in blocked.json()["error"]["message"]
    # Another client behind the same proxy (also through a second trusted hop) still logs in.
    other = await _attempt(client, "alice", web.password("alice"), forwarded="203.0.113.8, 10.1.2.3")
    assert other.status_code == 200, other.text
    # No X-Forwarded-For: the proxy itself is the client, and it has no failures of its own.
    assert (await _attempt(client, "bob", web.password("bob"))).status_code == 200
    assert counting.logins == LIMIT + 2


async def test_a_correct_login_does_not_use_up_the_limit(direct: tuple[Web, CountingLogins]) -> None:
    web, _ = direct
    for _ in range(LIMIT + 3):
        assert (await _attempt(web.client(), "alice", web.password("alice"))).status_code == 200
    assert (await _attempt(web.client(), "alice", "wrong")).status_code == 401


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", ["198.51.100.1"], "", "203.0.113.5"),  # no trusted proxies: the header is ignored
        ("127.0.0.1", ["198.51.100.1"], "", "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1"], "127.0.0.1", "198.51.100.1"),
        ("127.0.0.1", ["6.6.6.6, 198.51.100.1"], "127.0.0.1", "198.51.100.1"),  # left entries are the client's
        ("127.0.0.1", ["6.6.6.6", "198.51.100.1, 10.0.0.2"], "127.0.0.1,10.0.0.0/8", "198.51.100.1"),
        ("127.0.0.1", ["10.0.0.3, 10.0.0.2"], "127.0.0.1,10.0.0.0/8", "10.0.0.3"),  # all proxies: the farthest
        ("127.0.0.1", ["6.6.6.6, not-an-ip, 10.0.0.2"], "127.0.0.1,10.0.0.0/8", "10.0.0.2"),  # stop at garbage
        ("127.0.0.1", [], "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::7]:443"], "127.0.0.1", "2001:db8::7"),
        ("127.0.0.1", ["198.51.100.1:5555"], "127.0.0.1", "198.51.100.1"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "127.0.0.1", "198.51.100.1"),  # IPv4-mapped peer
        ("::1", ["198.51.100.1"], "127.0.0.1", "::1"),
        ("::1", ["198.51.100.1"], "::1/128", "198.51.100.1"),
        (None, ["198.51.100.1"], "127.0.0.1", "unknown"),
    ],
)
def test_forwarded_client(peer: str | None, forwarded: list[str], trusted: str, client: str) -> None:
    assert login_limit.forwarded_client(peer, forwarded, trusted) == client


def test_ipv6_clients_are_limited_by_their_64() -> None:
    one = login_limit.limit_keys("alice", "2001:db8:1:2:aaaa::1")
    other = login_limit.limit_keys("Alice ", "2001:db8:1:2:bbbb::2")
    assert one == other
    assert login_limit.limit_keys("alice", "2001:db8:1:3::1")[0] != one[0]
    assert login_limit.limit_keys("alice", "198.51.100.1")[0] != login_limit.limit_keys("alice", "198.51.100.2")[0]


@pytest.mark.parametrize("value", ["not-an-ip", "10.0.0.0/33", "127.0.0.1, 300.1.1.1", "10.0.0.1;10.0.0.2"])
def test_a_wrong_trusted_proxy_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValidationError, match="MARQUEE_TRUSTED_PROXIES"):
        Settings(_env_file=None, trusted_proxies=value)  # type: ignore[call-arg]


def test_trusted_proxies_are_normalised() -> None:
    settings = Settings(_env_file=None, trusted_proxies=" 127.0.0.1 , 10.1.2.3/8,::1,, ")  # type: ignore[call-arg]
    assert settings.trusted_proxies == "127.0.0.1/32,10.0.0.0/8,::1/128"
    assert Settings(_env_file=None).trusted_proxies == ""  # type: ignore[call-arg]


async def test_without_redis_logins_are_refused_not_uncounted(direct: tuple[Web, CountingLogins]) -> None:
    web, counting = direct
    real = web.services.redis
    web.services.redis = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    try:
        response = await _attempt(web.client(), "alice", web.password("alice"))
    finally:
        await web.services.redis.aclose()
        web.services.redis = real
    assert response.status_code == 503 and "Redis" in response.json()["error"]["message"]
    assert counting.logins == 0
