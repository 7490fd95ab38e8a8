"""AI providers: embeddings (`Embedder`) and texts (`TextGenerator`), local-first.

- `build_embedder("local")` -> `LocalEmbedder` (all-MiniLM-L6-v2, offline, CPU, in a child process that ends when idle);
  `build_embedder("openai"|"ollama"|..., model=..., base_url=..., api_key=...)` ->
  `OpenAICompatibleEmbedder`.
- `build_text_generator(None)` -> `TemplateWriter`; with a provider and model ->
  `OpenAIChatWriter` (falls back to the template on errors).
- Errors: `providers.ai.errors` (auth, quota, rate limit, bad input, unavailable).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.ai.embedder import Embedder, l2_normalise
    from providers.ai.errors import (
        AIAuthError,
        AIBadInput,
        AIProviderError,
        AIQuotaExceeded,
        AIRateLimited,
        AIUnavailable,
    )
    from providers.ai.factory import build_embedder, build_text_generator
    from providers.ai.writing import PickFacts, TasteFacts, TemplateWriter, TextGenerator

# Imported on first use, so that a process needing one module (the local model's child process imports
# `providers.ai.embedding_child`) does not pay for all of them (the OpenAI client takes seconds).
_HOMES = {
    "Embedder": "embedder",
    "l2_normalise": "embedder",
    "AIAuthError": "errors",
    "AIBadInput": "errors",
    "AIProviderError": "errors",
    "AIQuotaExceeded": "errors",
    "AIRateLimited": "errors",
    "AIUnavailable": "errors",
    "build_embedder": "factory",
    "build_text_generator": "factory",
    "PickFacts": "writing",
    "TasteFacts": "writing",
    "TemplateWriter": "writing",
    "TextGenerator": "writing",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "AIAuthError",
    "AIBadInput",
    "AIProviderError",
    "AIQuotaExceeded",
    "AIRateLimited",
    "AIUnavailable",
    "Embedder",
    "PickFacts",
    "TasteFacts",
    "TemplateWriter",
    "TextGenerator",
    "build_embedder",
    "build_text_generator",
    "l2_normalise",
]
