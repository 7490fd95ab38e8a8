"""The login limit: failed logins counted per account and per client address, and who the client is.

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

import functools
import hashlib
import ipaddress
import logging

from redis.exceptions import RedisError
from starlette.requests import Request

from sidecar.services import Services

log = logging.getLogger(__name__)

LOGIN_WINDOW_S = 600
LOGIN_MAX_FAILURES = 5


class LoginFailed(Exception):
    def __init__(self, message: str, status_code: int, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# --- client address --------------------------------------------------------------------------------


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
        _services(request).settings.trusted_proxies,
    )


# --- counting attempts -----------------------------------------------------------------------------

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


def limit_keys(name: str, address: str) -> list[str]:
    parsed = parse_ip(address)
    bucket = str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed and parsed.version == 6 else address
    account = hashlib.sha256(name.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"marquee:login-failures:address:{bucket}", f"marquee:login-failures:account:{account}"]


async def count_attempt(services: Services, name: str, address: str) -> list[str]:
    """Count this attempt against both limits (atomically), or raise 429 if either is used up."""
    keys = limit_keys(name, address)
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


async def give_back(services: Services, keys: list[str]) -> None:
    try:
        await services.redis.register_script(_GIVE_BACK)(keys=keys)
    except (RedisError, OSError) as exc:  # the attempt stays counted: errs on the safe side
        log.warning("cannot give back a login attempt: %s", exc)
