"""`marquee demo` as a user runs it: a real process on embedded defaults, its console read line by line.

Starting a demo runs the whole first pipeline (embedded PostgreSQL and Redis, the local model, sync, embeddings,
recommendations, publishing), so the tests of a running demo share one process (tests/test_demo.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_ARGS = ["--movies", "60", "--series", "8", "--users", "2"]
SETUP_TIMEOUT_S = 420  # the first pipeline on a busy 2-core CI machine, with the model loaded from disk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoProcess:
    """One `marquee demo` process; its console (stdout and stderr together, as a terminal shows) is collected
    by a thread, and waiting for a line waits on that thread's notification, not on a timer."""

    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
            "MARQUEE_DATA_DIR": str(data_dir),
            "MARQUEE_PORT": str(free_port()),
        }
        args = ["demo", *DEMO_ARGS, "--simulator-port", str(free_port()), *extra_args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar.cli", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def running(self) -> bool:
        return self.proc.poll() is None and not self._ended

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])

    def _wait_for(self, pattern: str, timeout_s: float, since: int) -> str:
        regex = re.compile(pattern)

        def found() -> str | None:
            return next((line for line in self.lines[since:] if regex.search(line)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None or self._ended, timeout=timeout_s)
            line = found()
        if line is not None:
            return line
        if self._ended:
            raise AssertionError(f"the demo stopped before printing {pattern!r}:\n{self.tail()}")
        raise AssertionError(f"no line matching {pattern!r} within {timeout_s}s:\n{self.tail()}")

    async def wait_for(self, pattern: str, timeout_s: float, *, since: int = 0) -> str:
        """The first console line from index ``since`` on that matches ``pattern``, once it is printed."""
        return await asyncio.to_thread(self._wait_for, pattern, timeout_s, since)

    def wait_for_sync(self, pattern: str, timeout_s: float, *, since: int = 0) -> str:
        return self._wait_for(pattern, timeout_s, since)

    def stop(self) -> int:
        """SIGTERM, as Ctrl+C or `docker stop` would; the exit code (killed after 60 s without one)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode
