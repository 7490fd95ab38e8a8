"""The `Embedder` Protocol: text in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors of one fixed dimension."""

    @property
    def name(self) -> str:
        """Stable model id stored next to every vector, e.g. `local:all-MiniLM-L6-v2`.

        Vectors from different names are never mixed; a new name means re-embedding.
        """
        ...

    @property
    def batch_size(self) -> int:
        """How many texts one call to the backend carries; callers may pass more."""
        ...

    async def dimension(self) -> int:
        """Vector length; may need one call to the backend for unknown remote models."""
        ...

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Return a `len(texts) x dimension` float32 matrix with L2-normalised rows."""
        ...


def l2_normalise(vectors: npt.ArrayLike) -> FloatMatrix:
    """Row-normalise to unit length (zero rows stay zero) as C-contiguous float32."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.maximum(norms, np.float32(1e-12), out=norms)
    normalised: FloatMatrix = matrix / norms
    return normalised
