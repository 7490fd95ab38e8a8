"""A stand-in for the embedding child: the real wire and loop (``providers.ai.embedding_child.serve``) around
the hashing test model instead of torch, so the process's life cycle is tested in a fraction of a second.

``python -m tests.embeddings.stand_in_child``; a text ``__exit__`` makes it die mid-request, a text
``__fail__`` makes encoding raise (the child stays up), a text ``__hang__`` makes it create the file named by
``$STAND_IN_HANGING`` and never answer.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from providers.ai.embedder import FloatMatrix
from providers.ai.embedding_child import serve, take_stdout
from tests.embeddings.doubles import HashingEmbedder

DIMENSION = 32


class StandInEncoder:
    def __init__(self) -> None:
        self._model = HashingEmbedder(DIMENSION)

    @property
    def dimension(self) -> int:
        return DIMENSION

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        if "__exit__" in texts:
            os._exit(3)
        if "__hang__" in texts:
            Path(os.environ["STAND_IN_HANGING"]).touch()
            threading.Event().wait()
        if "__fail__" in texts:
            raise ValueError("the stand-in refuses __fail__")
        return self._model.embed_sync(texts)


if __name__ == "__main__":
    serve(StandInEncoder(), sys.stdin.buffer, take_stdout())
