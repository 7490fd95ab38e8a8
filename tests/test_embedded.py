"""Embedded servers that behave like supervised ones: real redis-server and PostgreSQL processes, killed for real."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import serve_simulator
from providers.simulator.state import Simulator
from sidecar import supervisor
from sidecar.app import create_app
from sidecar.commands import run_and_wait
from sidecar.embedded_postgres import EmbeddedPostgres
from sidecar.embedded_redis import REDIS_CONFIG, EmbeddedRedis, _redis_binary
from sidecar.runtime import check_redis
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync import state
from tests.servers import serve
from tests.sync.conftest import SimEnv, make_sim, own_job_functions, same_state

# sidecar/jobs/progress.py flushes with AsyncSession.execute, which sqlmodel deprecates; under
# filterwarnings=error every tracked job run by a worker would fail at its first progress flush.
pytestmark = pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning")

KEYS = 12_000
VALUE_BYTES = 600  # random, so the AOF stays multi-MB after a rewrite: ~7.5 MB


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


async def await_until(predicate: Callable[[], bool | Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def redis_servers_in(workdir: Path) -> list[int]:
    target = str(workdir.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cwd", "status"]):
        if proc.info["name"] == "redis-server" and proc.info["cwd"] == target and proc.info["status"] != "zombie":
            found.append(proc.pid)
    return found


def fill(client: redis.Redis, keys: int = KEYS) -> None:
    pipe = client.pipeline(transaction=False)
    for n in range(keys):
        pipe.set(f"k{n}", secrets.token_bytes(VALUE_BYTES))
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


@pytest.fixture
def embedded_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_config_fits_arq_and_a_long_life(embedded_redis: EmbeddedRedis) -> None:
    client = redis.Redis(unix_socket_path=str(embedded_redis.socket_path))
    try:
        config = client.config_get("*")
    finally:
        client.close()
    assert config["maxmemory-policy"] == "noeviction"  # arq: never evict queued jobs
    assert int(config["maxmemory"]) == 256 * 1024 * 1024
    assert config["appendonly"] == "yes"
    assert config["save"] == ""
    assert int(config["auto-aof-rewrite-min-size"]) == 4 * 1024 * 1024
    assert config["auto-aof-rewrite-percentage"] == "100"
    assert "--maxmemory-policy" in REDIS_CONFIG


def test_restart_on_a_multi_mb_aof_waits_out_loading(
    tmp_path: Path, embedded_redis: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis(unix_socket_path=str(embedded_redis.socket_path))
    fill(client)
    client.close()
    embedded_redis.stop()
    aof = tmp_path / "redis" / "appendonly.aof"
    assert aof.stat().st_size > 5_000_000

    # As it is: start-up succeeds with every key back (the issue: four failures out of four).
    again = EmbeddedRedis(tmp_path)
    again.start()
    try:
        client = redis.Redis(unix_socket_path=str(again.socket_path))
        assert client.dbsize() == KEYS
        client.close()
    finally:
        again.stop()

    # Loading slowed down (Redis's key-load-delay), so that it surely answers LOADING to the first PING.
    caplog.set_level(logging.INFO, logger="sidecar.embedded")
    slow = EmbeddedRedis(tmp_path, extra_args=("--key-load-delay", "200"))
    slow.start()
    try:
        assert slow.last_load_wait_s is not None and slow.last_load_wait_s > 0.5
        client = redis.Redis(unix_socket_path=str(slow.socket_path))
        assert client.dbsize() == KEYS
        client.close()
    finally:
        slow.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "sidecar.embedded"]
    assert any("is loading its data" in m and "MB append-only file" in m for m in said), said
    assert any("loaded its data in" in m for m in said), said


async def test_check_redis_waits_while_a_configured_redis_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """MARQUEE_REDIS_URL pointing at a Redis that is loading: the start-up check waits instead of failing."""
    seeded = EmbeddedRedis(tmp_path)
    seeded.start()
    client = redis.Redis(unix_socket_path=str(seeded.socket_path))
    fill(client)
    client.close()
    seeded.stop()
    workdir = tmp_path / "redis"
    sock = workdir / "loading.sock"
    args = [str(_redis_binary()), "--port", "0", "--unixsocket", str(sock), "--dir", str(workdir), *REDIS_CONFIG]
    args += ["--key-load-delay", "200", "--logfile", str(workdir / "loading.log")]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        wait_until(sock.exists, 10, "the socket")
        probe = redis.Redis(unix_socket_path=str(sock), socket_timeout=5)
        with pytest.raises(redis.exceptions.BusyLoadingError):
            probe.ping()
        probe.close()
        caplog.set_level(logging.INFO, logger="sidecar.runtime")
        await check_redis(f"unix://{sock}")
        said = [r.getMessage() for r in caplog.records if r.name == "sidecar.runtime"]
        assert any("(MARQUEE_REDIS_URL) is loading its data" in m for m in said), said
    finally:
        process.terminate()
        process.wait(10)


def test_supervisor_restarts_a_killed_redis_with_its_data(
    embedded_redis: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sidecar.supervisor")
    client = redis.Redis(unix_socket_path=str(embedded_redis.socket_path))
    client.set("marker", "before the kill")
    watcher = supervisor.Supervisor([embedded_redis])
    watcher.start()
    try:
        assert supervisor.state() == "ok"
        first = embedded_redis.process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        wait_until(lambda: embedded_redis.process is not first and embedded_redis.alive(), 10, "the restart")
        wait_until(lambda: watcher.state == "ok", 10, "the supervisor to see it back")
        assert client.get("marker") == b"before the kill"  # same socket: the client reconnects by itself
        assert redis_servers_in(embedded_redis.workdir) == [embedded_redis.process.pid]  # type: ignore[union-attr]
    finally:
        watcher.stop()
        client.close()
    assert supervisor.state() is None
    said = [r.getMessage() for r in caplog.records if r.name == "sidecar.supervisor"]
    assert any("died (killed by SIGKILL); restarting it" in m for m in said), said
    assert any("is back after" in m for m in said), said


def test_a_restart_that_fails_is_retried_with_back_off_and_reported_as_recovering(
    embedded_redis: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sidecar.supervisor")
    watcher = supervisor.Supervisor([embedded_redis])
    watcher.start()
    try:
        embedded_redis.extra_args = ("--no-such-directive", "1")  # every restart fails until this is undone
        assert embedded_redis.process is not None
        os.kill(embedded_redis.process.pid, signal.SIGKILL)

        def failed(times: int) -> Callable[[], bool]:
            return lambda: sum("did not restart" in r.getMessage() for r in caplog.records) >= times

        wait_until(failed(2), 10, "two failed restarts")
        assert watcher.state == "recovering"
        assert supervisor.state() == "recovering"
        messages = [r.getMessage() for r in caplog.records if "did not restart" in r.getMessage()]
        assert "attempt 1" in messages[0] and "trying again in 0.5s" in messages[0]
        assert "attempt 2" in messages[1] and "trying again in 1.0s" in messages[1]
        assert "(attempt 1: exited at start: " in messages[0] and "Bad directive" in messages[0], messages[0]
        embedded_redis.extra_args = ()
        wait_until(lambda: watcher.state == "ok", 10, "the restart once fixed")
        assert embedded_redis.alive()
    finally:
        watcher.stop()


def test_an_orphaned_redis_on_our_aof_is_stopped_not_doubled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """What a kill -9 of Marquee leaves: a redis-server whose parent is gone, still appending to our AOF."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    sock = tmp_path / "orphan.sock"
    orphan = subprocess.Popen(
        [str(_redis_binary()), "--port", "0", "--unixsocket", str(sock), "--dir", str(workdir), *REDIS_CONFIG],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(sock.exists, 10, "the orphan's socket")
        client = redis.Redis(unix_socket_path=str(sock))
        wait_until(lambda: _pings(client), 10, "the orphan to answer")
        client.set("written by the orphan", "kept")
        client.close()
        caplog.set_level(logging.WARNING, logger="sidecar.embedded")
        server = EmbeddedRedis(tmp_path)
        server.start()
        try:
            assert orphan.poll() is not None, "the orphan should have been stopped"
            assert orphan.returncode == 0  # SIGTERM: Redis fsynced its AOF and exited cleanly
            assert redis_servers_in(workdir) == [server.process.pid]  # type: ignore[union-attr]
            ours = redis.Redis(unix_socket_path=str(server.socket_path))
            assert ours.get("written by the orphan") == b"kept"
            ours.close()
        finally:
            server.stop()
        assert any(f"stopping a redis-server (pid {orphan.pid})" in r.getMessage() for r in caplog.records)
    finally:
        if orphan.poll() is None:
            orphan.kill()
        orphan.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


def test_errors_name_the_embedded_redis_not_the_setting(embedded_redis: EmbeddedRedis) -> None:
    url = embedded_redis.url
    embedded_redis._terminate()  # the server is gone, the URL still registered as ours
    from sidecar.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        asyncio.run(check_redis(url))
    message = str(caught.value)
    assert message.startswith(f"Cannot connect to the embedded Redis in {embedded_redis.workdir} ")
    assert "(MARQUEE_REDIS_URL is not set)" in message


# --- the whole app: the worker and the web app through a Redis or PostgreSQL death ---------------------


def _own_jobs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the sync and webhook jobs, with the follow-up stages of other features (models, publishing)
    replaced by nothing: what matters here is that work reaches the database, not what it computes."""

    async def nothing(services: Services, user_id: int, media_types: frozenset[str], progress: Any) -> None:
        return None

    functions = own_job_functions((("nothing", nothing),))
    monkeypatch.setattr("sidecar.jobs.worker.worker_functions", lambda: functions)


def _embedded(kind: type[Any]) -> Any:
    for watcher in supervisor.running():
        for server in watcher.servers:
            if isinstance(server, kind):
                return server
    raise AssertionError(f"no supervised {kind.__name__}")


async def _health(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/healthz")
    body: dict[str, Any] = response.json()
    body["code"] = response.status_code
    return body


@asynccontextmanager
async def _marquee_on_the_simulator(
    settings: Settings, sim: Simulator, **update: Any
) -> AsyncIterator[tuple[str, httpx.AsyncClient, SimEnv]]:
    """Marquee (web app and worker) on the simulator with ``update`` applied to ``settings``; yields once the
    first sync is done and ``/healthz`` says ok."""
    async with serve_simulator(sim) as sim_url:
        configured = settings.model_copy(
            update={
                **update,
                "media_server_url": sim_url,
                "media_server_type": "jellyfin",
                "media_server_api_key": SecretStr(sim.admin_api_key),
            }
        )
        app = create_app(configured, run_worker=True)
        async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
            env = SimEnv(sim, sim_url, configured, app.state.services)

            async def synced() -> bool:
                return await state.has_initial_sync(env.services.engine)

            await await_until(synced, 60, "the first sync")
            await await_until(lambda: _healthy(client), 30, "healthz ok")
            sim.webhooks.add_target(f"{base}/webhooks/jellyfin?token={configured.secret_value('webhook_secret')}")
            yield base, client, env
        await sim.webhooks.aclose()


async def _healthy(client: httpx.AsyncClient) -> bool:
    return (await _health(client))["code"] == 200


@pytest.mark.slow
async def test_redis_killed_while_marquee_runs_comes_back_and_nothing_is_lost(
    settings: Settings, clean_db: AsyncEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _own_jobs_only(monkeypatch)
    caplog.set_level(logging.INFO)
    sim = make_sim()
    # redis_url=None: the embedded Redis, supervised
    async with _marquee_on_the_simulator(settings, sim, redis_url=None) as (_, client, env):
        services = env.services

        async def healthy() -> bool:
            return await _healthy(client)

        embedded: EmbeddedRedis = _embedded(EmbeddedRedis)
        assert (await _health(client))["embedded_servers"] == "ok"

        # Written before the kills: still there after them.
        await services.redis.set("marquee:test:before-the-kill", "1")
        aof = embedded.workdir / "appendonly.aof"
        await await_until(lambda: b"marquee:test:before-the-kill" in aof.read_bytes(), 5, "the AOF write")

        # A plain kill: back by itself.
        first = embedded.process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)

        await await_until(
            lambda: embedded.process is not first and embedded.alive() and supervisor.state() == "ok",
            10,
            "the supervisor's restart",
        )
        await await_until(healthy, 30, "healthz ok after the restart")

        # A kill whose restart fails for a while: /healthz says recovering, webhooks wait in PostgreSQL.
        embedded.extra_args = ("--no-such-directive", "1")
        second = embedded.process
        assert second is not None
        os.kill(second.pid, signal.SIGKILL)

        async def recovering() -> bool:
            body = await _health(client)
            return body["code"] == 503 and body["status"] == "recovering"

        await await_until(recovering, 10, "healthz to say recovering")
        await await_until(lambda: any("did not restart" in r.getMessage() for r in caplog.records), 10, "a failure")
        alice = env.user_id("alice")
        movie = next(i for i in sim.items.values() if i.type == "Movie" and (alice, i.id) not in env.sim_truth())
        sim.play("alice", movie.id, fraction=1.0)
        await sim.webhooks.drain()
        assert sim.webhooks.sent and {d.status for d in sim.webhooks.sent} == {202}  # stored, for later
        assert (await _health(client))["status"] == "recovering"

        embedded.extra_args = ()
        await await_until(healthy, 30, "healthz ok once Redis could start again")

        async def applied() -> bool:
            rows = await env.watch_rows()
            key = (alice, movie.id)
            return key in rows and same_state(rows[key], env.sim_truth()[key])

        await await_until(applied, 30, "the webhook posted while Redis was down to be applied")
        assert await services.redis.get("marquee:test:before-the-kill") == b"1"
        run = await run_and_wait(services, "sync-users", timeout_s=30, out=lambda line: None)
        assert run.status == "done"
        assert len(redis_servers_in(embedded.workdir)) == 1
    said = [r.getMessage() for r in caplog.records]
    assert any("died (killed by SIGKILL); restarting it" in m for m in said)
    assert any("did not restart (attempt 1" in m for m in said)
    assert any("the worker lost Redis" in m for m in said)
    assert any("the worker is back on Redis" in m for m in said)


@pytest.fixture
def pg_data_dir() -> Iterator[Path]:
    """Outside pytest's tmp_path: as root, pgserver runs PostgreSQL as the user "pgserver", and every pytest
    session that starts resets /tmp/pytest-of-root to mode 0700, which locks PostgreSQL out of its data."""
    parent = Path(tempfile.mkdtemp(prefix="marquee-test-"))
    yield parent / "data"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.slow
async def test_postgres_killed_while_marquee_runs_comes_back(
    settings: Settings, pg_data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _own_jobs_only(monkeypatch)
    caplog.set_level(logging.INFO)
    sim = make_sim()
    both_embedded = {"data_dir": pg_data_dir, "database_url": None, "redis_url": None}  # both supervised
    async with _marquee_on_the_simulator(settings, sim, **both_embedded) as (_, client, env):
        services = env.services
        postgres: EmbeddedPostgres = _embedded(EmbeddedPostgres)
        old = postgres.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        await await_until(
            lambda: postgres.pid != old and postgres.alive() and supervisor.state() == "ok", 60, "the restart"
        )
        await await_until(lambda: _healthy(client), 30, "healthz ok after the restart")

        # The same engine (its pool pre-pings) and the worker's jobs use the new server.
        alice = env.user_id("alice")
        movie = next(i for i in sim.items.values() if i.type == "Movie" and (alice, i.id) not in env.sim_truth())
        sim.play("alice", movie.id, fraction=1.0)

        async def applied() -> bool:
            rows = await env.watch_rows()
            key = (alice, movie.id)
            return key in rows and same_state(rows[key], env.sim_truth()[key])

        await await_until(applied, 30, "a webhook posted after the restart to be applied")
        run = await run_and_wait(services, "sync-users", timeout_s=30, out=lambda line: None)
        assert run.status == "done"
    said = [r.getMessage() for r in caplog.records]
    assert any("the embedded PostgreSQL" in m and "died (postmaster pid" in m for m in said), said
    assert any("the embedded PostgreSQL" in m and "is back after" in m for m in said), said
