"""The embedding and text models an admin chooses on Admin → Models, tested with one call, stored, applied.

Embeddings are ``local`` (the offline all-MiniLM-L6-v2) or any OpenAI-compatible endpoint (OpenAI, Ollama,
LM Studio, vLLM: a base URL, a key and a model name). The text model writes taste profiles and "why we
picked this"; none means the deterministic template text grounded in the data. Both use the one endpoint.

The environment wins per part: ``MARQUEE_EMBEDDING_PROVIDER``/``_MODEL`` for the embedding model,
``MARQUEE_OPENAI_BASE_URL``/``_API_KEY`` for the endpoint, ``MARQUEE_OPENAI_CHAT_MODEL`` for the text model.
What the admin saved is ``runtime_setting`` key ``models``; the key, like the media server's, is never shown
back in full. A new embedding model re-embeds every title (the jobs are queued on save).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from providers.ai import factory
from providers.ai.errors import AIProviderError
from providers.ai.local import LOCAL_MODEL_NAME
from providers.ai.openai_compatible import translate_error
from sidecar.errors import InvalidInput
from sidecar.runtime_settings import RuntimeKey
from sidecar.settings import EmbeddingProvider, Settings

TEST_TIMEOUT_S = 20.0
DEFAULT_REMOTE_MODEL = "text-embedding-3-small"
ENV_EMBEDDING = frozenset({"embedding_provider", "embedding_model"})
ENV_ENDPOINT = frozenset({"openai_base_url", "openai_api_key"})
ENV_TEXT = frozenset({"openai_chat_model"})


class StoredModels(BaseModel):
    """What the admin saved; None: not chosen here (the environment's value or default applies)."""

    model_config = ConfigDict(extra="forbid")

    embedding_provider: EmbeddingProvider | None = None
    embedding_model: str | None = Field(default=None, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=500)
    text_model: str | None = Field(default=None, max_length=200)  # "": none (template text)


MODELS: RuntimeKey[StoredModels] = RuntimeKey("models", StoredModels)


@dataclass(frozen=True)
class EnvLocks:
    """Which parts the environment sets (and the page shows read-only)."""

    embedding: bool
    endpoint: bool
    text: bool


def env_locks(env: Settings) -> EnvLocks:
    fields = env.model_fields_set
    return EnvLocks(
        embedding=bool(fields & ENV_EMBEDDING), endpoint=bool(fields & ENV_ENDPOINT), text=bool(fields & ENV_TEXT)
    )


def overrides(env: Settings, stored: StoredModels) -> dict[str, object]:
    """The Settings fields the saved choices change (where the environment does not set them)."""
    locks = env_locks(env)
    update: dict[str, object] = {}
    if not locks.embedding and stored.embedding_provider is not None:
        update["embedding_provider"] = stored.embedding_provider
        update["embedding_model"] = stored.embedding_model or None
    if not locks.endpoint and (stored.base_url is not None or stored.api_key is not None):
        update["openai_base_url"] = stored.base_url or None
        update["openai_api_key"] = SecretStr(stored.api_key) if stored.api_key else None
    if not locks.text and stored.text_model is not None:
        update["openai_chat_model"] = stored.text_model or None
    return update


def embedder_name(provider: str, model: str | None) -> str:
    """The name embeddings are stored under (``local:…``/``openai:…``), without building the embedder."""
    if provider == "local":
        return f"local:{LOCAL_MODEL_NAME}"
    return f"openai:{model or DEFAULT_REMOTE_MODEL}"


def check_provider(value: object) -> EmbeddingProvider:
    if value not in ("local", "openai"):
        raise InvalidInput("Embedding provider: choose local or an OpenAI-compatible endpoint.")
    return value


def check_model_name(value: object, what: str) -> str:
    name = str(value or "").strip()
    if len(name) > 200 or any(c.isspace() for c in name):
        raise InvalidInput(f"{what}: a model name is one word, e.g. text-embedding-3-small.")
    return name


def check_base_url(value: object) -> str | None:
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise InvalidInput(f"Endpoint URL: {raw[:80]!r} is not a URL (e.g. http://ollama:11434/v1).") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInput(
            "Endpoint URL: start with http:// or https:// and name a host (e.g. http://ollama:11434/v1)."
        )
    return raw.rstrip("/")


def _message(exc: AIProviderError | Exception) -> str:
    return str(exc) or type(exc).__name__


async def test_embedding(provider: EmbeddingProvider, model: str, base_url: str | None, api_key: str | None) -> str:
    """Embed one text with the chosen model; returns "model: N dimensions", or InvalidInput with the reason."""
    if provider == "local":
        return f"{LOCAL_MODEL_NAME} runs offline on this machine: nothing to test, no key, no cost."
    embedder = factory.build_embedder(
        "openai", model=model or DEFAULT_REMOTE_MODEL, base_url=base_url, api_key=api_key, batch_size=1
    )
    try:
        vectors = await embedder.embed(["Marquee connection test"])
    except AIProviderError as exc:
        raise InvalidInput(f"Embedding test failed: {_message(exc)}") from None
    finally:
        await embedder.aclose()  # type: ignore[attr-defined]
    return f"{model or DEFAULT_REMOTE_MODEL} answered: {vectors.shape[1]}-dimensional vectors."


async def test_text_model(model: str, base_url: str | None, api_key: str | None) -> str:
    """Ask the chat model for one short word; the writer itself would quietly fall back to the template."""
    if not model:
        return "No text model: taste profiles and explanations use template text grounded in the data."
    endpoint = base_url or "api.openai.com"
    client = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=TEST_TIMEOUT_S)
    try:
        await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Answer with one word: ready?"}], max_tokens=5
        )
    except openai.OpenAIError as exc:
        raise InvalidInput(f"Text model test failed: {translate_error(exc, endpoint)}") from None
    finally:
        await client.close()
    return f"{model} at {endpoint} answered."
