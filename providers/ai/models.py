"""What we know about common embedding and chat models: dimensions and list prices."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownEmbeddingModel:
    dimension: int
    usd_per_million_tokens: float | None  # None: free / self-hosted


KNOWN_EMBEDDING_MODELS: dict[str, KnownEmbeddingModel] = {
    "text-embedding-3-small": KnownEmbeddingModel(1536, 0.02),
    "text-embedding-3-large": KnownEmbeddingModel(3072, 0.13),
    "text-embedding-ada-002": KnownEmbeddingModel(1536, 0.10),
    "nomic-embed-text": KnownEmbeddingModel(768, None),
    "nomic-embed-text-v2-moe": KnownEmbeddingModel(768, None),
    "mxbai-embed-large": KnownEmbeddingModel(1024, None),
    "all-minilm": KnownEmbeddingModel(384, None),
    "all-MiniLM-L6-v2": KnownEmbeddingModel(384, None),
    "bge-m3": KnownEmbeddingModel(1024, None),
}


def known_embedding_model(model: str) -> KnownEmbeddingModel | None:
    """Look a model up by name, ignoring an Ollama-style `:tag` suffix."""
    return KNOWN_EMBEDDING_MODELS.get(model) or KNOWN_EMBEDDING_MODELS.get(model.split(":", 1)[0])


def estimate_cost_usd(model: str, tokens: int) -> float | None:
    """Cost of embedding `tokens` tokens with `model`, or None when unknown or free."""
    known = known_embedding_model(model)
    if known is None or known.usd_per_million_tokens is None:
        return None
    return tokens * known.usd_per_million_tokens / 1_000_000
