"""Every endpoint of the seed's API Reference (Aperture's README, 62 of them) at its path and method.

The table below is written by hand from that README, in its order, not generated from our routes: a
missing route fails here. Each row is called as a user (alice, with ``me`` for her own id) and as an
administrator (naming alice's id), and its answer is checked against the data the test made. The
cross-user rule (alice naming bob → 403) and bad input (→ 4xx, never 500) are checked after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from providers.simulator.model import SimItem
from sidecar.db.models import AppUser, Item, JobDefinition, JobRun, Library, TopPick, WatchState
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from tests.conftest import shared_path
from tests.embeddings.doubles import HashingEmbedder
from tests.web.conftest import Web


@dataclass
class World:
    """What the test made, and the ids a role's calls name."""

    alice: AppUser
    bob: AppUser
    movies: list[Item]  # alice watched the first three; her picks are movies[3:6], best first
    series: list[Item]
    library: Library
    pick_run: int
    done_run: int
    sim_url: str
    role: str = ""
    caller: str = ""
    user: str = ""  # the {user} of a path: "me" for alice, alice's id for the admin
    channel: int = 0
    doomed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pick(self) -> Item:
        return self.movies[3]


Check = Callable[[Any, World], bool]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the seed's path, its :params written as {fields} of World
    admin: int  # the status an administrator gets
    user: int  # the status alice gets
    check: Check | None = None  # on the administrator's 2xx answer, and alice's
    body: Any = None
    sse: bool = False  # a text/event-stream, checked as text


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["item"]["name"] if "item" in r else r["name"] for r in rows]


ADMIN_ONLY = 403

SEED_API: list[Row] = [
    # Authentication
    Row("POST", "/api/auth/login", 200, 200, lambda b, w: b["user"]["name"] == w.caller and b["csrf_token"]),
    Row("POST", "/api/auth/logout", 200, 200, lambda b, w: b["logged_out"] is True),
    Row("GET", "/api/auth/me", 200, 200, lambda b, w: b["name"] == w.caller and b["is_admin"] == (w.role == "admin")),
    # Users
    Row("GET", "/api/users", 200, ADMIN_ONLY, lambda b, w: {"alice", "bob", "admin"} <= set(_names(b["items"]))),
    Row("GET", "/api/users/{user}", 200, 200, lambda b, w: b["id"] == w.alice.id and len(b["libraries"]) == 2),
    Row(
        "GET",
        "/api/users/{user}/stats",
        200,
        200,
        lambda b, w: b["user_id"] == w.alice.id and b["movies_watched"] == 3 and b["picks_available"] == 3,
    ),
    Row(
        "GET",
        "/api/users/{user}/watch-history",
        200,
        200,
        lambda b, w: b["total"] == 3 and _names(b["items"]) == [m.name for m in w.movies[:3]],
    ),
    Row(
        "GET",
        "/api/users/{user}/watch-stats",
        200,
        200,
        lambda b, w: b["summary"]["titles"] == 3 and b["summary"]["favourites"] == 1 and len(b["timeline"]) == 12,
    ),
    Row(
        "GET",
        "/api/users/{user}/taste-profile",
        200,
        200,
        lambda b, w: b["user_id"] == w.alice.id and b["media_type"] == "movies" and "text" in b,
    ),
    Row(
        "POST",
        "/api/users/{user}/taste-profile/regenerate",
        200,
        200,
        lambda b, w: (
            "Based on 3 movies watched." in b["text"] and b["facts"]["recent_titles"] == [m.name for m in w.movies[:3]]
        ),
    ),
    Row(
        "GET",
        "/api/users/{user}/series-taste-profile",
        200,
        200,
        lambda b, w: b["user_id"] == w.alice.id and b["media_type"] == "series",
    ),
    Row(
        "POST",
        "/api/users/{user}/series-taste-profile/regenerate",
        200,
        200,
        lambda b, w: b["media_type"] == "series" and b["text"].startswith("No series watched yet"),
    ),
    Row(
        "PUT",
        "/api/users/{user}",
        200,
        200,
        lambda b, w: b["id"] == w.alice.id and b["movies_library_name"] == f"Picks by {w.caller}",
        body="{library_name}",
    ),
    # Top Picks
    Row(
        "GET",
        "/api/top-picks/movies",
        200,
        200,
        lambda b, w: b["total"] == 2 and _names(b["items"]) == [w.movies[7].name, w.movies[6].name],
    ),
    Row("GET", "/api/top-picks/series", 200, 200, lambda b, w: _names(b["items"]) == [w.series[0].name]),
    # Movies
    Row("GET", "/api/movies?{movie_filter}", 200, 200, lambda b, w: _names(b["items"]) == w.extra["filtered"]),
    Row(
        "GET",
        "/api/movies/{movie}",
        200,
        200,
        lambda b, w: (
            b["id"] == w.pick.id
            and b["name"] == w.pick.name
            and (b["pick"]["rank"] == 1 if w.role == "user" else b["pick"] is None)
        ),
    ),
    Row(
        "GET",
        "/api/movies/{movie}/similar",
        200,
        200,
        lambda b, w: (
            b["item_id"] == w.pick.id
            and b["items"]
            and all(i["kind"] == "Movie" and i["id"] != w.pick.id for i in b["items"])
        ),
    ),
    Row("GET", "/api/movies/genres", 200, 200, lambda b, w: b["genres"] == w.extra["genres"]),
    # Recommendations
    Row(
        "GET",
        "/api/recommendations/{user}",
        200,
        200,
        lambda b, w: b["total"] == 3 and b["run"]["id"] == w.pick_run and _names(b["items"])[0] == w.pick.name,
    ),
    Row(
        "GET",
        "/api/recommendations/{user}/movie/{movie}/insights",
        200,
        200,
        lambda b, w: b["rank"] == 1 and b["item"]["id"] == w.pick.id and "alice likes" in b["explanation"],
    ),
    Row(
        "GET",
        "/api/recommendations/{user}/history",
        200,
        200,
        lambda b, w: b["total"] == 1 and b["items"][0]["id"] == w.pick_run and b["items"][0]["picks"] == 3,
    ),
    # Channels
    Row("GET", "/api/channels", 200, 200, lambda b, w: f"Channel of {w.caller}" in _names(b["channels"])),
    Row(
        "POST",
        "/api/channels",
        201,
        201,
        lambda b, w: b["name"] == "Made by the table" and b["owner"]["name"] == w.caller,
        body={"name": "Made by the table"},
    ),
    Row("GET", "/api/channels/{channel}", 200, 200, lambda b, w: b["id"] == w.channel and b["is_owner"]),
    Row(
        "PUT",
        "/api/channels/{channel}",
        200,
        200,
        lambda b, w: b["name"] == "Renamed" and b["examples"][0]["id"] == w.pick.id,
        body="{channel_body}",
    ),
    Row("DELETE", "/api/channels/{doomed}", 204, 204),
    Row(
        "POST",
        "/api/channels/{channel}/generate",
        200,
        200,
        lambda b, w: b["proposal"]["source"] == "template" and len(b["items"]) > 0,
    ),
    Row(
        "POST",
        "/api/channels/{channel}/sync",
        200,
        200,
        lambda b, w: b["sync"]["enabled"] and b["sync"]["playlist_id"] and b["sync"]["error"] is None,
    ),
    # Settings (Admin)
    Row("GET", "/api/settings/media-server", 200, ADMIN_ONLY, lambda b, w: b["server"]["url"] == w.sim_url),
    Row("GET", "/api/settings/media-server/config", 200, ADMIN_ONLY, lambda b, w: b["url"] == w.sim_url),
    Row(  # the test's server comes from the environment, which wins: refused with the reason
        "PATCH",
        "/api/settings/media-server/config",
        422,
        ADMIN_ONLY,
        lambda b, w: "environment" in str(b["error"]),
        body={"url": "http://example.invalid"},
    ),
    Row("POST", "/api/settings/media-server/test", 200, ADMIN_ONLY, lambda b, w: b["product"] == "jellyfin"),
    Row("GET", "/api/settings/libraries", 200, ADMIN_ONLY, lambda b, w: "Test films" in _names(b["libraries"])),
    Row("POST", "/api/settings/libraries/sync", 200, ADMIN_ONLY, lambda b, w: len(b["libraries"]) > 0),
    Row(
        "PATCH",
        "/api/settings/libraries/{library}",
        200,
        ADMIN_ONLY,
        lambda b, w: b["id"] == w.library.id and b["enabled"] is False,
        body={"enabled": False},
    ),
    Row(
        "GET",
        "/api/settings/recommendations",
        200,
        ADMIN_ONLY,
        lambda b, w: b["movies"]["count"] == 50 and b["series"]["weights"]["similarity"] == 0.5,
    ),
    Row(
        "PATCH",
        "/api/settings/recommendations/movies",
        200,
        ADMIN_ONLY,
        lambda b, w: b["count"] == 40,
        body={"count": 40},
    ),
    Row(
        "PATCH",
        "/api/settings/recommendations/series",
        200,
        ADMIN_ONLY,
        lambda b, w: b["count"] == 30 and b["weights"]["similarity"] == 0.5,
        body={"count": 30},
    ),
    Row("GET", "/api/settings/embedding-model", 200, ADMIN_ONLY, lambda b, w: b["provider"] == "local"),
    Row(
        "PATCH",
        "/api/settings/embedding-model",
        200,
        ADMIN_ONLY,
        lambda b, w: b["reembedding"] is False,
        body="{embedding_body}",
    ),
    Row("GET", "/api/settings/text-generation-model", 200, ADMIN_ONLY, lambda b, w: b["model"] is None),
    Row(
        "PATCH",
        "/api/settings/text-generation-model",
        200,
        ADMIN_ONLY,
        lambda b, w: b["model"] == "gpt-4o-mini",
        body={"model": "gpt-4o-mini"},
    ),
    Row(
        "GET",
        "/api/settings/top-picks",
        200,
        ADMIN_ONLY,
        lambda b, w: b["movies"]["window_days"] == 30 and b["series"]["enabled"] is True,
    ),
    Row(
        "PATCH",
        "/api/settings/top-picks",
        200,
        ADMIN_ONLY,
        lambda b, w: b["movies"]["window_days"] == 14 and b["series"]["window_days"] == 30,
        body={"movies": {"window_days": 14}},
    ),
    Row(
        "GET",
        "/api/settings/output-format",
        200,
        ADMIN_ONLY,
        lambda b, w: b["mode"] is None and b["strm_content"] == "path" and b["effective_mode"] in ("strm", "symlink"),
    ),
    Row(
        "PATCH",
        "/api/settings/output-format",
        200,
        ADMIN_ONLY,
        lambda b, w: b["mode"] == b["effective_mode"] == "symlink",
        body={"mode": "symlink"},
    ),
    Row("GET", "/api/settings/ai-explanation", 200, ADMIN_ONLY, lambda b, w: b["enabled"] is True),
    Row(
        "PATCH",
        "/api/settings/ai-explanation",
        200,
        ADMIN_ONLY,
        lambda b, w: b["enabled"] is False,
        body={"enabled": False},
    ),
    Row("GET", "/api/settings/ai-explanation/user/{alice_id}", 200, ADMIN_ONLY, lambda b, w: b["granted"] is False),
    Row(
        "PATCH",
        "/api/settings/ai-explanation/user/{alice_id}",
        200,
        ADMIN_ONLY,
        lambda b, w: b["granted"] is True,
        body={"granted": True},
    ),
    Row(
        "GET",
        "/api/settings/cost-inputs",
        200,
        ADMIN_ONLY,
        lambda b, w: b["embedding"]["catalogue"] == len(w.movies) + len(w.series) and b["text"]["users"] == 3,
    ),
    # Jobs (Admin)
    Row("GET", "/api/jobs", 200, ADMIN_ONLY, lambda b, w: "sync-movies" in _names(b["jobs"])),
    Row(
        "GET",
        "/api/jobs/active",
        200,
        ADMIN_ONLY,
        lambda b, w: [r["job_name"] for r in b["runs"]] == ["sync-watch-history-full"],
    ),
    Row("POST", "/api/jobs/{job}/run", 202, ADMIN_ONLY, lambda b, w: b["queued"] is True),
    Row("POST", "/api/jobs/{job}/cancel", 200, ADMIN_ONLY, lambda b, w: b["name"] == "sync-movies"),
    Row("GET", "/api/jobs/{job}/config", 200, ADMIN_ONLY, lambda b, w: b["name"] == "sync-movies" and b["enabled"]),
    Row(
        "PATCH",
        "/api/jobs/{job}/config",
        200,
        ADMIN_ONLY,
        lambda b, w: b["schedule"] == "daily:03:00",
        body={"schedule": "daily:03:00"},
    ),
    Row(
        "GET",
        "/api/jobs/{job}/history",
        200,
        ADMIN_ONLY,
        lambda b, w: [r["id"] for r in b["runs"]] == [w.done_run],
    ),
    Row(
        "GET",
        "/api/jobs/progress/stream/{done_run}",
        200,
        ADMIN_ONLY,
        lambda b, w: "event: progress" in b and "event: end" in b,
        sse=True,
    ),
    # Database (Admin)
    Row("GET", "/api/admin/purge/stats", 200, ADMIN_ONLY, lambda b, w: b["movies"] == len(w.movies)),
    Row(
        "POST",
        "/api/admin/purge/movies",
        200,
        ADMIN_ONLY,
        lambda b, w: b["deleted"]["movies"] > 0,
        body={"confirm": "movies"},
    ),
]

LAST = ("/api/admin/purge/movies", "/api/auth/logout")  # called after every other row, in this order


def _shape(method: str, path: str) -> str:
    return method + " " + re.sub(r"\{\w+\}|:\w+", "*", path.split("?")[0])


def test_the_table_is_the_seeds_reference() -> None:
    readme = shared_path("seed/000_744e58eb822d5b6a.txt").read_text()
    reference = readme.split("## API Reference")[1].split("\n## ")[0]
    seed = [_shape(m, p) for m, p in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`]+)`", reference)]
    assert len(seed) == 62
    assert [_shape(r.method, r.path) for r in SEED_API] == seed


# --- the data ------------------------------------------------------------------------------------------


async def _mirror(web: Web) -> tuple[list[Item], list[Item]]:
    """The simulator's movies and series as item rows (so playlists can be synced), embedded."""
    sim_items: list[SimItem] = sorted(
        (i for i in web.sim.items.values() if i.type in ("Movie", "Series")), key=lambda i: i.name
    )
    rows = [
        await web.add_item(
            i.name, kind=i.type, provider_id=i.id, year=i.year, genres=list(i.genres), overview=i.overview
        )
        for i in sim_items
    ]
    web.services.embedder = HashingEmbedder(16)
    for media_type in (MediaType.MOVIES, MediaType.SERIES):
        await embed_items(web.services, web.services.embedder, media_type, Progress.detached())
    return [r for r in rows if r.kind == "Movie"], [r for r in rows if r.kind == "Series"]


async def _world(web: Web) -> World:
    movies, series = await _mirror(web)
    alice, bob = await web.user_row("alice"), await web.user_row("bob")
    await web.user_row("admin")
    now = datetime.now(UTC)
    async with web.services.sessions() as session:
        for days, movie in enumerate(movies[:3], start=1):
            session.add(
                WatchState(
                    user_id=alice.id,
                    item_id=movie.id,
                    played=True,
                    play_count=1,
                    is_favorite=days == 1,
                    last_played_at=now - timedelta(days=days),
                    completion=1.0,
                )
            )
        for rank, item in enumerate([movies[7], movies[6]], start=1):
            session.add(TopPick(media_type="movies", item_id=item.id, rank=rank, score=1 / rank))
        session.add(TopPick(media_type="series", item_id=series[0].id, rank=1, score=1.0))
        library = Library(
            server_id=web.server_row, provider_id="lib-films", name="Test films", collection_type="movies"
        )
        session.add(library)
        session.add(JobDefinition(name="sync-movies", description="sync-movies"))
        session.add(JobDefinition(name="sync-watch-history-full", description="full"))
        done = JobRun(job_name="sync-movies", status="done", finished_at=now, message="done")
        session.add(done)
        session.add(JobRun(job_name="sync-watch-history-full", progress_current=3, progress_total=9))
        await session.commit()
        await session.refresh(library)
        await session.refresh(done)
    run = await web.add_picks(alice, movies[3:6])
    assert run.id is not None and done.id is not None
    return World(alice, bob, movies, series, library, run.id, done.id, str(web.settings.media_server_url))


def _filter(w: World) -> tuple[str, list[str]]:
    """A genre and year filter, newest first, and the titles it must give (from the rows made here)."""
    genre = w.movies[0].genres[0]
    year = min(m.year or 0 for m in w.movies)
    matching = [m for m in w.movies if genre in m.genres and (m.year or 0) >= year]
    matching.sort(key=lambda m: (-(m.year or 0), m.name, m.id))
    query = f"genre={genre}&year_from={year}&sort=year&order=desc&limit=2&offset=0"
    return query, [m.name for m in matching[:2]]


async def _act_as(web: Web, w: World, role: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
    name = "admin" if role == "admin" else "alice"
    client, token = await web.api_login(name)
    headers = {"X-CSRF-Token": token}
    w.role, w.caller = role, name
    w.user = str(w.alice.id) if role == "admin" else "me"
    made = []
    for title in (f"Channel of {name}", "Doomed"):
        response = await client.post(
            "/api/channels", json={"name": title, "example_item_ids": [w.pick.id]}, headers=headers
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    w.channel, w.doomed = made
    return client, headers


def _fill(template: Any, w: World) -> Any:
    query, expected = _filter(w)
    w.extra["filtered"] = expected
    w.extra["genres"] = sorted({g for m in w.movies for g in m.genres})
    values = {
        "user": w.user,
        "alice_id": w.alice.id,
        "movie": w.pick.id,
        "channel": w.channel,
        "doomed": w.doomed,
        "library": w.library.id,
        "done_run": w.done_run,
        "movie_filter": query,
        "job": "sync-movies",
    }
    bodies = {
        "{library_name}": {"movies_library_name": f"Picks by {w.caller}"},
        "{channel_body}": {"name": "Renamed", "example_item_ids": [w.pick.id]},
        "{embedding_body}": w.extra.get("embedding"),
    }
    if isinstance(template, str) and template in bodies:
        return bodies[template]
    return template.format(**values) if isinstance(template, str) else template


async def _call(web: Web, client: httpx.AsyncClient, headers: dict[str, str], row: Row, w: World) -> None:
    path = _fill(row.path, w)
    body = _fill(row.body, w)
    if row.path == "/api/auth/login":
        client = web.client()
        body = {"name": w.caller, "password": web.password(w.caller)}
    response = await client.request(row.method, path, json=body, headers=headers)
    expected = row.admin if w.role == "admin" else row.user
    where = f"{w.role}: {row.method} {path}"
    assert response.status_code == expected, f"{where} -> {response.status_code} {response.text[:300]}"
    if row.check is None or (expected == ADMIN_ONLY and w.role == "user"):
        return
    answer = response.text if row.sse else response.json()
    assert row.check(answer, w), f"{where}: {response.text[:600]}"


async def test_every_seed_endpoint_answers_at_its_path(web: Web) -> None:
    w = await _world(web)
    called = 0
    for role in ("user", "admin"):  # the administrator last: the table ends with a purge of the movies
        client, headers = await _act_as(web, w, role)
        if role == "admin":
            w.extra["embedding"] = {
                k: v
                for k, v in (await client.get("/api/settings/embedding-model")).json().items()
                if k in ("provider", "model")
            }
        last = [next(r for r in SEED_API if r.path == path) for path in LAST]
        for row in [r for r in SEED_API if r.path not in LAST] + last:
            await _call(web, client, headers, row, w)
            called += 1
    assert called == 2 * len(SEED_API)


USER_PATHS = [
    ("GET", "/api/users/{user}"),
    ("PUT", "/api/users/{user}"),
    ("GET", "/api/users/{user}/stats"),
    ("GET", "/api/users/{user}/watch-history"),
    ("GET", "/api/users/{user}/watch-stats"),
    ("GET", "/api/users/{user}/taste-profile"),
    ("POST", "/api/users/{user}/taste-profile/regenerate"),
    ("GET", "/api/users/{user}/series-taste-profile"),
    ("POST", "/api/users/{user}/series-taste-profile/regenerate"),
    ("GET", "/api/recommendations/{user}"),
    ("GET", "/api/recommendations/{user}/movie/{movie}/insights"),
    ("GET", "/api/recommendations/{user}/history"),
]


async def test_a_user_names_only_themselves_and_bad_input_is_4xx(web: Web) -> None:
    alice, bob = await web.user_row("alice"), await web.user_row("bob")
    film = await web.add_item("Only Film", year=1990, genres=["Drama"])
    await web.add_picks(alice, [film])
    await web.add_picks(bob, [film])
    client, token = await web.api_login("alice")
    headers = {"X-CSRF-Token": token}
    body = {"movies_library_name": "Mine"}
    for method, template in USER_PATHS:
        for user, status in ((str(bob.id), 403), ("999999", 403), (str(alice.id), 200), ("me", 200)):
            path = template.format(user=user, movie=film.id)
            response = await client.request(method, path, json=body if method == "PUT" else None, headers=headers)
            assert response.status_code == status, (path, response.status_code, response.text)
            if status == 403:
                assert "only see your own" in response.text
            elif "taste" in path or path.endswith("stats") or path.endswith(f"/users/{user}"):
                assert response.json().get("user_id", response.json().get("id")) == alice.id, path

    admin, admin_token = await web.api_login("admin")
    admin_headers = {"X-CSRF-Token": admin_token}
    assert (await admin.get(f"/api/recommendations/{bob.id}")).json()["items"][0]["item"]["id"] == film.id
    bad: list[tuple[httpx.AsyncClient, str, str, Any, int, str]] = [
        (admin, "GET", "/api/users/999999/stats", None, 404, "no user with id 999999"),
        (admin, "GET", "/api/users/abc", None, 422, "user_ref"),
        (admin, "GET", f"/api/users/{2**40}", None, 404, "no user"),
        (client, "GET", "/api/movies/abc", None, 422, "title_id"),
        (client, "GET", f"/api/movies/{2**40}", None, 404, "no title"),
        (client, "GET", f"/api/series/{film.id}", None, 404, f"no series with id {film.id}"),
        (client, "GET", f"/api/movies/{film.id}/similar?limit=0", None, 422, "limit"),
        (client, "GET", "/api/movies?limit=0", None, 422, "limit"),
        (client, "GET", "/api/movies?limit=201", None, 422, "limit"),
        (client, "GET", "/api/movies?offset=-1", None, 422, "offset"),
        (client, "GET", "/api/movies?genre=Polka", None, 422, "GET /api/movies/genres lists them"),
        (client, "GET", "/api/movies?year_from=2000&year_to=1990", None, 422, "year_to"),
        (client, "GET", "/api/movies?sort=price", None, 422, "sort"),
        (client, "GET", "/api/users/me/watch-history?media_type=books", None, 422, "media_type"),
        (client, "GET", "/api/recommendations/me?media_type=books", None, 422, "media_type"),
        (client, "GET", f"/api/recommendations/me/series/{film.id}/insights", None, 404, "no series"),
        (client, "PUT", "/api/users/me", {"show_explanations": True}, 403, "administrator decides"),
        (client, "GET", "/api/users", None, 403, "administrators"),
        (admin, "GET", f"/api/recommendations/{bob.id}/movie/{film.id + 1}/insights", None, 404, "no movie"),
        (admin, "POST", "/api/jobs/no-such-job/run", None, 404, "no-such-job"),
        (admin, "PATCH", "/api/settings/top-picks", {"movies": {"window_days": 0}}, 422, "movies.window_days"),
        (admin, "PATCH", "/api/settings/top-picks", {"music": {}}, 422, "music"),
        (admin, "PATCH", "/api/settings/output-format", {"mode": "copy"}, 422, "mode"),
        (admin, "PATCH", "/api/settings/recommendations/books", {"count": 3}, 404, "media_type"),
    ]
    for caller, method, path, payload, status, message in bad:
        sent = admin_headers if caller is admin else headers
        response = await caller.request(method, path, json=payload, headers=sent)
        assert response.status_code == status, (path, response.status_code, response.text)
        error = response.json()["error"]
        assert message in error["message"], (path, response.text)
        if status == 422:  # the field at fault is named
            assert error["field"] and error["field"] in message, (path, response.text)
    unknown_film = await client.get(f"/api/recommendations/me/movie/{film.id}/insights")
    assert unknown_film.status_code == 200 and unknown_film.json()["rank"] == 1  # her own pick reads
