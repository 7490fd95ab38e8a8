"""The local embedder's child process: texts go through it, it ends when idle or closed, a dead one is replaced.

A stand-in child (``tests.embeddings.stand_in_child``: the real wire and loop around the hashing model) keeps
these fast; ``test_local_model.py`` runs the real model through the real child.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from providers.ai.errors import AIUnavailable
from providers.ai.local import LocalEmbedder
from tests.embeddings.doubles import HashingEmbedder
from tests.embeddings.stand_in_child import DIMENSION

STAND_IN = [sys.executable, "-m", "tests.embeddings.stand_in_child"]
TEXTS = ["Alien (1979). Horror, Science Fiction.", "Aliens (1986). Action.", "Notting Hill (1999). Romance."]


@pytest.fixture
def embedder() -> Iterator[LocalEmbedder]:
    local = LocalEmbedder(model_name="stand-in", command=STAND_IN)
    yield local
    local.close()


def _ended(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def test_texts_go_through_a_child_process_and_come_back_as_its_vectors(embedder: LocalEmbedder) -> None:
    assert embedder.child_pid is None  # nothing runs before the first texts
    vectors = await embedder.embed(TEXTS)
    assert embedder.child_pid is not None and embedder.child_pid != psutil.Process().pid
    assert vectors.dtype == np.float32 and vectors.flags.writeable
    np.testing.assert_array_equal(vectors, HashingEmbedder(DIMENSION).embed_sync(TEXTS))
    assert await embedder.dimension() == DIMENSION
    assert (await embedder.embed([])).shape[0] == 0


def test_the_child_ends_after_the_idle_time_and_the_next_texts_start_a_new_one() -> None:
    embedder = LocalEmbedder(model_name="stand-in", command=STAND_IN, idle_s=0.2)
    try:
        embedder.embed_sync(TEXTS)
        first = embedder.child_pid
        assert first is not None
        assert embedder.wait_released(timeout=30)
        assert embedder.child_pid is None and _ended(first)
        again = embedder.embed_sync(TEXTS[:1])
        assert again.shape == (1, DIMENSION)
        assert embedder.child_pid not in (None, first)
    finally:
        embedder.close()


def test_use_keeps_the_child_alive_past_the_idle_time_of_an_earlier_call() -> None:
    embedder = LocalEmbedder(model_name="stand-in", command=STAND_IN, idle_s=0.5)
    try:
        embedder.embed_sync(TEXTS)
        pid = embedder.child_pid
        # each call restarts the countdown; calls closer together than 0.5 s never lose the child
        for _ in range(5):
            assert not embedder.wait_released(timeout=0.2)
            embedder.embed_sync(TEXTS[:1])
            assert embedder.child_pid == pid
        assert embedder.wait_released(timeout=30)
    finally:
        embedder.close()


def test_a_child_that_dies_mid_request_fails_that_call_and_the_next_call_starts_a_new_one(
    embedder: LocalEmbedder,
) -> None:
    embedder.embed_sync(TEXTS)
    first = embedder.child_pid
    with pytest.raises(AIUnavailable, match="ended unexpectedly"):
        embedder.embed_sync(["__exit__"])
    assert embedder.child_pid is None
    assert embedder.embed_sync(TEXTS).shape == (3, DIMENSION)
    assert embedder.child_pid not in (None, first)


def test_a_child_killed_while_idle_is_replaced_on_the_next_call(embedder: LocalEmbedder) -> None:
    embedder.embed_sync(TEXTS)
    pid = embedder.child_pid
    assert pid is not None
    victim = psutil.Process(pid)
    victim.kill()
    victim.wait(timeout=30)
    np.testing.assert_array_equal(embedder.embed_sync(TEXTS), HashingEmbedder(DIMENSION).embed_sync(TEXTS))
    assert embedder.child_pid != pid


def test_an_encoding_error_is_raised_here_and_the_child_stays_up(embedder: LocalEmbedder) -> None:
    embedder.embed_sync(TEXTS)
    pid = embedder.child_pid
    with pytest.raises(AIUnavailable, match="refuses __fail__"):
        embedder.embed_sync(["__fail__"])
    assert embedder.child_pid == pid
    assert embedder.embed_sync(TEXTS[:2]).shape == (2, DIMENSION)


def test_a_child_that_cannot_start_raises_unavailable() -> None:
    embedder = LocalEmbedder(model_name="stand-in", command=[sys.executable, "-c", "raise SystemExit(4)"])
    with pytest.raises(AIUnavailable, match="exit status 4"):
        embedder.embed_sync(TEXTS)
    assert embedder.child_pid is None


def test_close_fails_a_call_in_flight_at_once_instead_of_waiting_for_it(
    embedder: LocalEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging = tmp_path / "hanging"
    monkeypatch.setenv("STAND_IN_HANGING", str(hanging))
    failures: list[BaseException] = []

    def embed_forever() -> None:
        try:
            embedder.embed_sync(["__hang__"])
        except BaseException as exc:
            failures.append(exc)

    caller = threading.Thread(target=embed_forever)
    caller.start()
    deadline = time.monotonic() + 30
    while not hanging.exists():  # the child has the request and will never answer
        assert time.monotonic() < deadline and caller.is_alive()
        time.sleep(0.01)
    embedder.close()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert len(failures) == 1 and isinstance(failures[0], AIUnavailable)
    assert embedder.child_pid is None
    assert embedder.embed_sync(TEXTS).shape == (3, DIMENSION)  # and the next texts start a new child


async def test_aclose_ends_the_child(embedder: LocalEmbedder) -> None:
    await embedder.embed(TEXTS)
    pid = embedder.child_pid
    assert pid is not None
    await embedder.aclose()
    assert embedder.child_pid is None and _ended(pid)
    assert embedder.wait_released(timeout=0)


def test_the_web_process_imports_no_torch_at_start_up() -> None:
    """The app, the CLI, every job and the local embedder leave torch and the model libraries unimported."""
    probe = (
        "import sys\n"
        "import sidecar.app, sidecar.cli, sidecar.commands, sidecar.demo_command, sidecar.channels, sidecar.evaluate\n"
        "import sidecar.ai_factory, providers.ai.local\n"
        "from sidecar.jobs.registry import load_jobs\n"
        "load_jobs()\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'onnxruntime')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
