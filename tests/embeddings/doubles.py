"""A real, tiny `Embedder` for tests: words hashed into a fixed number of buckets (no model to load).

It is a stand-in for the neural model only; everything around it (the database, pgvector, the jobs)
is real. Texts that share words get similar vectors, so similarity-driven behaviour is testable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from providers.ai.embedder import FloatMatrix, l2_normalise
from providers.ai.errors import AIBadInput, AIRateLimited

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"the", "a", "an", "of", "and", "in", "to", "by", "with", "genres", "directed", "starring"})


class HashingEmbedder:
    def __init__(
        self,
        dim: int = 64,
        *,
        name: str | None = None,
        poison: str | None = None,
        rate_limited_calls: int = 0,
        batch_size: int = 8,
    ) -> None:
        self._dim = dim
        self._name = name or f"test:hash-{dim}"
        self._batch_size = batch_size
        self.poison = poison
        self.rate_limited_calls = rate_limited_calls
        self.calls = 0
        self.texts_seen: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def batch_size(self) -> int:
        return self._batch_size

    async def dimension(self) -> int:
        return self._dim

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        self.calls += 1
        if self.rate_limited_calls > 0:
            self.rate_limited_calls -= 1
            raise AIRateLimited("429 from the test double", retry_after_s=0.25)
        if self.poison is not None and any(self.poison in t for t in texts):
            raise AIBadInput("input refused by the test double")
        self.texts_seen.extend(texts)
        return self.embed_sync(texts)

    def embed_sync(self, texts: Sequence[str]) -> FloatMatrix:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, body in enumerate(texts):
            for word in _WORD.findall(body.lower()):
                if word in _STOP or len(word) < 3:
                    continue
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        return l2_normalise(out)
