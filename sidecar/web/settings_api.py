"""The JSON of Admin → Server, Models and Database at the seed's paths: ``/api/settings/media-server[/config|
/test]``, ``/api/settings/libraries/sync``, ``/api/settings/embedding-model``,
``/api/settings/text-generation-model``, ``/api/settings/cost-inputs``, ``/api/admin/purge/stats`` and
``/api/admin/purge/{movies,series,everything}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sidecar import embedding_switch, model_setup, purge, server_setup
from sidecar.sync.libraries import sync_libraries
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint, Handler, Method
from sidecar.web.auth import services_of
from sidecar.web.json_io import body_of, ok, query_of
from sidecar.web.models_form import estimates, models_view, parse_models_form, save_models, saved_prices
from sidecar.web.purge_confirm import check_confirmation, purge_target
from sidecar.web.read_models import server as server_reads
from sidecar.web.schemas import CostInputsQuery, EmbeddingModelIn, Input, MediaServerIn, PurgeIn, TextModelIn
from sidecar.web.server_form import parse_server_form, save_server, server_view


async def _fields(request: Request, model: type[Input]) -> dict[str, Any]:
    """The fields the body sets, validated."""
    return (await body_of(request, model)).model_dump(exclude_unset=True)


async def api_media_server(request: Request) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session) if services.media_server is not None else None
    view = server_view(services)
    return ok({"configured": view["configured"], "type": view["type"], "source": view["source"], "server": server})


async def api_media_server_config(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _fields(request, MediaServerIn)
        current = server_view(services)
        merged = {"type": current["type"], "url": current["url"], **body}
        message = await save_server(services, parse_server_form(services, merged))
        return ok({**server_view(services), "message": message})
    return ok(server_view(services))


async def api_media_server_test(request: Request) -> Response:
    services = services_of(request)
    raw = await request.body()
    body = await _fields(request, MediaServerIn) if raw else {}
    current = server_view(services)
    checked = parse_server_form(services, {"type": current["type"], "url": current["url"], **body})
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


async def api_libraries_sync(request: Request) -> Response:
    services = services_of(request)
    found = await sync_libraries(services)
    async with services.sessions() as session:
        libraries = [server_reads.library_view(lib) for lib in await server_reads.source_libraries(session)]
    return ok({"synced": found, "libraries": libraries})


async def api_embedding_model(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _fields(request, EmbeddingModelIn)
        data = {
            "embedding_provider": body.get("provider"),
            "embedding_model": body.get("model"),
            "base_url": body.get("base_url"),
            "api_key": body.get("api_key"),
            "clear_api_key": body.get("clear_api_key"),
        }
        checked = parse_models_form(services, data)
        if body.get("test"):
            await model_setup.test_embedding(
                checked.embedding_provider, checked.embedding_model, checked.base_url, checked.api_key
            )
        message, reembed = await save_models(services, checked)
        return ok({**models_view(services)["embedding"], "reembedding": reembed, "message": message})
    view = models_view(services)
    waiting = await embedding_switch.pending(services)
    return ok({**view["embedding"], "endpoint": view["endpoint"], "pending": waiting.model_dump()})


async def api_text_model(request: Request) -> Response:
    services = services_of(request)
    if request.method == "PATCH":
        body = await _fields(request, TextModelIn)
        checked = parse_models_form(services, {"text_model": body.get("model") or ""})
        if body.get("test"):
            await model_setup.test_text_model(checked.text_model, checked.base_url, checked.api_key)
        message, _ = await save_models(services, checked)
        return ok({**models_view(services)["text"], "message": message})
    return ok(models_view(services)["text"])


async def api_cost_inputs(request: Request) -> Response:
    """The estimate for the current models, or for ``?provider=&model=&text_model=`` before saving them."""
    services = services_of(request)
    q = query_of(request, CostInputsQuery)
    data = {"embedding_provider": q.provider, "embedding_model": q.model, "text_model": q.text_model}
    checked = parse_models_form(services, {k: v for k, v in data.items() if v is not None})
    prices = await saved_prices(services)
    return ok(
        {
            **await estimates(services, checked),
            "prices": {name: price.model_dump() for name, price in sorted(prices.items())},
        }
    )


async def api_purge_stats(request: Request) -> Response:
    return ok(await purge.database_counts(services_of(request)))


async def api_purge(request: Request) -> Response:
    """``{"confirm": "movies"}``: the word of what is purged, as the page asks it typed."""
    target = purge_target(request.path_params["target"])
    body = await body_of(request, PurgeIn)
    check_confirmation(target, body.confirm)
    return ok((await purge.purge(services_of(request), target)).as_dict())


def _admin(method: Method, path: str, handler: Handler, summary: str, **more: Any) -> Endpoint:
    return Endpoint(method, path, handler, summary, "settings", access="admin", **more)


ENDPOINTS: list[Endpoint] = [
    _admin(
        "GET",
        "/api/settings/media-server",
        api_media_server,
        "The media server: configured, where from, what it is",
        response=m.MediaServerState,
    ),
    _admin(
        "GET",
        "/api/settings/media-server/config",
        api_media_server_config,
        "The media server connection (the key only as a hint)",
        response=m.MediaServerConfig,
    ),
    _admin(
        "PATCH",
        "/api/settings/media-server/config",
        api_media_server_config,
        "Test, save and apply the media server connection",
        body=MediaServerIn,
        response=m.MediaServerConfig,
    ),
    _admin(
        "POST",
        "/api/settings/media-server/test",
        api_media_server_test,
        "Test a connection (the saved one, or the fields sent)",
        body=MediaServerIn,
        response=m.ConnectionTest,
    ),
    _admin(
        "POST",
        "/api/settings/libraries/sync",
        api_libraries_sync,
        "Fetch the media server's libraries again",
        response=m.LibrariesSynced,
    ),
    _admin(
        "GET",
        "/api/settings/embedding-model",
        api_embedding_model,
        "The embedding model and its endpoint",
        response=m.EmbeddingModel,
    ),
    _admin(
        "PATCH",
        "/api/settings/embedding-model",
        api_embedding_model,
        "Choose the embedding model (a new one re-embeds every title first)",
        body=EmbeddingModelIn,
        response=m.EmbeddingModel,
    ),
    _admin("GET", "/api/settings/text-generation-model", api_text_model, "The text model", response=m.TextModel),
    _admin(
        "PATCH",
        "/api/settings/text-generation-model",
        api_text_model,
        "Choose the text model",
        body=TextModelIn,
        response=m.TextModel,
    ),
    _admin(
        "GET",
        "/api/settings/cost-inputs",
        api_cost_inputs,
        "The cost estimate for the current models, or for the ones named",
        query=CostInputsQuery,
        response=m.CostInputs,
    ),
    _admin("GET", "/api/admin/purge/stats", api_purge_stats, "What the database holds", response=m.DatabaseCounts),
    _admin(
        "POST",
        "/api/admin/purge/{target}",
        api_purge,
        "Purge movies, series or everything (then resync)",
        body=PurgeIn,
        response=m.Purged,
        params={"target": purge.PurgeTarget},
    ),
]
