"""The ``marquee`` command as a user runs it: real processes, real embedded servers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sidecar.cli import build_parser

MARQUEE = [sys.executable, "-m", "sidecar.cli"]


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
def test_embedded_data_survives_restart_and_data_dir_is_exclusive(tmp_path: Path) -> None:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
        "MARQUEE_DATA_DIR": str(tmp_path / "data")
    }
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


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_sigterm_stops_cleanly_and_takes_the_embedded_servers_along(tmp_path: Path, command: str) -> None:
    """As ``docker stop`` or systemd would: the process exits 0 and no PostgreSQL or Redis is left running."""
    import signal
    import time

    import httpx

    from tests.servers import free_port

    data = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
        "MARQUEE_DATA_DIR": str(data),
        "MARQUEE_PORT": str(port),
    }
    proc = subprocess.Popen([*MARQUEE, command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if command == "serve":
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            elif (data / "redis" / "redis.sock").exists() and len(_servers_under(data)) >= 2:
                time.sleep(1)  # let the worker connect and start polling
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.2)
        else:
            raise AssertionError(f"marquee {command} did not come up")
        assert _servers_under(data), "the embedded servers should be running"
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    for _ in range(50):
        if not _servers_under(data):
            break
        time.sleep(0.2)
    assert _servers_under(data) == []
