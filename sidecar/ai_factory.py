"""The embedder and the text generator that Settings ask for, built once per process.

``get_embedder(services)`` keeps the embedder on ``services.embedder`` so every job and request of the
process shares it (the local model's child process, started on first use and ended when idle, is one per
process however many jobs use it); ``get_text_generator`` does the same for the writer of
taste profiles and "why we picked this" texts (an OpenAI-compatible chat model when
``MARQUEE_OPENAI_CHAT_MODEL`` is set, else the deterministic template) on ``services.text_generator``.
Tests and tools may set their own objects there first.
"""

from __future__ import annotations

from providers.ai import factory
from providers.ai.embedder import Embedder
from providers.ai.writing import TemplateWriter, TextGenerator
from sidecar.errors import ConfigError
from sidecar.services import Services
from sidecar.settings import Settings


def _api_key(settings: Settings) -> str | None:
    return settings.openai_api_key.get_secret_value() if settings.openai_api_key else None


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder; nothing is loaded or called until it is first used."""
    try:
        return factory.build_embedder(
            settings.embedding_provider,
            model=settings.resolved_embedding_model,
            base_url=settings.openai_base_url,
            api_key=_api_key(settings),
        )
    except ValueError as exc:
        raise ConfigError(f"MARQUEE_EMBEDDING_PROVIDER/MARQUEE_EMBEDDING_MODEL: {exc}") from exc


def build_text_generator(settings: Settings) -> TextGenerator:
    if not settings.openai_chat_model:
        return TemplateWriter()
    return factory.build_text_generator(
        "openai", model=settings.openai_chat_model, base_url=settings.openai_base_url, api_key=_api_key(settings)
    )


def get_embedder(services: Services) -> Embedder:
    """The process's embedder (built on first use, then reused)."""
    if services.embedder is None:
        services.embedder = build_embedder(services.settings)
    return services.embedder


def get_text_generator(services: Services) -> TextGenerator:
    """The process's text generator (built on first use, then reused)."""
    if services.text_generator is None:
        services.text_generator = build_text_generator(services.settings)
    return services.text_generator


def text_source(generator: TextGenerator) -> str:
    """``template`` or ``llm``, as stored next to each text."""
    return "template" if isinstance(generator, TemplateWriter) else "llm"


def pricing_model(settings: Settings) -> str | None:
    """The model name to price an embedding run with (remote endpoints only; free models price None)."""
    return settings.resolved_embedding_model if settings.embedding_provider == "openai" else None


async def aclose_ai(services: Services) -> None:
    """Close the cached embedder and text generator (their HTTP clients) and forget them."""
    clients: tuple[object, ...] = (services.embedder, services.text_generator)
    services.embedder = services.text_generator = None
    for client in clients:
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()
