"""A fast stand-in for the local model in scale benchmarks: each word of a text hashed into one of 384
buckets (MiniLM's dimension), signed, then L2-normalised. Texts sharing words get similar vectors.

Embedding 50,000 titles with the real model takes a quarter of an hour on the development machine;
benchmarks that measure what happens after embedding (freshness, publishing) use this instead and say so.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from providers.ai.embedder import FloatMatrix, l2_normalise

_WORD = re.compile(r"[a-z0-9]{3,}")


class WordHashEmbedder:
    def __init__(self, dim: int = 384) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"bench:word-hash-{self._dim}"

    @property
    def batch_size(self) -> int:
        return 256

    async def dimension(self) -> int:
        return self._dim

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, body in enumerate(texts):
            for word in _WORD.findall(body.lower()):
                digest = zlib.crc32(word.encode())
                out[row, digest % self._dim] += 1.0 if digest & 0x80000000 else -1.0
        return l2_normalise(out)
