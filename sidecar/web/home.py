"""The home page: a short introduction when logged out; for a user their dashboard (``read_models.home``);
an administrator additionally sees the system's health and the set-up steps still to do."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from sidecar.db.models import Item
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.web.auth import current_user
from sidecar.web.read_models.home import home_dashboard
from sidecar.web.read_models.play_links import play_links
from sidecar.web.rendering import render


def setup_steps(settings: Settings, items: int) -> list[str]:
    """What an administrator still has to do (never shown to other users: it names the server's address)."""
    steps: list[str] = []
    if settings.media_server_url is None and items == 0:
        steps.append(
            "No media server is configured: open /setup with the setup code from Marquee's log (or set "
            "MARQUEE_MEDIA_SERVER_TYPE, MARQUEE_MEDIA_SERVER_URL and MARQUEE_MEDIA_SERVER_API_KEY; `marquee demo` "
            "tries it against the built-in simulator)."
        )
    elif items == 0:
        steps.append("The media server is configured; the first sync fills the catalogue.")
    if settings.embedding_provider == "openai" and settings.openai_api_key is None and not settings.openai_base_url:
        steps.append("Embeddings are set to 'openai' but MARQUEE_OPENAI_API_KEY is empty.")
    return steps


async def page(request: Request) -> Response:
    services: Services = request.app.state.services
    user = await current_user(request)
    if user is None:
        # Nobody can log in before a media server is configured: say how (names no address).
        steps = [] if services.media_server is not None else setup_steps(services.settings, 0)
        return await render(request, "home.html", {"page": "home", "dashboard": None, "steps": steps})
    async with services.sessions() as session:
        dashboard = await home_dashboard(session, user.id, is_admin=user.is_admin)
        links = await play_links(session, services.settings)
        for views in (
            *dashboard["carousels"].values(),
            *dashboard["recent"].values(),
            *dashboard["top_picks"].values(),
        ):
            await links.attach(session, views)
        items = (await session.exec(select(func.count()).select_from(Item))).one() if user.is_admin else 0
    context = {"page": "home", "dashboard": dashboard, "me": user}
    if user.is_admin:
        context["steps"] = setup_steps(services.settings, items)
    return await render(request, "home.html", context)
