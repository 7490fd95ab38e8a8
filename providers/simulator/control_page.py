"""The simulator's control page, ``/Sim/Control``: play something as a demo user and watch the picks change.

A person chooses a user, searches or browses the catalogue and plays a title to the end, stops halfway,
marks it played or unplayed, favourites it, adds a title or removes one: each goes through the same
``Simulator`` calls as the ``/Sim/...`` admin API, so the same webhooks go out. Beside the catalogue, that
user's AI Picks and the Top Picks libraries as the server lists them (``_control_live.html``, polled by
``control.js`` every second), and the webhooks the simulator sent with Marquee's answers.

Who may open it:

- a caller with the simulator's admin API key (``?ApiKey=KEY`` on Jellyfin, ``?api_key=KEY`` on Emby, or
  the usual headers); a key given in the address is carried in the page's links and forms;
- without a key, only when the simulator was opened to localhost (``open_on_localhost``: the demo does),
  only from a loopback address, and only under a loopback host name (so a DNS-rebinding page cannot
  reach it through the browser).

Every change is a POST that must carry the page's form token (a per-simulator random value a cross-site
page cannot read), so another site cannot play titles through a visitor's browser. The page sends a CSP
that allows no inline script or style.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from weakref import WeakKeyDictionary, WeakSet

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from providers.simulator.catalog import CatalogMovie, CatalogSeries
from providers.simulator.model import SimItem, SimUser
from providers.simulator.query import ItemQuery
from providers.simulator.state import SimError, Simulator

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp

CONTROL = "/Sim/Control"
PAGE_SIZE = 40
LISTED = 12  # titles shown per library
WEBHOOKS_SHOWN = 14
STATIC = {"control.css": "text/css", "control.js": "text/javascript", "control.svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
ACTIONS = ("play", "half", "played", "unplayed", "favourite", "unfavourite", "remove")
KINDS = {"all": ("Movie", "Series"), "movies": ("Movie",), "series": ("Series",)}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

_open_on_localhost: WeakSet[Simulator] = WeakSet()
_form_tokens: WeakKeyDictionary[Simulator, str] = WeakKeyDictionary()
_env = Environment(loader=PackageLoader("providers.simulator", "templates"), autoescape=select_autoescape())


def open_on_localhost(sim: Simulator) -> None:
    """Let the control page answer without a key to browsers on this machine (the demo does this)."""
    _open_on_localhost.add(sim)


def add_routes(app: SimulatorApp) -> None:
    app.add("GET", CONTROL, "anon", page)
    app.add("GET", f"{CONTROL}/Live", "anon", live)
    app.add("POST", f"{CONTROL}/Act", "anon", act)
    app.add("POST", f"{CONTROL}/Add", "anon", add_title)
    app.add("GET", f"{CONTROL}/Static/{{name}}", "anon", static)


# --- access -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    key_param: dict[str, str]  # the admin key to carry in links and forms ({} when not given in the address)
    form_token: str

    def url(self, path: str, **params: str) -> str:
        query = {k: v for k, v in params.items() if v} | self.key_param
        return f"{path}?{urlencode(query)}" if query else path


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(ctx: Ctx) -> str:
    host = ctx.request.headers.get("host", "")
    return (urlsplit(f"//{host}").hostname or "").lower()


def access(ctx: Ctx) -> Access:
    sim = ctx.sim
    token = _form_tokens.setdefault(sim, secrets.token_urlsafe(18))
    caller = ctx.caller
    if caller is not None and caller.is_admin:
        name = "ApiKey" if sim.flavor == "jellyfin" else "api_key"
        given = ctx.arg(name) or ctx.arg("api_key")
        return Access({name: given} if given else {}, token)
    client = ctx.request.client.host if ctx.request.client else None
    if sim in _open_on_localhost and _is_loopback(client) and _host_name(ctx) in LOOPBACK_NAMES:
        return Access({}, token)
    raise SimError(
        403,
        "The control page needs the simulator's admin API key (add ?ApiKey=KEY, or ?api_key=KEY on Emby). "
        "Without one it answers only on this machine, in the demo (http://127.0.0.1:PORT/Sim/Control).",
    )


def _html(body: str, status: int = 200) -> Response:
    return HTMLResponse(
        body,
        status_code=status,
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


# --- what the page shows ----------------------------------------------------------------------------


def _viewers(sim: Simulator) -> list[SimUser]:
    return [u for u in sim.users.values() if not u.is_admin] or list(sim.users.values())


def _chosen_user(sim: Simulator, name: str | None) -> SimUser:
    viewers = _viewers(sim)
    if name:
        user = sim.user(name)  # 404 with a message for an unknown name
        return user
    return viewers[0]


def _taste(user: SimUser) -> str | None:
    from providers.simulator.demo_catalogue import taste_of

    taste = taste_of(user.name)
    return taste.label if taste else None


def _catalogue_items(sim: Simulator, kind: str, search: str, genre: str) -> tuple[list[SimItem], int]:
    libraries = {sim.movies_library.id, sim.shows_library.id}
    types = KINDS.get(kind, KINDS["all"])
    needle = search.lower()
    found = [
        item
        for item in sim.items.values()
        if item.library_id in libraries
        and item.type in types
        and (not needle or needle in item.name.lower() or any(needle in p.name.lower() for p in item.people))
        and (not genre or genre in item.genres)
    ]
    found.sort(key=lambda i: i.sort_name)
    return found[:PAGE_SIZE], len(found)


def _genres(sim: Simulator) -> list[str]:
    libraries = {sim.movies_library.id, sim.shows_library.id}
    titles = (i for i in sim.items.values() if i.library_id in libraries and i.type in ("Movie", "Series"))
    return sorted({genre for item in titles for genre in item.genres})


def _row(sim: Simulator, user: SimUser, item: SimItem) -> dict[str, Any]:
    if item.type == "Series":
        played, total = sim.folder_counts(user.id, item)
        data = sim.get_user_data(user.id, item)
        status = f"{played}/{total} episodes" if played else ""
        return {"item": item, "played": total > 0 and played == total, "favourite": data.is_favorite, "status": status}
    data = sim.get_user_data(user.id, item)
    resume = round(100 * data.position_ticks / item.runtime_ticks) if item.runtime_ticks and data.position_ticks else 0
    status = "watched" if data.played else (f"stopped at {resume}%" if resume else "")
    return {"item": item, "played": data.played, "favourite": data.is_favorite, "status": status}


def _key(item: SimItem) -> str:
    return f"{item.name} ({item.year})" if item.year else item.name


@dataclass
class Listed:
    name: str
    total: int
    titles: list[SimItem]  # the first LISTED
    keys: list[str]  # every title's key ("Name (year)"), so the page can tell what left or arrived anywhere


def _libraries(sim: Simulator, user: SimUser) -> list[Listed]:
    """The user's AI Picks and the Top Picks libraries they can see, each as the server lists it."""
    from providers.simulator.query import QueryEngine

    engine = QueryEngine(sim)
    visible = engine.visible_libraries(user)
    out: list[Listed] = []
    for library in sorted(sim.libraries.values(), key=lambda lib: (not lib.name.startswith("AI"), lib.name)):
        mine = library.name.startswith("AI Picks") and user.name.lower() in library.name.lower()
        if library.id not in visible or not (mine or library.name.startswith("Top Picks")):
            continue
        kind = "Series" if library.collection_type == "tvshows" else "Movie"
        query = {"parentid": library.id, "recursive": "true", "includeitemtypes": kind}
        ids = engine.run(ItemQuery.parse(query, user, lambda v: v))
        titles = [sim.items[i] for i in ids]
        out.append(Listed(library.name, len(ids), titles[:LISTED], [_key(t) for t in titles]))
    return out


def _deliveries(sim: Simulator) -> list[dict[str, Any]]:
    sent = sim.webhooks.sent[-WEBHOOKS_SHOWN:]
    first = len(sim.webhooks.sent) - len(sent) + 1
    return [
        {
            "n": first + k,
            "event": d.event,
            "status": d.status,
            "error": d.error,
            "ok": d.status is not None and d.status < 300,
        }
        for k, d in enumerate(sent)
    ][::-1]


def _marquee_origin(sim: Simulator) -> str | None:
    """Where the webhooks go, without path or query (the query holds the webhook secret)."""
    for target in sim.webhooks.targets:
        parts = urlsplit(target.url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _render_page(
    ctx: Ctx, grant: Access, *, message: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    sim = ctx.sim
    user = _chosen_user(sim, ctx.arg("user"))
    search = (ctx.arg("q") or "").strip()[:100]
    kind = ctx.arg("kind") or "all"
    kind = kind if kind in KINDS else "all"
    genre = (ctx.arg("genre") or "").strip()[:60]
    items, total = _catalogue_items(sim, kind, search, genre)
    state = {"user": user.name, "q": search, "kind": kind if kind != "all" else "", "genre": genre}
    body = _env.get_template("control.html").render(
        sim=sim,
        user=user,
        users=_viewers(sim),
        taste=_taste(user),
        tastes={u.name: _taste(u) for u in _viewers(sim)},
        rows=[_row(sim, user, item) for item in items],
        total=total,
        page_size=PAGE_SIZE,
        search=search,
        kind=kind,
        genre=genre,
        genres=_genres(sim),
        state=state,
        grant=grant,
        control=CONTROL,
        libraries=_libraries(sim, user),
        deliveries=_deliveries(sim),
        backlog=sim.webhooks.backlog,
        marquee=_marquee_origin(sim),
        message=message,
        error=error,
    )
    return _html(body, status)


# --- handlers ---------------------------------------------------------------------------------------


async def page(ctx: Ctx) -> Response:
    grant = access(ctx)
    done = ctx.arg("done")
    return _render_page(ctx, grant, message=_done_message(ctx, done) if done else None)


async def live(ctx: Ctx) -> Response:
    access(ctx)
    sim = ctx.sim
    user = _chosen_user(sim, ctx.arg("user"))
    body = _env.get_template("_control_live.html").render(
        user=user,
        libraries=_libraries(sim, user),
        deliveries=_deliveries(sim),
        backlog=sim.webhooks.backlog,
        marquee=_marquee_origin(sim),
    )
    return _html(body)


async def static(ctx: Ctx) -> Response:
    name = ctx.params["name"]
    if name not in STATIC:
        raise SimError(404, "No such file")
    content = (files("providers.simulator.static") / name).read_bytes()
    return Response(content, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


async def _form(ctx: Ctx, grant: Access) -> dict[str, str]:
    form = await ctx.request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not secrets.compare_digest(fields.get("token", ""), grant.form_token):
        raise SimError(403, "This form has expired or did not come from the control page: reload the page.")
    return fields


def _back(grant: Access, fields: dict[str, str], **extra: str) -> Response:
    keep = {k: fields.get(k, "")[:100] for k in ("user", "q", "kind", "genre")}
    return RedirectResponse(grant.url(CONTROL, **keep, **extra), status_code=303)


def _next_episode(sim: Simulator, user: SimUser, series: SimItem) -> SimItem:
    episodes = sim.descendants(series, {"Episode"})
    if not episodes:
        raise SimError(400, f"{series.name} has no episodes to play")
    return next((e for e in episodes if not sim.get_user_data(user.id, e).played), episodes[0])


async def act(ctx: Ctx) -> Response:
    grant = access(ctx)
    fields = await _form(ctx, grant)
    sim = ctx.sim
    action = fields.get("action", "")
    if action not in ACTIONS:
        raise SimError(400, f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    user = sim.user(fields.get("user", ""))
    item = sim.item(fields.get("item", ""))
    if item.library_id not in (sim.movies_library.id, sim.shows_library.id) or item.type not in ("Movie", "Series"):
        raise SimError(400, "Only the catalogue's movies and series can be controlled here")
    target = _next_episode(sim, user, item) if item.type == "Series" and action in ("play", "half") else item
    if action == "play":
        sim.play(user.id, target.id, 1.0)
    elif action == "half":
        sim.play(user.id, target.id, 0.5)
    elif action in ("played", "unplayed"):
        sim.mark_played(user.id, item.id, action == "played")
    elif action in ("favourite", "unfavourite"):
        sim.set_favorite(user.id, item.id, action == "favourite")
    else:
        sim.remove_item(item.id)
    what = target.id if target is not item else item.id
    return _back(grant, fields, done=action, item=what, name=item.name if action == "remove" else "")


def _done_message(ctx: Ctx, action: str) -> str | None:
    sim = ctx.sim
    user = ctx.arg("user") or ""
    item = sim.items.get(ctx.item_id(ctx.arg("item") or ""))
    if action == "remove":
        return f"Removed {ctx.arg('name') or 'the title'} from the catalogue."
    if item is None:
        return None
    name = item.name
    if item.type == "Episode" and item.series_id in sim.items:
        name = f"{sim.items[item.series_id or ''].name}, S{item.parent_index_number}E{item.index_number}"
    verbs = {
        "play": f"{user} watched {name} to the end.",
        "half": f"{user} stopped {name} halfway.",
        "played": f"{user} marked {name} played.",
        "unplayed": f"{user} marked {name} unplayed.",
        "favourite": f"{user} favourited {name}.",
        "unfavourite": f"{user} unfavourited {name}.",
        "added": f"Added {name} to the catalogue.",
    }
    text = verbs.get(action)
    return f"{text} The webhooks went out; the picks beside update by themselves." if text else None


def _year(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or not 1870 <= int(value) <= 2100:
        raise ValueError("Year must be a number between 1870 and 2100.")
    return int(value)


async def add_title(ctx: Ctx) -> Response:
    grant = access(ctx)
    fields = await _form(ctx, grant)
    sim = ctx.sim
    title = " ".join(fields.get("title", "").split())
    kind = fields.get("type", "movie")
    try:
        if not title or len(title) > 200:
            raise ValueError("Give the title a name (at most 200 characters).")
        if kind not in ("movie", "series"):
            raise ValueError("Type must be movie or series.")
        year = _year(fields.get("year", ""))
    except ValueError as exc:
        ctx.q.update({k: fields.get(k, "")[:100] for k in ("user", "q", "kind", "genre")})
        return _render_page(ctx, grant, error=str(exc), status=400)
    genres = [g.strip() for g in fields.get("genres", "").split(",") if g.strip()][:6]
    overview = fields.get("overview", "").strip()[:2000] or None
    key = f"added:{secrets.token_hex(4)}"
    if kind == "series":
        item = sim.add_series(
            CatalogSeries(key, title, year, genres=genres, overview=overview, episodes_per_season=[6])
        )
    else:
        item = sim.add_movie(CatalogMovie(key, title, year, genres=genres, overview=overview, runtime_min=100))
    return _back(grant, fields, done="added", item=item.id)
