"""Build embedders and text generators from plain settings values."""

from __future__ import annotations

from providers.ai.embedder import Embedder
from providers.ai.local import LOCAL_MODEL_NAME, LocalEmbedder
from providers.ai.writing import TemplateWriter, TextGenerator

LOCAL_PROVIDERS = frozenset({"", "local", "sentence-transformers"})
REMOTE_PROVIDERS = frozenset({"openai", "openai-compatible", "ollama", "lmstudio", "vllm"})
OLLAMA_DEFAULT_URL = "http://localhost:11434/v1"


def _remote_url(provider: str, base_url: str | None) -> str | None:
    if base_url:
        return base_url
    return OLLAMA_DEFAULT_URL if provider == "ollama" else None


def build_embedder(
    provider: str | None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    batch_size: int | None = None,
) -> Embedder:
    """`local` (default) or any OpenAI-compatible provider (needs `model`)."""
    name = (provider or "").strip().lower()
    if name in LOCAL_PROVIDERS:
        if model not in (None, "", LOCAL_MODEL_NAME):
            raise ValueError(f"the local provider only ships {LOCAL_MODEL_NAME}, not {model!r}")
        return LocalEmbedder(batch_size=batch_size or 64)
    if name in REMOTE_PROVIDERS:
        if not model:
            raise ValueError(f"embedding provider {name!r} needs a model name")
        # imported here: the OpenAI client takes a second to import, which every CLI start would pay
        from providers.ai.openai_compatible import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder(
            model=model, base_url=_remote_url(name, base_url), api_key=api_key, batch_size=batch_size or 128
        )
    raise ValueError(f"unknown embedding provider {provider!r}")


def build_text_generator(
    provider: str | None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> TextGenerator:
    """`template` (default, no model needed) or an OpenAI-compatible chat model."""
    name = (provider or "").strip().lower()
    if name in ("", "template", "none", "local"):
        return TemplateWriter()
    if name in REMOTE_PROVIDERS:
        if not model:
            raise ValueError(f"text provider {name!r} needs a model name")
        from providers.ai.openai_chat import OpenAIChatWriter

        return OpenAIChatWriter(model=model, base_url=_remote_url(name, base_url), api_key=api_key)
    raise ValueError(f"unknown text provider {provider!r}")
