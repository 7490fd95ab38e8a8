"""Login against the simulator's own credentials, sessions, CSRF, rate limiting, admin-only pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from sidecar.db.models import AppUser, LoginSession
from sidecar.web import auth, login_limit
from tests.web.conftest import Web, csrf_of, form_login


async def test_login_creates_user_and_session(web: Web) -> None:
    client = web.client()
    response = await form_login(client, "alice", web.password("alice"))
    assert response.status_code == 303 and response.headers["location"] == "/picks"  # form_login asks for next=/picks
    cookie = response.headers["set-cookie"]
    assert auth.SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = await client.get("/picks")
    assert page.status_code == 200 and "alice" in page.text and "Log out" in page.text
    async with web.services.sessions() as session:
        users = (await session.exec(select(AppUser))).all()
        sessions = (await session.exec(select(LoginSession))).all()
    assert [(u.name, u.provider_id, u.is_admin) for u in users] == [("alice", web.sim.user("alice").id, False)]
    assert len(sessions) == 1 and sessions[0].user_id == users[0].id
    assert sessions[0].id not in cookie  # the cookie is signed, not the bare id


async def test_a_first_login_racing_another_creates_one_user(web: Web) -> None:
    """A new user's first logins at once (or one racing the start-up user sync) all succeed, with one row."""
    from sidecar.sync.users import sync_users

    clients = [web.client() for _ in range(4)]
    results = await asyncio.gather(
        sync_users(web.services),
        *(c.post("/api/auth/login", json={"name": "alice", "password": web.password("alice")}) for c in clients),
    )
    assert [r.status_code for r in results[1:]] == [200] * 4
    async with web.services.sessions() as session:
        alices = (await session.exec(select(AppUser).where(AppUser.name == "alice"))).all()
    assert len(alices) == 1 and {r.json()["user"]["id"] for r in results[1:]} == {alices[0].id}


async def test_admin_flag_comes_from_the_server(web: Web) -> None:
    admin = await web.login("admin")
    me = (await admin.get("/api/me")).json()
    assert me["name"] == "admin" and me["is_admin"] is True
    assert (await admin.get("/admin/settings")).status_code == 200


async def test_wrong_password_is_refused(web: Web) -> None:
    client = web.client()
    response = await form_login(client, "alice", "not-her-password")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert auth.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/picks")).status_code == 303  # still anonymous: redirected to the login page
    api = await client.post("/api/auth/login", json={"name": "nobody", "password": "x"})
    assert api.status_code == 401 and "Wrong" in api.json()["error"]["message"]


async def test_pages_redirect_to_login_and_back(web: Web) -> None:
    client = web.client()
    response = await client.get("/stats?media_type=series")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fstats%3Fmedia_type%3Dseries"
    assert (await client.get("/api/picks")).status_code == 401


async def test_next_never_leaves_the_site(web: Web) -> None:
    client = web.client()
    page = await client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/login",
        data={"csrf_token": token, "name": "alice", "password": web.password("alice"), "next": "//evil.example/x"},
    )
    assert response.headers["location"] == "/"


async def test_the_page_asked_for_survives_a_wrong_password(web: Web) -> None:
    client = web.client()
    page = await client.get("/login?next=%2Fstats")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    wrong = await client.post("/login", data={"csrf_token": token, "name": "alice", "password": "no", "next": "/stats"})
    assert wrong.status_code == 401 and 'name="next" value="/stats"' in wrong.text
    right = await client.post(
        "/login", data={"csrf_token": token, "name": "alice", "password": web.password("alice"), "next": "/stats"}
    )
    assert right.headers["location"] == "/stats"


async def test_login_form_without_csrf_token_is_rejected(web: Web) -> None:
    client = web.client()
    await client.get("/login")
    response = await client.post("/login", data={"name": "alice", "password": web.password("alice")})
    assert response.status_code == 403
    forged = await client.post("/login", data={"csrf_token": "0" * 64, "name": "alice", "password": "x"})
    assert forged.status_code == 403
    # A token from another browser (another pre-login cookie) does not fit this one.
    other = web.client()
    token = (await other.get("/login")).text.split('name="csrf_token" value="')[1].split('"')[0]
    stolen = await client.post("/login", data={"csrf_token": token, "name": "alice", "password": web.password("alice")})
    assert stolen.status_code == 403


async def test_logged_in_forms_need_the_session_token(web: Web) -> None:
    alice = await web.login("alice")
    bob = await web.login("bob")
    bob_token = await csrf_of(bob)
    refused = await alice.post("/settings", data={"csrf_token": bob_token, "movies_library_name": "Hacked"})
    assert refused.status_code == 403
    missing = await alice.post("/settings", data={"movies_library_name": "Hacked"})
    assert missing.status_code == 403
    token = await csrf_of(alice)
    saved = await alice.post("/settings", data={"csrf_token": token, "movies_library_name": "Alice's films"})
    assert saved.status_code == 303
    me = (await alice.get("/api/me")).json()
    assert me["movies_library_name"] == "Alice's films"


async def test_api_writes_need_the_csrf_header(web: Web) -> None:
    client, token = await web.api_login("alice")
    body = {"name": "Noir", "media_type": "movies"}
    assert (await client.post("/api/channels", json=body)).status_code == 403
    assert (await client.post("/api/channels", json=body, headers={"X-CSRF-Token": "nope"})).status_code == 403
    created = await client.post("/api/channels", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert (await client.get("/api/me")).json()["csrf_token"] == token


async def test_logout_ends_the_session(web: Web) -> None:
    client = await web.login("alice")
    token = await csrf_of(client)
    cookie = client.cookies.get(auth.SESSION_COOKIE)
    assert (await client.post("/logout", data={"csrf_token": "bad"})).status_code == 403
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await client.get("/picks")).status_code == 303
    # The old cookie, replayed, no longer works: the session row is gone.
    replay = web.client()
    replay.cookies.set(auth.SESSION_COOKIE, str(cookie))
    assert (await replay.get("/api/me")).status_code == 401
    async with web.services.sessions() as session:
        assert (await session.exec(select(LoginSession))).all() == []


async def test_expired_session_is_refused(web: Web) -> None:
    client = await web.login("alice")
    assert (await client.get("/api/me")).status_code == 200
    async with web.services.sessions() as session:
        await session.exec(update(LoginSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.commit()
    assert (await client.get("/api/me")).status_code == 401
    assert (await client.get("/picks")).status_code == 303


async def test_tampered_cookie_is_refused(web: Web) -> None:
    client = await web.login("alice")
    cookie = str(client.cookies.get(auth.SESSION_COOKIE))
    forged = web.client()
    forged.cookies.set(auth.SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert (await forged.get("/api/me")).status_code == 401


async def test_failed_logins_are_rate_limited_per_address(web: Web) -> None:
    client = web.client()
    for _ in range(login_limit.LOGIN_MAX_FAILURES):
        response = await client.post("/api/auth/login", json={"name": "alice", "password": "guess"})
        assert response.status_code == 401
    blocked = await client.post("/api/auth/login", json={"name": "alice", "password": web.password("alice")})
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.json()["error"]["message"]
    assert 0 < int(blocked.headers["retry-after"]) <= login_limit.LOGIN_WINDOW_S
    form = await form_login(web.client(), "alice", web.password("alice"))
    assert form.status_code == 429 and "retry-after" in form.headers
    await web.services.redis.delete(*login_limit.limit_keys("alice", "127.0.0.1"))
    assert (
        await client.post("/api/auth/login", json={"name": "alice", "password": web.password("alice")})
    ).status_code == 200


async def test_non_admin_gets_403_on_admin_pages_and_api(web: Web) -> None:
    alice, token = await web.api_login("alice")
    for path in ("/admin", "/admin/settings", "/admin/jobs", "/admin/webhooks", "/admin/jobs/prune-job-runs"):
        response = await alice.get(path)
        assert response.status_code == 403, path
        assert "administrators" in response.text
    for path in (
        "/api/admin/settings",
        "/api/admin/users",
        "/api/admin/libraries",
        "/api/admin/jobs",
        "/api/admin/jobs/runs",
        "/api/admin/webhook-events",
    ):
        response = await alice.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"]["message"]
    headers = {"X-CSRF-Token": token}
    assert (await alice.post("/api/admin/jobs/prune-job-runs/run", headers=headers)).status_code == 403
    assert (
        await alice.patch("/api/admin/settings/explanations", json={"enabled": False}, headers=headers)
    ).status_code == 403
    page_token = await csrf_of(alice)
    assert (await alice.post("/admin/jobs/prune-job-runs/run", data={"csrf_token": page_token})).status_code == 403
    # Anonymous visitors are sent to the login page, anonymous API callers get 401.
    anonymous = web.client()
    assert (await anonymous.get("/admin/settings")).status_code == 303
    assert (await anonymous.get("/api/admin/settings")).status_code == 401


async def test_login_without_media_server_says_so(settings: object, clean_db: object, clean_redis: object) -> None:
    from sidecar.app import create_app
    from sidecar.settings import Settings
    from tests.servers import serve

    assert isinstance(settings, Settings)
    app = create_app(settings, run_worker=False)
    async with serve(app) as base:
        import httpx

        async with httpx.AsyncClient(base_url=base) as client:
            page = await client.get("/login")
            assert "No media server is configured" in page.text
            response = await client.post("/api/auth/login", json={"name": "a", "password": "b"})
            assert response.status_code == 503


async def test_login_against_emby(settings: object, clean_db: object, clean_redis: object) -> None:
    """The same login works against Emby's flavour (X-Emby-Token, /emby prefix)."""
    import httpx

    from providers.simulator import Simulator, serve_simulator, synthetic_catalog
    from sidecar.app import create_app
    from sidecar.settings import Settings
    from tests.servers import serve
    from tests.web.conftest import web_settings

    assert isinstance(settings, Settings)
    sim = Simulator("emby", catalog=synthetic_catalog(4, 1, seed=2), users=["carol"], seed=3)
    async with serve_simulator(sim) as url:
        app_settings = web_settings(settings, url, sim.admin_api_key).model_copy(update={"media_server_type": "emby"})
        async with (
            serve(create_app(app_settings, run_worker=False)) as base,
            httpx.AsyncClient(base_url=base) as client,
        ):
            assert (await form_login(client, "carol", "wrong")).status_code == 401
            response = await form_login(client, "carol", sim.user("carol").password)
            assert response.status_code == 303
            me = (await client.get("/api/me")).json()
            assert me["name"] == "carol" and me["is_admin"] is False


async def test_bad_api_key_is_not_blamed_on_the_user(
    settings: object, sim: tuple[object, str], clean_db: object, clean_redis: object
) -> None:
    import httpx

    from providers.simulator import Simulator
    from sidecar.app import create_app
    from sidecar.settings import Settings
    from tests.servers import serve
    from tests.web.conftest import web_settings

    simulator, url = sim
    assert isinstance(settings, Settings) and isinstance(simulator, Simulator)
    app = create_app(web_settings(settings, url, "not-the-key"), run_worker=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/auth/login", json={"name": "alice", "password": simulator.user("alice").password}
        )
        assert (
            response.status_code == 503
            and "cannot reach the media server as admin" in response.json()["error"]["message"]
        )
        assert not await app.state.services.redis.exists("marquee:login-failures:127.0.0.1")
