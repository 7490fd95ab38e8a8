"""Login with the media server's own credentials, sessions and CSRF (the login limit is ``login_limit``).

- Login: ``MediaServer.authenticate_user(name, password)``; on success the ``app_user`` row is looked
  up by the server's user id (created when missing, name/admin flag refreshed from the server every
  time), and a ``login_session`` row is created. The cookie holds only the session id, signed with
  ``session_secret`` (itsdangerous, timestamped), HttpOnly and SameSite=Lax. A session ends at logout,
  at ``expires_at``, or when the user disappears from the server (``gone_at``).
- CSRF: every form carries ``csrf_token``, an HMAC of the session id under the session secret (before
  login: of a random value kept in a cookie, the double-submit pattern). JSON API writes send the same
  token in the ``X-CSRF-Token`` header; ``GET /api/me`` and the ``<meta name="csrf-token">`` of every
  page carry it.
- API tokens (``sidecar.api_tokens``): ``Authorization: Bearer <token>`` on an ``/api/`` request acts as the
  token's owner and needs no CSRF token (a script holds no cookie a foreign page could ride on). A token
  that is unknown or revoked is a 401, never a fall back to the cookie.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlmodel import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from providers.errors import MediaServerError, ProviderAuthError
from sidecar import api_tokens
from sidecar.db.models import AppUser, LoginSession
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync.server import ensure_server
from sidecar.sync.users import upsert_users
from sidecar.web.login_limit import LoginFailed, count_attempt, give_back
from sidecar.web.middleware import BodyTimeout

log = logging.getLogger(__name__)

SESSION_COOKIE = "marquee_session"
PRELOGIN_COOKIE = "marquee_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = timedelta(days=14)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    is_admin: bool
    provider_id: str
    session_id: str  # "" for a token
    csrf_token: str  # "" for a token
    token_id: int | None = None  # authenticated by this API token (no session, no CSRF)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# --- signing ---------------------------------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_value("session_secret"), salt="marquee.session")


def csrf_token_for(settings: Settings, seed: str) -> str:
    key = settings.secret_value("session_secret").encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, settings: Settings, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(settings).dumps(session_id),
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_cookie_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def prelogin_seed(request: Request) -> tuple[str, bool]:
    """The random value behind the login form's CSRF token, and whether it must be set as a cookie."""
    seed = request.cookies.get(PRELOGIN_COOKIE)
    if seed and 16 <= len(seed) <= 128:
        return seed, False
    return secrets.token_urlsafe(24), True


def set_prelogin_cookie(request: Request, response: Response, seed: str) -> None:
    response.set_cookie(PRELOGIN_COOKIE, seed, httponly=True, samesite="lax", secure=_cookie_secure(request), path="/")


# --- current user ----------------------------------------------------------------------------------


async def current_user(request: Request) -> CurrentUser | None:
    """The logged-in user of this request (cached on ``request.state``), or None."""
    if "user" in request.state._state:
        cached: CurrentUser | None = request.state.user
        return cached
    request.state.user = await _load_user(request)
    return request.state.user  # type: ignore[no-any-return]


BAD_TOKEN = "The API token is unknown or was revoked: an admin creates a new one under Admin → API tokens."


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` on an API request, or None."""
    if not _is_api(request):
        return None
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def _token_user(request: Request, token: str) -> CurrentUser:
    async with services_of(request).sessions() as session:
        found = await api_tokens.owner_of(session, token)
    if found is None:
        raise HTTPException(401, BAD_TOKEN, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    row, user = found
    assert user.id is not None
    return CurrentUser(
        id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        provider_id=user.provider_id,
        session_id="",
        csrf_token="",
        token_id=row.id,
    )


async def _load_user(request: Request) -> CurrentUser | None:
    token = bearer_token(request)
    if token is not None:
        return await _token_user(request, token)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    services = services_of(request)
    try:
        session_id = _serializer(services.settings).loads(raw, max_age=int(SESSION_TTL.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(session_id, str):
        return None
    now = datetime.now(UTC)
    async with services.sessions() as session:
        row = (
            await session.exec(
                select(LoginSession, AppUser)
                .join(AppUser, AppUser.id == LoginSession.user_id)  # type: ignore[arg-type]
                .where(LoginSession.id == session_id)
            )
        ).first()
    if row is None:
        return None
    login, user = row
    if login.expires_at <= now or user.gone_at is not None or user.is_disabled or user.id is None:
        return None
    return CurrentUser(
        id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        provider_id=user.provider_id,
        session_id=session_id,
        csrf_token=csrf_token_for(services.settings, session_id),
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirects); otherwise the home dashboard."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def require_user(handler: Handler) -> Handler:
    """Pages redirect to the login page; API routes answer 401. Unsafe API methods need the CSRF header."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            if _is_api(request):
                raise HTTPException(
                    401, "Log in first (POST /api/auth/login), or send Authorization: Bearer <API token>."
                )
            return login_redirect(request)
        if _is_api(request) and request.method in UNSAFE_METHODS and user.token_id is None:
            check_csrf_header(request, user)
        return await handler(request)

    return wrapper


def require_admin(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def inner(request: Request) -> Response:
        user = await current_user(request)
        if user is None or not user.is_admin:
            raise HTTPException(403, "This page is for media-server administrators.")
        return await handler(request)

    return require_user(inner)


async def user_of(request: Request) -> CurrentUser:
    """The current user inside a handler wrapped by ``require_user``."""
    user = await current_user(request)
    if user is None:
        raise HTTPException(401, "Log in first.")
    return user


# --- CSRF ------------------------------------------------------------------------------------------

CSRF_MESSAGE = "The form expired or came from another site: reload the page and try again."


def check_csrf_header(request: Request, user: CurrentUser) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header (GET /api/me gives the token).")


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token against the session (or the pre-login cookie)."""
    try:
        form = await request.form()
    except BodyTimeout:
        raise  # answered 408 by the middleware
    except Exception as exc:
        raise HTTPException(400, f"Unreadable form: {exc}") from exc
    sent = form.get(CSRF_FIELD)
    user = await current_user(request)
    if user is not None:
        expected = user.csrf_token
    else:
        seed = request.cookies.get(PRELOGIN_COOKIE)
        expected = csrf_token_for(services_of(request).settings, seed) if seed else ""
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, CSRF_MESSAGE)
    return form


# --- login / logout --------------------------------------------------------------------------------


async def login(services: Services, name: str, password: str, address: str) -> tuple[CurrentUser, str]:
    """Check the credentials with the media server; returns the user and the new session id."""
    server = services.media_server
    if server is None:
        raise LoginFailed("No media server is configured, so nobody can log in yet: open /setup to set one up.", 503)
    counted = await count_attempt(services, name, address)
    try:
        remote, _token = await server.authenticate_user(name, password)
    except ProviderAuthError:
        raise LoginFailed("Wrong user name or password.", 401) from None  # the attempt stays counted
    except MediaServerError as exc:
        await give_back(services, counted)
        raise LoginFailed(f"The media server could not check the login: {exc.message}", 503) from exc
    except BaseException:
        await asyncio.shield(give_back(services, counted))
        raise
    await give_back(services, counted)
    try:
        server_id = await ensure_server(services)
    except MediaServerError as exc:  # e.g. a revoked API key: the user's password was fine
        raise LoginFailed(f"Marquee cannot reach the media server as admin: {exc.message}", 503) from exc
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    # One atomic upsert, as the user sync does: a first login racing the start-up sync (both inserting the
    # same user) must not fail on the unique key.
    user_id = (await upsert_users(services, server_id, [remote]))[remote.id]
    async with services.sessions() as session:
        user = await session.get_one(AppUser, user_id)
        await session.exec(delete(LoginSession).where(LoginSession.expires_at < now))  # type: ignore[arg-type]
        session.add(LoginSession(id=session_id, user_id=user_id, created_at=now, expires_at=now + SESSION_TTL))
        await session.commit()
        current = CurrentUser(
            id=user_id,
            name=user.name,
            is_admin=user.is_admin,
            provider_id=user.provider_id,
            session_id=session_id,
            csrf_token=csrf_token_for(services.settings, session_id),
        )
    log.info("user %s logged in from %s", current.name, address)
    return current, session_id


async def logout(request: Request) -> None:
    user = await current_user(request)
    if user is None:
        return
    services = services_of(request)
    async with services.sessions() as session:
        await session.exec(delete(LoginSession).where(LoginSession.id == user.session_id))  # type: ignore[arg-type]
        await session.commit()
    request.state.user = None
