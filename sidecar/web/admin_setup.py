"""Admin → Server, Models and Database: the pages and their JSON at the seed's paths.

- Server (``/admin/server``): type, URL, API key; Test Connection; Save applies at once; library re-fetch.
  With no server at all, ``/setup`` takes the setup code from the log and opens this page without a login.
- Models (``/admin/models``): embedding provider/model, the OpenAI-compatible endpoint, the text model;
  Test; Estimate cost (before saving); Save queues the re-embed when the embedding model changed; prices.
- Database (``/admin/database``): counts; purge movies / series / everything after typing the word.

JSON: ``/api/settings/media-server[/config|/test]``, ``/api/settings/libraries/sync``,
``/api/settings/embedding-model``, ``/api/settings/text-generation-model``, ``/api/settings/cost-inputs``,
``/api/admin/purge/stats`` and ``/api/admin/purge/{movies,series,everything}``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.errors import MediaServerError
from sidecar import cost_estimate, embedding_switch, live_settings, model_setup, purge, server_setup
from sidecar import runtime_settings as rs
from sidecar.errors import InvalidInput, JobError
from sidecar.jobs.queue import enqueue
from sidecar.services import Services
from sidecar.settings import EmbeddingProvider
from sidecar.sync import state
from sidecar.sync.libraries import sync_libraries
from sidecar.web import auth
from sidecar.web.auth import Handler, require_admin, services_of
from sidecar.web.json_io import json_of, ok
from sidecar.web.read_models import server as server_reads
from sidecar.web.rendering import render, see_other

log = logging.getLogger(__name__)

SETUP_COOKIE = "marquee_setup"
INITIAL_SYNC_JOB = "initial-sync"

# --- the actions both the pages and the API use ------------------------------------------------------


@dataclass(frozen=True)
class ServerForm:
    type: server_setup.ServerType
    url: str
    api_key: str


def _server_form(services: Services, data: dict[str, Any]) -> ServerForm:
    """Validated type/URL/key; an empty key means "the saved one" (pages never show it back)."""
    kind = server_setup.check_type(data.get("type"))
    url = server_setup.check_url(data.get("url"))
    key = str(data.get("api_key") or "").strip()
    if not key:
        saved = services.settings.media_server_api_key
        if saved is None:
            server_setup.check_api_key(key)  # says what to paste
        key = saved.get_secret_value() if saved is not None else ""
    return ServerForm(kind, url, server_setup.check_api_key(key))


def _refuse_if_env(services: Services) -> None:
    if server_setup.env_sets_server(live_settings.env_settings(services)):
        raise InvalidInput(
            "The media server comes from the environment (MARQUEE_MEDIA_SERVER_*), which wins over this page: "
            "change it there and restart."
        )


async def save_server(services: Services, form: ServerForm) -> str:
    """Test, store and apply the connection; fetch the server's libraries; queue the first sync."""
    _refuse_if_env(services)
    info = await server_setup.test_connection(form.type, form.url, form.api_key)
    async with services.sessions() as session:
        await rs.save(session, server_setup.MEDIA_SERVER, server_setup.StoredServer(**form.__dict__))
    await live_settings.apply(services)
    message = f"Saved. {server_setup.connected_message(info)}"
    try:
        found = await sync_libraries(services)
        message += f" {_libraries_message(found)}"
    except Exception as exc:  # saved all the same; the page offers the re-fetch
        log.warning("fetching libraries after saving the server failed: %s", exc)
        message += " The libraries could not be fetched yet: use Re-fetch libraries."
    if not await state.has_initial_sync(services.engine):
        await enqueue(services.redis, INITIAL_SYNC_JOB, job_id=INITIAL_SYNC_JOB)
        message += " The first sync has started (Admin → Jobs)."
    return message


def _libraries_message(found: dict[str, int]) -> str:
    gone = f", {found['gone']} no longer there" if found.get("gone") else ""
    return f"The server lists {found.get('libraries', 0)} libraries{gone}; choose the ones to use below."


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


def _models_form(services: Services, data: dict[str, Any]) -> ModelsForm:
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


async def _prices(services: Services) -> dict[str, cost_estimate.Price]:
    async with services.sessions() as session:
        return cost_estimate.price_table(await rs.load(session, cost_estimate.PRICE_OVERRIDES))


async def estimates(services: Services, form: ModelsForm) -> dict[str, Any]:
    table = await _prices(services)
    embedding = await cost_estimate.estimate_embedding(services, form.embedder_name, form.raw_embedding_model, table)
    text = await cost_estimate.estimate_text(services, form.text_model or None, table)
    return {
        "embedding": {**embedding.as_dict(), "summary": cost_estimate.embedding_sentence(embedding)},
        "text": {**text.as_dict(), "summary": cost_estimate.text_sentence(text)},
        "changes_embedding_model": form.embedder_name
        != model_setup.embedder_name(services.settings.embedding_provider, services.settings.embedding_model),
    }


def _server_view(services: Services) -> dict[str, Any]:
    env = live_settings.env_settings(services)
    current = services.settings
    key = current.media_server_api_key.get_secret_value() if current.media_server_api_key else None
    source = "environment" if server_setup.env_sets_server(env) else ("saved" if current.media_server_url else None)
    return {
        "type": current.media_server_type,
        "url": current.media_server_url,
        "api_key_hint": server_setup.key_hint(key),
        "source": source,
        "env_locked": source == "environment",
        "configured": services.media_server is not None,
    }


def _models_view(services: Services) -> dict[str, Any]:
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


def _purge_target(value: object) -> purge.PurgeTarget:
    if value not in purge.PURGE_TARGETS:
        raise HTTPException(404, "Purge movies, series or everything.")
    return value


def _check_confirmation(target: purge.PurgeTarget, typed: object) -> None:
    if str(typed or "").strip().lower() != target:
        raise InvalidInput(f"Type {target.upper()} in the box to confirm: this deletes data.")


def _in_place(request: Request) -> bool:
    """Test and Estimate asked by the page's script (static/admin-setup.js), which shows the answer in place."""
    return "application/json" in request.headers.get("accept", "")


def _estimate_message(estimate: dict[str, Any]) -> str:
    warning = " Saving this embedding model starts re-embedding now." if estimate["changes_embedding_model"] else ""
    return f"Embeddings: {estimate['embedding']['summary']} Text: {estimate['text']['summary']}{warning}"


# --- access -----------------------------------------------------------------------------------------


def _setup_mode(request: Request) -> bool:
    services = services_of(request)
    return services.media_server is None and server_setup.code_matches(
        services.settings, request.cookies.get(SETUP_COOKIE)
    )


def admin_or_setup(handler: Handler) -> Handler:
    """An admin, or (while no server is configured, so nobody can log in) whoever holds the setup code."""

    @functools.wraps(handler)
    async def inner(request: Request) -> Response:
        user = await auth.current_user(request)
        if user is not None and user.is_admin:
            return await handler(request)
        if _setup_mode(request):
            return await handler(request)
        if services_of(request).media_server is None:
            return see_other("/setup")
        if user is None:
            return auth.login_redirect(request)
        raise HTTPException(403, "This page is for media-server administrators.")

    return inner


async def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render for an admin, or in setup mode with the pre-login CSRF token (no session exists yet)."""
    user = await auth.current_user(request)
    if user is not None:
        return await render(request, template, context, status)
    seed, fresh = auth.prelogin_seed(request)
    response = await render(
        request,
        template,
        {**context, "csrf_token": auth.csrf_token_for(services_of(request).settings, seed), "setup_mode": True},
        status,
    )
    if fresh:
        auth.set_prelogin_cookie(request, response, seed)
    return response


# --- pages: setup code and server -------------------------------------------------------------------


async def setup_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    if services_of(request).media_server is not None:
        return see_other("/login?next=%2Fadmin%2Fserver")
    return await _page(request, "admin_setup_code.html", {"error": error, "page": "admin-server"}, status)


async def setup_get(request: Request) -> Response:
    return await setup_page(request)


async def setup_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    if services.media_server is not None:
        return see_other("/login?next=%2Fadmin%2Fserver")
    code = str(form.get("code") or "")
    if not server_setup.code_matches(services.settings, code):
        return await setup_page(
            request,
            error="That is not the setup code: Marquee's log shows it in the line 'No media server…'.",
            status=403,
        )
    response = see_other("/admin/server")
    response.set_cookie(
        SETUP_COOKIE, server_setup.setup_code(services.settings), httponly=True, samesite="strict", path="/"
    )
    return response


async def _server_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session) if services.media_server is not None else None
        libraries = [server_reads.library_view(lib) for lib in await server_reads.source_libraries(session)]
    view = _server_view(services)
    shown = {"type": view["type"] or "jellyfin", "url": view["url"] or "", **(typed or {})}
    saved = request.query_params.get("saved") == "1"
    return await _page(
        request,
        "admin_server.html",
        {
            "view": view,
            "form": shown,
            "server": server,
            "libraries": libraries,
            "error": error,
            "notice": notice or ("Saved." if saved else None),
            "page": "admin-server",
        },
        status,
    )


@admin_or_setup
async def server_page(request: Request) -> Response:
    return await _server_page(request)


def _typed(form: FormData) -> dict[str, Any]:
    return {"type": form.get("type"), "url": str(form.get("url") or "")}


@admin_or_setup
async def server_test(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    try:
        checked = _server_form(services, dict(form))
        info = await server_setup.test_connection(checked.type, checked.url, checked.api_key)
    except InvalidInput as exc:
        if _in_place(request):
            return ok({"error": str(exc)}, 400)
        return await _server_page(request, error=str(exc), typed=_typed(form), status=400)
    if _in_place(request):
        return ok({"message": server_setup.connected_message(info), "name": info.name, "version": info.version})
    return await _server_page(request, notice=server_setup.connected_message(info), typed=_typed(form))


@admin_or_setup
async def server_save(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    setup_mode = await auth.current_user(request) is None
    try:
        message = await save_server(services, _server_form(services, dict(form)))
    except InvalidInput as exc:
        return await _server_page(request, error=str(exc), typed=_typed(form), status=400)
    if setup_mode:  # the server is set: from now on the admin logs in with their server account
        response = see_other("/login?next=%2Fadmin%2Fserver%3Fsaved%3D1")
        response.delete_cookie(SETUP_COOKIE, path="/")
        return response
    return await _server_page(request, notice=message)


@require_admin
async def server_libraries(request: Request) -> Response:
    await auth.checked_form(request)
    services = services_of(request)
    try:
        found = await sync_libraries(services)
    except (MediaServerError, JobError) as exc:
        return await _server_page(request, error=f"Fetching the libraries failed: {exc}", status=502)
    return await _server_page(request, notice=_libraries_message(found))


# --- pages: models ----------------------------------------------------------------------------------


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
    view = _models_view(services)
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
        checked = _models_form(services, dict(form))
        if action == "test":
            results = [
                await model_setup.test_embedding(
                    checked.embedding_provider, checked.embedding_model, checked.base_url, checked.api_key
                ),
                await model_setup.test_text_model(checked.text_model, checked.base_url, checked.api_key),
            ]
            if _in_place(request):
                return ok({"message": " ".join(results)})
            return await _models_page(request, notice=" ".join(results), typed=typed)
        if action == "estimate":
            estimate = await estimates(services, checked)
            if _in_place(request):
                return ok({"message": _estimate_message(estimate), "estimate": estimate})
            return await _models_page(request, typed=typed, estimate=estimate)
        if action != "save":
            raise InvalidInput("Choose Test, Estimate cost or Save.")
        message, _ = await save_models(services, checked)
    except InvalidInput as exc:
        if _in_place(request):
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


# --- pages: database --------------------------------------------------------------------------------


async def _database_page(
    request: Request, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    return await render(
        request,
        "admin_database.html",
        {
            "counts": await purge.database_counts(services),
            "targets": purge.PURGE_TARGETS,
            "error": error,
            "notice": notice,
            "page": "admin-database",
        },
        status,
    )


@require_admin
async def database_page(request: Request) -> Response:
    return await _database_page(request)


@require_admin
async def database_purge(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    target = _purge_target(request.path_params["target"])
    try:
        _check_confirmation(target, form.get("confirm"))
    except InvalidInput as exc:
        return await _database_page(request, error=str(exc), status=400)
    result = await purge.purge(services, target)
    labels = {"series": "series, seasons and episodes", "webhook_events": "webhook events", "libraries": "libraries"}
    deleted = ", ".join(f"{count:,} {labels.get(what, what)}" for what, count in result.deleted.items())
    recovery = (
        "The sync that brings them back has started (Admin → Jobs)."
        if result.sync_queued
        else "Run initial-sync (Admin → Jobs) to bring them back."
    )
    return await _database_page(request, notice=f"Purged {target}: {deleted} deleted. {recovery}")


# --- JSON -------------------------------------------------------------------------------------------


async def _object(request: Request) -> dict[str, Any]:
    body = await json_of(request)
    if not isinstance(body, dict):
        raise InvalidInput("body: send a JSON object")
    return body


@require_admin
async def api_media_server(request: Request) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session) if services.media_server is not None else None
    view = _server_view(services)
    return ok({"configured": view["configured"], "type": view["type"], "source": view["source"], "server": server})


@require_admin
async def api_media_server_config(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _object(request)
        current = _server_view(services)
        merged = {"type": current["type"], "url": current["url"], **body}
        message = await save_server(services, _server_form(services, merged))
        return ok({**_server_view(services), "message": message})
    return ok(_server_view(services))


@require_admin
async def api_media_server_test(request: Request) -> Response:
    services = services_of(request)
    raw = await request.body()
    body = await _object(request) if raw else {}
    current = _server_view(services)
    checked = _server_form(services, {"type": current["type"], "url": current["url"], **body})
    info = await server_setup.test_connection(checked.type, checked.url, checked.api_key)
    return ok(
        {
            "ok": True,
            "name": info.name,
            "version": info.version,
            "product": info.product,
            "message": server_setup.connected_message(info),
        }
    )


@require_admin
async def api_libraries_sync(request: Request) -> Response:
    services = services_of(request)
    found = await sync_libraries(services)
    async with services.sessions() as session:
        libraries = [server_reads.library_view(lib) for lib in await server_reads.source_libraries(session)]
    return ok({"synced": found, "libraries": libraries})


@require_admin
async def api_embedding_model(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _object(request)
        data = {
            "embedding_provider": body.get("provider"),
            "embedding_model": body.get("model"),
            "base_url": body.get("base_url"),
            "api_key": body.get("api_key"),
            "clear_api_key": body.get("clear_api_key"),
        }
        checked = _models_form(services, data)
        if body.get("test"):
            await model_setup.test_embedding(
                checked.embedding_provider, checked.embedding_model, checked.base_url, checked.api_key
            )
        message, reembed = await save_models(services, checked)
        return ok({**_models_view(services)["embedding"], "reembedding": reembed, "message": message})
    view = _models_view(services)
    waiting = await embedding_switch.pending(services)
    return ok({**view["embedding"], "endpoint": view["endpoint"], "pending": waiting.model_dump()})


@require_admin
async def api_text_model(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _object(request)
        checked = _models_form(services, {"text_model": body.get("model") or ""})
        if body.get("test"):
            await model_setup.test_text_model(checked.text_model, checked.base_url, checked.api_key)
        message, _ = await save_models(services, checked)
        return ok({**_models_view(services)["text"], "message": message})
    return ok(_models_view(services)["text"])


@require_admin
async def api_cost_inputs(request: Request) -> Response:
    """The estimate for the current models, or for ``?provider=&model=&text_model=`` before saving them."""
    services = services_of(request)
    q = request.query_params
    data = {
        "embedding_provider": q.get("provider"),
        "embedding_model": q.get("model"),
        "text_model": q.get("text_model"),
    }
    checked = _models_form(services, {k: v for k, v in data.items() if v is not None})
    prices = await _prices(services)
    return ok(
        {
            **await estimates(services, checked),
            "prices": {name: price.model_dump() for name, price in sorted(prices.items())},
        }
    )


@require_admin
async def api_purge_stats(request: Request) -> Response:
    return ok(await purge.database_counts(services_of(request)))


@require_admin
async def api_purge(request: Request) -> Response:
    """``{"confirm": "movies"}``: the word of what is purged, as the page asks it typed."""
    target = _purge_target(request.path_params["target"])
    body = await _object(request)
    _check_confirmation(target, body.get("confirm"))
    return ok((await purge.purge(services_of(request), target)).as_dict())


def routes() -> list[BaseRoute]:
    return [
        Route("/setup", setup_get, methods=["GET"]),
        Route("/setup", setup_submit, methods=["POST"]),
        Route("/admin/server", server_page, methods=["GET"]),
        Route("/admin/server", server_save, methods=["POST"]),
        Route("/admin/server/test", server_test, methods=["POST"]),
        Route("/admin/server/libraries", server_libraries, methods=["POST"]),
        Route("/admin/models", models_page, methods=["GET"]),
        Route("/admin/models", models_submit, methods=["POST"]),
        Route("/admin/models/prices", prices_submit, methods=["POST"]),
        Route("/admin/database", database_page, methods=["GET"]),
        Route("/admin/database/purge/{target}", database_purge, methods=["POST"]),
        Route("/api/settings/media-server", api_media_server, methods=["GET"]),
        Route("/api/settings/media-server/config", api_media_server_config, methods=["GET", "PATCH"]),
        Route("/api/settings/media-server/test", api_media_server_test, methods=["POST"]),
        Route("/api/settings/libraries/sync", api_libraries_sync, methods=["POST"]),
        Route("/api/settings/embedding-model", api_embedding_model, methods=["GET", "PATCH"]),
        Route("/api/settings/text-generation-model", api_text_model, methods=["GET", "PATCH"]),
        Route("/api/settings/cost-inputs", api_cost_inputs, methods=["GET"]),
        Route("/api/admin/purge/stats", api_purge_stats, methods=["GET"]),
        Route("/api/admin/purge/{target}", api_purge, methods=["POST"]),
    ]
