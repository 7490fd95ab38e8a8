"""Admin → Models (``/admin/models``): embedding provider/model, the OpenAI-compatible endpoint, the text model;
Test; Estimate cost (before saving); Save queues the re-embed when the embedding model changed; prices. The
JSON twins are in ``sidecar.web.settings_api``."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import cost_estimate, embedding_switch, model_setup
from sidecar import runtime_settings as rs
from sidecar.errors import InvalidInput
from sidecar.web import auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.json_io import ok
from sidecar.web.models_form import estimate_message, estimates, models_view, parse_models_form, save_models
from sidecar.web.rendering import render
from sidecar.web.setup_access import in_place


async def _models_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    typed: dict[str, Any] | None = None,
    estimate: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    view = models_view(services)
    async with services.sessions() as session:
        overrides = await rs.load(session, cost_estimate.PRICE_OVERRIDES)
    form = {
        "embedding_provider": view["embedding"]["provider"],
        "embedding_model": view["embedding"]["model"] if view["embedding"]["provider"] == "openai" else "",
        "base_url": view["endpoint"]["base_url"] or "",
        "text_model": view["text"]["model"] or "",
        **(typed or {}),
    }
    return await render(
        request,
        "admin_models.html",
        {
            "view": view,
            "pending": await embedding_switch.pending(services),
            "form": form,
            "estimate": estimate,
            "prices": cost_estimate.price_table(overrides),
            "price_lines": cost_estimate.price_lines(overrides.prices),
            "default_prices": cost_estimate.PRICES,
            "error": error,
            "notice": notice,
            "page": "admin-models",
        },
        status,
    )


@require_admin
async def models_page(request: Request) -> Response:
    return await _models_page(request)


def _typed_models(form: FormData) -> dict[str, Any]:
    return {
        name: str(form.get(name) or "")
        for name in ("embedding_provider", "embedding_model", "base_url", "text_model")
        if form.get(name) is not None
    }


@require_admin
async def models_submit(request: Request) -> Response:
    """One form, three buttons: Test (one call to each model), Estimate cost, Save."""
    form = await auth.checked_form(request)
    services = services_of(request)
    action = form.get("action")
    typed = _typed_models(form)
    try:
        checked = parse_models_form(services, dict(form))
        if action == "test":
            results = [
                await model_setup.test_embedding(
                    checked.embedding_provider, checked.embedding_model, checked.base_url, checked.api_key
                ),
                await model_setup.test_text_model(checked.text_model, checked.base_url, checked.api_key),
            ]
            if in_place(request):
                return ok({"message": " ".join(results)})
            return await _models_page(request, notice=" ".join(results), typed=typed)
        if action == "estimate":
            estimate = await estimates(services, checked)
            if in_place(request):
                return ok({"message": estimate_message(estimate), "estimate": estimate})
            return await _models_page(request, typed=typed, estimate=estimate)
        if action != "save":
            raise InvalidInput("Choose Test, Estimate cost or Save.")
        message, _ = await save_models(services, checked)
    except InvalidInput as exc:
        if in_place(request):
            return ok({"error": str(exc)}, 400)
        return await _models_page(request, error=str(exc), typed=typed, status=400)
    return await _models_page(request, notice=message)


@require_admin
async def prices_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    raw = str(form.get("prices") or "")
    try:
        overrides = cost_estimate.PriceOverrides(prices=cost_estimate.parse_price_lines(raw))
    except InvalidInput as exc:
        return await _models_page(request, error=str(exc), status=400)
    async with services.sessions() as session:
        await rs.save(session, cost_estimate.PRICE_OVERRIDES, overrides)
    return await _models_page(request, notice=f"Prices saved ({len(overrides.prices)} of your own).")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/models", models_page, methods=["GET"]),
        Route("/admin/models", models_submit, methods=["POST"]),
        Route("/admin/models/prices", prices_submit, methods=["POST"]),
    ]
