"""The ``marquee`` command as a user runs it: real processes, real embedded servers."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar import commands, demo_command
from sidecar.cli import build_parser

MARQUEE = [sys.executable, "-m", "sidecar.cli"]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data dir for an embedded PostgreSQL, outside pytest's tmp_path: as root, pgserver runs PostgreSQL as
    the user "pgserver", and every pytest session that starts resets /tmp/pytest-of-root to mode 0700, which
    locks a running PostgreSQL out of its own data."""
    parent = Path(tempfile.mkdtemp(prefix="marquee-test-"))
    yield parent / "data"
    shutil.rmtree(parent, ignore_errors=True)


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | env
    return subprocess.run(MARQUEE + args, env=full_env, capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_subcommands() -> None:
    result = run(["--help"], {})
    assert result.returncode == 0
    for command in ("serve", "worker", "migrate"):
        assert command in result.stdout


def test_wrong_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run(
        ["migrate"],
        {
            "MARQUEE_DATA_DIR": str(tmp_path),
            "MARQUEE_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none",
            "MARQUEE_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 2
    assert "MARQUEE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pw" not in result.stderr.replace("MARQUEE", "")


def test_unreachable_redis_is_one_clear_line(tmp_path: Path, pg_url: str) -> None:
    result = run(
        ["migrate"],
        {
            "MARQUEE_DATA_DIR": str(tmp_path),
            "MARQUEE_DATABASE_URL": pg_url.replace("postgresql+psycopg://", "postgresql://"),
            "MARQUEE_REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    assert result.returncode == 2
    assert "MARQUEE_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_value_names_the_variable(tmp_path: Path) -> None:
    result = run(["migrate"], {"MARQUEE_DATA_DIR": str(tmp_path), "MARQUEE_PORT": "eighty"})
    assert result.returncode == 2
    assert "MARQUEE_PORT" in result.stderr


@pytest.mark.slow
def test_embedded_data_survives_restart_and_data_dir_is_exclusive(data_dir: Path) -> None:
    """Two processes on the embedded defaults: the first writes and stops, the second reads it back."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from sqlalchemy import text
        from sidecar.db.engine import make_engine
        from sidecar.db.migrate import migrate
        from sidecar.runtime import prepare_infrastructure
        from sidecar.settings import Settings
        from sidecar.errors import ConfigError

        infra = prepare_infrastructure(Settings())
        try:
            prepare_infrastructure(Settings())
        except ConfigError as exc:
            print("LOCKED:", exc)
        async def main():
            engine = make_engine(infra.database_url)
            await migrate(engine)
            async with engine.begin() as conn:
                if sys.argv[1] == "write":
                    await conn.execute(text("INSERT INTO runtime_setting (key, value) VALUES ('k', '42')"))
                value = (await conn.execute(text("SELECT value FROM runtime_setting WHERE key='k'"))).scalar()
                print("VALUE:", value)
            await engine.dispose()
        asyncio.run(main())
        infra.close()
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {"MARQUEE_DATA_DIR": str(data_dir)}
    first = subprocess.run(
        [sys.executable, "-c", script, "write"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "VALUE: 42" in first.stdout, first.stderr
    assert "LOCKED: Another Marquee" in first.stdout
    second = subprocess.run(
        [sys.executable, "-c", script, "read"], env=env, capture_output=True, text=True, timeout=120
    )
    assert "VALUE: 42" in second.stdout, second.stderr


def test_parser_knows_every_documented_command() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "worker", "migrate", "webhook-url"} <= set(choices)


def test_the_parser_lists_every_command_with_its_handler() -> None:
    """Commands are listed in build_parser, not registered by importing a module: all eight, each wired."""
    from sidecar import cli, commands

    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert list(choices) == [
        "serve", "worker", "migrate", "webhook-url", "simulator", "evaluate", "run-job", "demo"
    ]  # fmt: skip
    handlers = {name: sub.get_default("handler") for name, sub in choices.items()}
    assert handlers == {
        "serve": cli.cmd_serve,
        "worker": cli.cmd_worker,
        "migrate": cli.cmd_migrate,
        "webhook-url": cli.cmd_webhook_url,
        "simulator": commands.cmd_simulator,
        "evaluate": cli._evaluate,  # commands.cmd_evaluate, or with --server the server evaluation
        "run-job": commands.cmd_run_job,
        "demo": demo_command.cmd_demo,
    }
    assert not hasattr(cli, "register_command")


def _servers_under(data: Path) -> list[str]:
    """Command lines of live processes (embedded PostgreSQL or Redis) that use ``data``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (proc / "status").read_text().splitlines() if line.startswith("State:")), "")
        except OSError:
            continue
        if str(data) in cmdline and "zombie" not in state:
            found.append(cmdline)
    return found


def _worker_beats(data: Path) -> bool:
    """The worker is connected and polling: its arq health-check key is in the embedded Redis."""
    import redis

    from sidecar.jobs.worker import HEALTH_CHECK_KEY

    client = redis.Redis(unix_socket_path=str(data / "redis" / "redis.sock"), socket_timeout=2)
    try:
        return bool(client.exists(HEALTH_CHECK_KEY))
    except redis.exceptions.RedisError:
        return False
    finally:
        client.close()


@pytest.mark.slow
def test_sigterm_stops_the_worker_cleanly_and_takes_the_embedded_servers_along(data_dir: Path) -> None:
    """As ``docker stop`` or systemd would: the process exits 0 and no PostgreSQL or Redis is left running.
    (``marquee serve`` once up: test_serve_starts_on_a_multi_mb_redis_aof and the kill -9 test stop it so.)"""
    from tests.servers import free_port

    data = data_dir
    proc = _marquee("worker", data, free_port())
    try:
        _wait_for(
            lambda: (data / "redis" / "redis.sock").exists() and _worker_beats(data) and len(_servers_under(data)) >= 2,
            proc,
            60,
            "the worker's first heartbeat",
        )
    except BaseException:
        proc.kill()
        raise
    _stop(proc)
    _no_servers_left(data)


def test_webhook_url_prints_the_demos_secret_when_the_data_dir_has_none(tmp_path: Path) -> None:
    """`marquee demo` keeps its data in DATA_DIR/demo: its token, not a new one the demo would reject."""
    import json

    data = tmp_path / "data"
    (data / "demo").mkdir(parents=True)
    (data / "demo" / "secrets.json").write_text(json.dumps({"session_secret": "s", "webhook_secret": "demo-token"}))
    result = run(["webhook-url"], {"MARQUEE_DATA_DIR": str(data), "MARQUEE_PORT": "8899"})
    assert result.returncode == 0, result.stderr
    assert "these are the demo's" in result.stdout
    assert "http://127.0.0.1:8899/webhooks/jellyfin?token=demo-token" in result.stdout
    assert "/webhooks/emby?token=demo-token" in result.stdout
    assert not (data / "secrets.json").exists()


def test_webhook_url_says_when_it_creates_a_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run(["webhook-url"], {"MARQUEE_DATA_DIR": str(data)})
    assert first.returncode == 0, first.stderr
    assert f"A new webhook secret was created in {data / 'secrets.json'}" in first.stdout
    assert "MARQUEE_DATA_DIR" in first.stdout
    token = first.stdout.split("/webhooks/jellyfin?token=", 1)[1].split()[0]
    second = run(["webhook-url"], {"MARQUEE_DATA_DIR": str(data)})
    assert "created" not in second.stdout
    assert f"/webhooks/jellyfin?token={token}" in second.stdout


def _wait_for(
    predicate: Callable[[], bool], proc: subprocess.Popen[str], timeout_s: float, what: str, every_s: float = 0.05
) -> None:
    """Poll ``predicate`` while ``proc`` runs (its output is read at the end, so it never blocks on a pipe); every
    5 ms for a moment of start-up that passes quickly, every 50 ms for a state that lasts (a probe that scans
    /proc or opens a connection 200 times a second would take the CPU the starting process needs)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"marquee exited with {proc.returncode} before {what}: {proc.communicate()[0]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every_s)


def _healthy(port: int) -> Callable[[], bool]:
    import httpx

    def check() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _marquee(command: str, data: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
        "MARQUEE_DATA_DIR": str(data),
        "MARQUEE_PORT": str(port),
    }
    return subprocess.Popen([*MARQUEE, command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    import signal

    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def _no_servers_left(data: Path) -> None:
    import time

    deadline = time.monotonic() + 10
    while _servers_under(data) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _servers_under(data) == []


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("moment", ["data dir locked", "postgres starting", "redis socket open"])
def test_sigterm_at_any_moment_of_start_up_exits_cleanly(data_dir: Path, command: str, moment: str) -> None:
    """SIGTERM while the embedded servers are still starting: exit 0, no traceback, nothing left running."""
    from tests.servers import free_port

    data = data_dir
    reached = {
        "data dir locked": lambda: (data / "marquee.lock").exists(),
        "postgres starting": lambda: (data / "postgres" / "postmaster.pid").exists(),
        "redis socket open": lambda: (data / "redis" / "redis.sock").exists(),
    }[moment]
    proc = _marquee(command, data, free_port())
    try:
        _wait_for(reached, proc, 120, moment, every_s=0.005)
    except BaseException:
        proc.kill()
        raise
    _stop(proc)
    _no_servers_left(data)


@pytest.mark.slow
def test_after_a_kill_9_the_next_start_stops_the_orphaned_redis_and_reuses_postgres(data_dir: Path) -> None:
    """kill -9 of the whole process leaves redis-server and postgres running; the next start must not double
    them: Redis is stopped (after an AOF fsync) and started afresh, PostgreSQL is joined."""
    import psutil
    import redis

    from sidecar.jobs.worker import HEALTH_CHECK_KEY
    from tests.servers import free_port

    data = data_dir
    sock = data / "redis" / "redis.sock"
    first = _marquee("worker", data, free_port())

    def worker_beats() -> bool:
        if not sock.exists():
            return False
        client = redis.Redis(unix_socket_path=str(sock))
        try:
            return bool(client.exists(HEALTH_CHECK_KEY))
        except redis.exceptions.ConnectionError:
            return False
        finally:
            client.close()

    try:
        _wait_for(worker_beats, first, 120, "the worker's first heartbeat")
        client = redis.Redis(unix_socket_path=str(sock))
        client.set("marquee:test:marker", "kept")
        client.close()
    finally:
        first.kill()
        first.communicate()
    orphaned_redis = _redis_pids(data)
    postmaster = int((data / "postgres" / "postmaster.pid").read_text().split()[0])
    assert len(orphaned_redis) == 1 and psutil.pid_exists(postmaster), _servers_under(data)

    port = free_port()
    second = _marquee("serve", data, port)
    try:
        _wait_for(_healthy(port), second, 120, "healthz ok")
        running = _redis_pids(data)
        assert len(running) == 1 and running != orphaned_redis
        assert not psutil.pid_exists(orphaned_redis[0])
        assert int((data / "postgres" / "postmaster.pid").read_text().split()[0]) == postmaster
        client = redis.Redis(unix_socket_path=str(sock))
        assert client.get("marquee:test:marker") == b"kept"
        client.close()
    except BaseException:
        second.kill()
        raise
    output = _stop(second)
    assert f"stopping a redis-server (pid {orphaned_redis[0]})" in output
    assert f"reusing the embedded PostgreSQL in {data / 'postgres'} (pid {postmaster})" in output
    _no_servers_left(data)


def _redis_pids(data: Path) -> list[int]:
    import psutil

    target = str((data / "redis").resolve())
    return [
        p.pid
        for p in psutil.process_iter(["name", "cwd", "status"])
        if p.info["name"] == "redis-server" and p.info["cwd"] == target and p.info["status"] != "zombie"
    ]


@pytest.mark.slow
def test_serve_starts_on_a_multi_mb_redis_aof(data_dir: Path) -> None:
    """The issue: after ~2,000 playbacks a 5-7 MB AOF made every start fail on LOADING."""
    import secrets

    import redis

    from sidecar.embedded_redis import EmbeddedRedis
    from tests.servers import free_port

    data = data_dir
    seeded = EmbeddedRedis(data)
    seeded.start()
    client = redis.Redis(unix_socket_path=str(seeded.socket_path))
    pipe = client.pipeline(transaction=False)
    for n in range(12_000):
        pipe.set(f"marquee:test:{n}", secrets.token_bytes(600))
    pipe.execute()
    client.close()
    seeded.stop()
    assert (data / "redis" / "appendonly.aof").stat().st_size > 5_000_000
    port = free_port()
    proc = _marquee("serve", data, port)
    try:
        _wait_for(_healthy(port), proc, 120, "healthz ok")
        client = redis.Redis(unix_socket_path=str(data / "redis" / "redis.sock"))
        assert len(client.keys("marquee:test:*")) == 12_000
        client.close()
    except BaseException:
        proc.kill()
        raise
    _stop(proc)
    _no_servers_left(data)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("no-such-job", "unknown job 'no-such-job'; known jobs: "),
        ("process-webhook-event", "'process-webhook-event' is internal"),
    ],
)
def test_run_job_refuses_unknown_and_internal_jobs_before_starting_anything(name: str, says: str) -> None:
    from sidecar.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(says)):
        commands.cmd_run_job(argparse.Namespace(name=name))


def test_the_cli_starts_without_the_openai_client() -> None:
    """Every ``marquee`` command builds the whole parser; the OpenAI client (a second of imports) waits until a
    remote model is actually built."""
    probe = (
        "import sys; from sidecar.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('torch')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
