"""The home page: how many users and titles Marquee knows, and the setup steps still to do."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from sidecar.db.models import AppUser, Item
from sidecar.services import Services
from sidecar.web.auth import current_user
from sidecar.web.templating import templates


async def page(request: Request) -> Response:
    services: Services = request.app.state.services
    async with services.sessions() as session:
        users = (await session.exec(select(func.count()).select_from(AppUser))).one()
        items = (await session.exec(select(func.count()).select_from(Item))).one()
    settings = services.settings
    steps: list[str] = []
    if settings.media_server_url is None:
        steps.append(
            "No media server is configured: set MARQUEE_MEDIA_SERVER_TYPE, MARQUEE_MEDIA_SERVER_URL and "
            "MARQUEE_MEDIA_SERVER_API_KEY (or run `marquee demo` to try it against the built-in simulator)."
        )
    elif items == 0:
        steps.append("The media server is configured; the first sync fills the catalogue.")
    if settings.embedding_provider == "openai" and settings.openai_api_key is None and not settings.openai_base_url:
        steps.append("Embeddings are set to 'openai' but MARQUEE_OPENAI_API_KEY is empty.")
    steps.append("Point your media server's webhooks at Marquee: see examples/webhooks/README.md.")
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "steps": steps,
            "user_count": users,
            "item_count": items,
            "server": settings.media_server_url or "simulator (demo)",
            "current_user": await current_user(request),
        },
    )
