"""The models as the admin chooses them (Admin → Models and the JSON API share it): the validated form, Save
(a new embedding model is pending until re-embedded), the cost estimate and the view of what is set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sidecar import cost_estimate, embedding_switch, live_settings, model_setup, server_setup
from sidecar import runtime_settings as rs
from sidecar.services import Services
from sidecar.settings import EmbeddingProvider


@dataclass(frozen=True)
class ModelsForm:
    embedding_provider: EmbeddingProvider
    embedding_model: str
    base_url: str | None
    api_key: str | None
    text_model: str

    @property
    def embedder_name(self) -> str:
        return model_setup.embedder_name(self.embedding_provider, self.embedding_model)

    @property
    def raw_embedding_model(self) -> str:
        return self.embedder_name.split(":", 1)[1]


def parse_models_form(services: Services, data: dict[str, Any]) -> ModelsForm:
    """Validated choices; parts the environment sets keep the environment's values."""
    current = services.settings
    locks = model_setup.env_locks(live_settings.env_settings(services))

    def given(name: str, fallback: Any) -> Any:
        return data[name] if name in data and data[name] is not None else fallback

    if locks.embedding:
        provider, model = current.embedding_provider, current.embedding_model or ""
    else:
        provider = model_setup.check_provider(given("embedding_provider", current.embedding_provider))
        model = model_setup.check_model_name(given("embedding_model", current.embedding_model), "Embedding model")
    if provider == "local":
        model = ""
    saved_key = current.openai_api_key.get_secret_value() if current.openai_api_key else None
    if locks.endpoint:
        base_url, api_key = current.openai_base_url, saved_key
    else:
        base_url = model_setup.check_base_url(given("base_url", current.openai_base_url))
        typed = str(data.get("api_key") or "").strip()
        api_key = typed or saved_key  # an empty key field keeps the saved key
        if data.get("clear_api_key") in (True, "on", "true", "1"):
            api_key = None
    text_model = (
        current.openai_chat_model or ""
        if locks.text
        else model_setup.check_model_name(given("text_model", current.openai_chat_model or ""), "Text model")
    )
    return ModelsForm(provider, model, base_url, api_key, text_model)


async def save_models(services: Services, form: ModelsForm) -> tuple[str, bool]:
    """Store and apply the choices. A new embedding model is pending until every title has its vector:
    ``switch-embedding-model`` embeds with it, then switches picks to it (``sidecar.embedding_switch``)."""
    current = model_setup.embedder_name(services.settings.embedding_provider, services.settings.embedding_model)
    reembed = form.embedder_name != current
    async with services.sessions() as session:
        stored = await rs.load(session, model_setup.MODELS)
        await rs.save(
            session,
            model_setup.MODELS,
            model_setup.StoredModels(
                embedding_provider=stored.embedding_provider if reembed else form.embedding_provider,
                embedding_model=stored.embedding_model if reembed else (form.embedding_model or None),
                base_url=form.base_url or "",
                api_key=form.api_key or "",
                text_model=form.text_model,
            ),
        )
    await live_settings.apply(services)
    message = "Saved."
    if reembed:
        await embedding_switch.request_switch(services, form.embedding_provider, form.embedding_model or None)
        message += (
            f" Re-embedding every title with {form.raw_embedding_model} has started (Admin → Jobs,"
            f" switch-embedding-model); picks keep using {current.split(':', 1)[1]} until it is done, then"
            " switch and are recomputed."
        )
    else:
        async with services.sessions() as session:  # choosing the current model again cancels a pending one
            await rs.save(session, embedding_switch.PENDING, embedding_switch.PendingEmbedding())
    return message, reembed


async def saved_prices(services: Services) -> dict[str, cost_estimate.Price]:
    async with services.sessions() as session:
        return cost_estimate.price_table(await rs.load(session, cost_estimate.PRICE_OVERRIDES))


async def estimates(services: Services, form: ModelsForm) -> dict[str, Any]:
    table = await saved_prices(services)
    embedding = await cost_estimate.estimate_embedding(services, form.embedder_name, form.raw_embedding_model, table)
    text = await cost_estimate.estimate_text(services, form.text_model or None, table)
    return {
        "embedding": {**embedding.as_dict(), "summary": cost_estimate.embedding_sentence(embedding)},
        "text": {**text.as_dict(), "summary": cost_estimate.text_sentence(text)},
        "changes_embedding_model": form.embedder_name
        != model_setup.embedder_name(services.settings.embedding_provider, services.settings.embedding_model),
    }


def models_view(services: Services) -> dict[str, Any]:
    current = services.settings
    locks = model_setup.env_locks(live_settings.env_settings(services))
    key = current.openai_api_key.get_secret_value() if current.openai_api_key else None
    return {
        "embedding": {
            "provider": current.embedding_provider,
            "model": current.resolved_embedding_model,
            "stored_as": model_setup.embedder_name(current.embedding_provider, current.embedding_model),
            "env_locked": locks.embedding,
        },
        "endpoint": {
            "base_url": current.openai_base_url,
            "api_key_hint": server_setup.key_hint(key),
            "env_locked": locks.endpoint,
        },
        "text": {"model": current.openai_chat_model, "env_locked": locks.text},
    }


def estimate_message(estimate: dict[str, Any]) -> str:
    warning = " Saving this embedding model starts re-embedding now." if estimate["changes_embedding_model"] else ""
    return f"Embeddings: {estimate['embedding']['summary']} Text: {estimate['text']['summary']}{warning}"
