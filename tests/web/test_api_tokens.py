"""API tokens: an admin creates and revokes them (page and JSON); a token acts as its owner without CSRF; a bad or
revoked token is a 401 that says so; only the hash is stored and the value is shown once, never logged."""

from __future__ import annotations

import logging
import re

import pytest
from sqlmodel import select

from sidecar import api_tokens
from sidecar.db.models import ApiToken
from tests.web.conftest import Web, csrf_of

TOKEN_IN_PAGE = re.compile(r'id="new-token"[^>]*value="(mq_[^"]+)"')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _create(web: Web, name: str, owner: str) -> str:
    admin, csrf = await web.api_login("admin")
    user = await web.user_row(owner)
    response = await admin.post(
        "/api/admin/tokens", json={"name": name, "user_id": user.id}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["name"] == name and body["user_name"] == owner and body["token"].startswith("mq_")
    return str(body["token"])


async def test_a_token_acts_as_its_owner_without_csrf(web: Web) -> None:
    user_token = await _create(web, "alice's script", "alice")
    admin_token = await _create(web, "backup", "admin")
    client = web.client()

    me = await client.get("/api/me", headers=bearer(user_token))
    assert me.status_code == 200 and me.json()["name"] == "alice" and me.json()["csrf_token"] == ""
    # a write with no cookie and no X-CSRF-Token header
    created = await client.post("/api/channels", json={"name": "Scripted"}, headers=bearer(user_token))
    assert created.status_code == 201, created.text
    assert created.json()["owner"]["name"] == "alice"

    # a user's token is that user's: no admin endpoint
    refused = await client.get("/api/admin/users", headers=bearer(user_token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # an admin's token is an admin
    users = await client.get("/api/admin/users", headers=bearer(admin_token))
    assert users.status_code == 200 and {"alice", "admin"} <= {u["name"] for u in users.json()["users"]}

    # tokens are for the API only: a page asked with one is not logged in
    page = await client.get("/picks", headers=bearer(admin_token), follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_a_bad_or_revoked_token_is_a_401_that_says_so(web: Web) -> None:
    token = await _create(web, "temporary", "bob")
    client = web.client()
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 200

    for bad in ("mq_" + "x" * 43, "not-a-token", "mq_" + "y" * 500):
        response = await client.get("/api/me", headers=bearer(bad))
        assert response.status_code == 401, bad
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and "revoked" in error["message"]

    admin, csrf = await web.api_login("admin")
    listed = (await admin.get("/api/admin/tokens")).json()["tokens"]
    (row,) = [t for t in listed if t["name"] == "temporary"]
    assert "token" not in row and row["user_name"] == "bob" and row["last_used_at"] is not None
    revoked = await admin.delete(f"/api/admin/tokens/{row['id']}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    after = await client.get("/api/me", headers=bearer(token))
    assert after.status_code == 401 and "revoked" in after.json()["error"]["message"]
    assert after.headers["www-authenticate"].startswith("Bearer")
    # a revoked token no longer listed; revoking an unknown one is a 404
    assert all(t["id"] != row["id"] for t in (await admin.get("/api/admin/tokens")).json()["tokens"])
    missing = await admin.delete("/api/admin/tokens/999999", headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_only_admins_manage_tokens(web: Web) -> None:
    alice, csrf = await web.api_login("alice")
    assert (await alice.get("/api/admin/tokens")).status_code == 403
    alice_row = await web.user_row("alice")
    made = await alice.post(
        "/api/admin/tokens", json={"name": "x", "user_id": alice_row.id}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 403
    assert (await alice.get("/admin/tokens")).status_code == 403
    anonymous = await web.client().get("/api/admin/tokens")
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "", "user_id": 1}, "name"), ({"name": "x", "user_id": 999999}, "user_id"), ({"name": "x"}, "user_id")],
)
async def test_a_bad_token_request_names_the_field(web: Web, body: dict[str, object], field: str) -> None:
    admin, csrf = await web.api_login("admin")
    response = await admin.post("/api/admin/tokens", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


async def test_the_page_shows_a_new_token_once_and_stores_only_its_hash(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await web.login("admin")
    bob = await web.user_row("bob")
    csrf = await csrf_of(admin, "/admin/tokens")
    page = await admin.post("/admin/tokens", data={"csrf_token": csrf, "name": "bob's sync", "user_id": str(bob.id)})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    match = TOKEN_IN_PAGE.search(page.text)
    assert match, page.text
    token = match.group(1)

    again = await admin.get("/admin/tokens")
    assert "bob&#39;s sync" in again.text and token not in again.text
    async with web.services.sessions() as session:
        rows = (await session.exec(select(ApiToken))).all()
    assert [r.token_hash for r in rows] == [api_tokens.hash_token(token)]
    assert token not in caplog.text

    works = await web.client().get("/api/me", headers=bearer(token))
    assert works.status_code == 200 and works.json()["name"] == "bob"
    assert token not in caplog.text

    # revoke from the page (CSRF-checked form)
    forged = await admin.post(f"/admin/tokens/{rows[0].id}/revoke", data={"csrf_token": "wrong"})
    assert forged.status_code == 403
    revoked = await admin.post(f"/admin/tokens/{rows[0].id}/revoke", data={"csrf_token": csrf}, follow_redirects=True)
    assert revoked.status_code == 200 and "Revoked." in revoked.text and "bob&#39;s sync" not in revoked.text
    assert (await web.client().get("/api/me", headers=bearer(token))).status_code == 401


async def test_the_page_keeps_what_was_typed_on_a_bad_name(web: Web) -> None:
    admin = await web.login("admin")
    bob = await web.user_row("bob")
    csrf = await csrf_of(admin, "/admin/tokens")
    page = await admin.post("/admin/tokens", data={"csrf_token": csrf, "name": "   ", "user_id": str(bob.id)})
    assert page.status_code == 400 and 'role="alert"' in page.text
    assert f'<option value="{bob.id}" selected>' in page.text
    assert not TOKEN_IN_PAGE.search(page.text)
