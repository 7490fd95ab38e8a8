"""`marquee demo` as a user runs it: a real process on embedded defaults, the real local model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.model
def test_demo_runs_the_whole_pipeline_and_publishes_private_libraries(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
        "MARQUEE_DATA_DIR": str(tmp_path / "data"),
        "MARQUEE_PORT": str(_free_port()),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sidecar.cli",
            "demo",
            "--exit-after-setup",
            "--movies",
            "60",
            "--series",
            "8",
            "--users",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for step in (
        "initial-sync",
        "generate-embeddings",
        "generate-recommendations",
        "sync-movie-libraries",
        "refresh-top-picks",
    ):
        assert f"✓ {step}" in out
    sees = [line for line in out.splitlines() if " sees 'AI Picks - " in line]
    # two demo users + the admin, movies and series each, every one seeing only their own library
    assert len(sees) == 6, out
    for line in sees:
        user, library = line.split(" sees '", 1)
        assert library.startswith(f"AI Picks - {user}"), line
        assert line.split(": ", 1)[1].strip(), f"empty library: {line}"
    libraries = tmp_path / "data" / "demo" / "libraries"
    assert any(libraries.rglob("*.strm")), "no STRM files written"
    assert any(libraries.rglob("*.nfo")), "no NFO files written"
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
