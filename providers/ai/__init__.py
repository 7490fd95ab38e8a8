"""AI providers: embeddings (`Embedder`) and texts (`TextGenerator`), local-first.

- `build_embedder("local")` -> `LocalEmbedder` (all-MiniLM-L6-v2, offline, CPU, in a child process that ends when idle);
  `build_embedder("openai"|"ollama"|..., model=..., base_url=..., api_key=...)` ->
  `OpenAICompatibleEmbedder`.
- `build_text_generator(None)` -> `TemplateWriter`; with a provider and model ->
  `OpenAIChatWriter` (falls back to the template on errors).
- Errors: `providers.ai.errors` (auth, quota, rate limit, bad input, unavailable).
"""

from providers.ai.embedder import Embedder, l2_normalise
from providers.ai.errors import AIAuthError, AIBadInput, AIProviderError, AIQuotaExceeded, AIRateLimited, AIUnavailable
from providers.ai.factory import build_embedder, build_text_generator
from providers.ai.writing import PickFacts, TasteFacts, TemplateWriter, TextGenerator

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
