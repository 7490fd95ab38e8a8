"""Schemathesis against the live app over HTTP, from its own ``/api/openapi.json``, with an admin's token and a
user's token: no 5xx, every response conforms to its documented schema (errors included), and a user's token
never reads another user's data.

Bounded to run in well under a minute: ``MAX_EXAMPLES`` generated cases per operation and token, no shrinking,
no example database. Operations left out, each for its reason, are in ``EXCLUDED``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from sidecar import api_tokens
from tests.web.conftest import Web

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 4  # per operation and token: about 40 s for ~100 operations on the shared 2-core test machine

EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/api/admin/purge/{target}"): "destructive: deletes the catalogue",
    ("DELETE", "/api/admin/tokens/{token_id}"): "would revoke the tokens this test uses",
    ("PATCH", "/api/settings/media-server/config"): "connects to whatever URL is generated (and replaces the server)",
    ("POST", "/api/settings/media-server/test"): "connects to whatever URL is generated",
    ("PATCH", "/api/settings/embedding-model"): "switches the model and starts re-embedding the catalogue",
    ("PATCH", "/api/settings/text-generation-model"): "switches the text model (and may call it)",
    ("GET", "/api/admin/jobs/events"): "a server-sent event stream (open for seconds); tests/web/test_admin_jobs*",
    ("GET", "/api/admin/jobs/runs/{run_id}/events"): "a server-sent event stream",
    ("GET", "/api/jobs/progress/stream/{run_id}"): "a server-sent event stream",
}
USER_PARAMS = ("user_id", "user_ref")


@dataclass
class Findings:
    calls: int = 0
    operations: int = 0


def _runner(operation: schemathesis.APIOperation, base: str, who: str, token: str, own_id: int, found: Findings) -> Any:
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        """Fails (raises, with the curl to reproduce) on a 5xx or a response that breaks its schema."""
        response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=20)
        found.calls += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        if who == "user" and response.status_code < 300:
            others = {
                name: value
                for name, value in (case.path_parameters or {}).items()
                if name in USER_PARAMS and str(value) not in (str(own_id), "me")
            }
            assert not others, f"{case.method} {case.formatted_path}: a user's token read another user's {others}"

    return run


def _exercise(base: str, doc: dict[str, Any], tokens: dict[str, tuple[str, int]]) -> Findings:
    """Every operation with every token (runs in a thread: the app serves on the test's event loop)."""
    schema = schemathesis.openapi.from_dict(doc)
    found = Findings()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        found.operations += 1
        for who, (token, own_id) in tokens.items():
            _runner(operation, base, who, token, own_id, found)()
    return found


async def test_the_api_keeps_its_document_for_an_admin_and_a_user(web: Web) -> None:
    admin_row, alice_row, bob_row = [await web.user_row(name) for name in ("admin", "alice", "bob")]
    assert admin_row.id and alice_row.id and bob_row.id
    films = [await web.add_item(f"Film {n}", genres=["Drama"], production_year=2000 + n) for n in range(3)]
    await web.add_picks(alice_row, films)
    await web.add_picks(bob_row, films[::-1])
    async with web.services.sessions() as session:
        _, admin_token = await api_tokens.create(session, "schemathesis admin", admin_row.id, admin_row.id)
        _, user_token = await api_tokens.create(session, "schemathesis user", alice_row.id, admin_row.id)
    client = web.client()
    doc = (await client.get("/api/openapi.json")).json()

    found = await asyncio.to_thread(
        _exercise, web.base, doc, {"admin": (admin_token, admin_row.id), "user": (user_token, alice_row.id)}
    )
    assert found.operations >= 60 and found.calls >= found.operations * 2


async def test_a_users_token_reads_no_one_elses_data(web: Web) -> None:
    """Every path naming a user, asked about another user with a user's token, is refused (403 or 404); so is
    another user's private channel."""
    alice_row, bob_row = await web.user_row("alice"), await web.user_row("bob")
    assert alice_row.id and bob_row.id
    films = [await web.add_item(f"Film {n}", genres=["Drama"]) for n in range(2)]
    await web.add_picks(bob_row, films)
    async with web.services.sessions() as session:
        _, alice_token = await api_tokens.create(session, "alice", alice_row.id, alice_row.id)
        _, bob_token = await api_tokens.create(session, "bob", bob_row.id, bob_row.id)
    client = web.client()
    private = await client.post(
        "/api/channels", json={"name": "Bob's own"}, headers={"Authorization": f"Bearer {bob_token}"}
    )
    assert private.status_code == 201, private.text
    doc = (await client.get("/api/openapi.json")).json()

    asked = 0
    for path, ops in doc["paths"].items():
        if "get" not in ops or not re.search(r"{(user_id|user_ref|channel_id)}", path):
            continue
        url = (
            path.replace("{user_id}", str(bob_row.id))
            .replace("{user_ref}", str(bob_row.id))
            .replace("{channel_id}", str(private.json()["id"]))
            .replace("{title_id}", str(films[0].id))
        )
        response = await client.get(url, headers={"Authorization": f"Bearer {alice_token}"})
        assert response.status_code in (403, 404), (url, response.status_code, response.text[:300])
        assert response.json()["error"]["code"] in ("forbidden", "not_found")
        asked += 1
    assert asked >= 4
    # the same paths answer bob about himself (the refusals above are about who asks, not broken paths)
    own = await client.get(f"/api/channels/{private.json()['id']}", headers={"Authorization": f"Bearer {bob_token}"})
    assert own.status_code == 200
