"""Login with the media server's own credentials, sessions, CSRF and login rate limiting.

- Login: ``MediaServer.authenticate_user(name, password)``; on success the ``app_user`` row is looked
  up by the server's user id (created when missing, name/admin flag refreshed from the server every
  time), and a ``login_session`` row is created. The cookie holds only the session id, signed with
  ``session_secret`` (itsdangerous, timestamped), HttpOnly and SameSite=Lax. A session ends at logout,
  at ``expires_at``, or when the user disappears from the server (``gone_at``).
- CSRF: every form carries ``csrf_token``, an HMAC of the session id under the session secret (before
  login: of a random value kept in a cookie, the double-submit pattern). JSON API writes send the same
  token in the ``X-CSRF-Token`` header; ``GET /api/me`` and the ``<meta name="csrf-token">`` of every
  page carry it.
- Login limit: failed logins are counted in Redis per account name (case-insensitive) and per client
  address (an IPv6 client by its /64). Once either count reaches ``LOGIN_MAX_FAILURES`` within
  ``LOGIN_WINDOW_S`` (fixed from that counter's first attempt), every attempt for that account or from that
  address gets 429 without reaching the media server, a correct password included, until the window
  ends. To hold under concurrency, an attempt is counted *before* the media server is asked, in one Lua
  script that checks both counters and increments both (so 100 simultaneous guesses let at most
  ``LOGIN_MAX_FAILURES`` through); a wrong password keeps its count, anything else (a correct password,
  the media server failing, the request being cancelled) gives it back. A successful login does not
  clear earlier failures.
- Client address: the connecting peer, unless the peer is one of ``MARQUEE_TRUSTED_PROXIES``; then the
  right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries to its left were
  written by the client and prove nothing). With no trusted proxies (the default) the header is ignored.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import delete
from sqlmodel import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from providers.errors import MediaServerError, ProviderAuthError
from sidecar.db.models import AppUser, LoginSession
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync.server import ensure_server
from sidecar.web.middleware import BodyTimeout

log = logging.getLogger(__name__)

SESSION_COOKIE = "marquee_session"
PRELOGIN_COOKIE = "marquee_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_TTL = timedelta(days=14)
LOGIN_WINDOW_S = 600
LOGIN_MAX_FAILURES = 5
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    is_admin: bool
    provider_id: str
    session_id: str
    csrf_token: str


class LoginFailed(Exception):
    def __init__(self, message: str, status_code: int, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


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


async def _load_user(request: Request) -> CurrentUser | None:
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
    """Only local paths are followed after login (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/picks"


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
                raise HTTPException(401, "Log in first (POST /api/auth/login).")
            return login_redirect(request)
        if _is_api(request) and request.method in UNSAFE_METHODS:
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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[IPNetwork, ...]:
    """``MARQUEE_TRUSTED_PROXIES`` as networks (the setting's validator has already refused bad entries)."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in setting.split(",") if entry.strip())


def parse_ip(text: str) -> IPAddress | None:
    """An address as X-Forwarded-For or a socket spells it (``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``); IPv4-mapped IPv6 becomes IPv4. None when it is not an address."""
    host = text.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def forwarded_client(peer: str | None, forwarded_for: list[str], trusted_proxies: str) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, then the right-most ``X-Forwarded-For``
    hop that is not a trusted proxy (an unreadable hop stops the walk at the proxy that reported it)."""
    if not peer:
        return "unknown"
    address = parse_ip(peer)
    if address is None:
        return peer
    networks = trusted_networks(trusted_proxies)
    if not _trusted(address, networks):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        stated = parse_ip(hop)
        if stated is None:
            break
        address = stated
        if not _trusted(address, networks):
            break
    return str(address)


def client_address(request: Request) -> str:
    """The address of whoever sent ``request``, for the login limit and the logs (see the module docstring)."""
    return forwarded_client(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        services_of(request).settings.trusted_proxies,
    )


# --- login limit -----------------------------------------------------------------------------------

# KEYS: the counters (address, account). ARGV: limit, window (s). Returns {0, 0} when the attempt is counted
# and may go ahead, else {index of the full counter, seconds left}.
_COUNT_ATTEMPT = """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= limit then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then redis.call('EXPIRE', key, window); ttl = window end
    return {i, ttl}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end
end
return {0, 0}
"""
# Give back an attempt that was not a wrong password (the counters keep their expiry).
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 1 then redis.call('DECR', key) elseif n == 1 then redis.call('DEL', key) end
end
return 0
"""


def _limit_keys(name: str, address: str) -> list[str]:
    parsed = parse_ip(address)
    bucket = str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed and parsed.version == 6 else address
    account = hashlib.sha256(name.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"marquee:login-failures:address:{bucket}", f"marquee:login-failures:account:{account}"]


async def _count_attempt(services: Services, name: str, address: str) -> list[str]:
    """Count this attempt against both limits (atomically), or raise 429 if either is used up."""
    keys = _limit_keys(name, address)
    script = services.redis.register_script(_COUNT_ATTEMPT)
    try:
        full, ttl = await script(keys=keys, args=[LOGIN_MAX_FAILURES, LOGIN_WINDOW_S])
    except (RedisError, OSError) as exc:  # no limit, no login: never let guesses through uncounted
        log.error("cannot count a login attempt: %s", exc)
        raise LoginFailed(
            "Logins are unavailable for a moment (Marquee cannot reach Redis); try again soon.", 503
        ) from None
    if int(full) == 0:
        return keys
    minutes = max(1, (int(ttl) + 59) // 60)
    which = "from your address" if int(full) == 1 else "for this user name"
    log.warning("login refused: too many failed logins %s (%s, user name %r)", which, address, name[:100])
    raise LoginFailed(f"Too many failed logins {which}; try again in {minutes} min.", 429, retry_after=int(ttl))


async def _give_back(services: Services, keys: list[str]) -> None:
    try:
        await services.redis.register_script(_GIVE_BACK)(keys=keys)
    except (RedisError, OSError) as exc:  # the attempt stays counted: errs on the safe side
        log.warning("cannot give back a login attempt: %s", exc)


async def login(services: Services, name: str, password: str, address: str) -> tuple[CurrentUser, str]:
    """Check the credentials with the media server; returns the user and the new session id."""
    server = services.media_server
    if server is None:
        raise LoginFailed("No media server is configured, so nobody can log in yet: set MARQUEE_MEDIA_SERVER_URL.", 503)
    counted = await _count_attempt(services, name, address)
    try:
        remote, _token = await server.authenticate_user(name, password)
    except ProviderAuthError:
        raise LoginFailed("Wrong user name or password.", 401) from None  # the attempt stays counted
    except MediaServerError as exc:
        await _give_back(services, counted)
        raise LoginFailed(f"The media server could not check the login: {exc.message}", 503) from exc
    except BaseException:
        await asyncio.shield(_give_back(services, counted))
        raise
    await _give_back(services, counted)
    try:
        server_id = await ensure_server(services)
    except MediaServerError as exc:  # e.g. a revoked API key: the user's password was fine
        raise LoginFailed(f"Marquee cannot reach the media server as admin: {exc.message}", 503) from exc
    now = datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    async with services.sessions() as session:
        user = (
            await session.exec(select(AppUser).where(AppUser.server_id == server_id, AppUser.provider_id == remote.id))
        ).first()
        if user is None:
            user = AppUser(
                server_id=server_id,
                provider_id=remote.id,
                name=remote.name,
                is_admin=remote.is_admin,
                is_disabled=remote.is_disabled,
                enable_all_folders=remote.enable_all_folders,
            )
        else:
            user.name = remote.name
            user.is_admin = remote.is_admin
            user.is_disabled = remote.is_disabled
            user.gone_at = None
            user.updated_at = now
        session.add(user)
        await session.flush()
        assert user.id is not None
        await session.exec(delete(LoginSession).where(LoginSession.expires_at < now))  # type: ignore[arg-type]
        session.add(LoginSession(id=session_id, user_id=user.id, created_at=now, expires_at=now + SESSION_TTL))
        await session.commit()
        current = CurrentUser(
            id=user.id,
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
