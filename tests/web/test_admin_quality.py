"""Admin → Quality over real HTTP against the simulator: admin only, a clear empty state, "Run now" queues
``evaluate-server`` (once), and a stored result shows as the overall and per-user tables."""

from __future__ import annotations

import re

from sidecar.jobs import control
from sidecar.server_evaluation import ServerEvaluation
from sidecar.server_evaluation_store import save_evaluation
from tests.web.conftest import Web, csrf_of


def _result(alice_id: int, bob_id: int) -> ServerEvaluation:
    return ServerEvaluation(
        media_type="movies",
        model="hashing-64",
        holdout=5,
        min_history=5,
        items=120,
        users_with_history=3,
        users_evaluated=2,
        overall={
            "marquee": {"ndcg10": 0.1234, "recall20": 0.4, "hit10": 0.5, "users": 2.0},
            "popularity": {"ndcg10": 0.0987, "recall20": 0.3, "hit10": 0.5, "users": 2.0},
            "content-only": {"ndcg10": 0.0456, "recall20": 0.1, "hit10": 0.0, "users": 2.0},
        },
        per_user=[
            {
                "user_id": bob_id,
                "name": "bob",
                "history": 17,
                "held_out": 5,
                "counted": True,
                "ndcg10": {"marquee": 0.2468, "popularity": 0.1974, "content-only": 0.0912},
                "hits10": {"marquee": 2, "popularity": 1, "content-only": 0},
            },
            {
                "user_id": alice_id,
                "name": "alice",
                "history": 31,
                "held_out": 5,
                "counted": True,
                "ndcg10": {"marquee": 0.0, "popularity": 0.0, "content-only": 0.0},
                "hits10": {"marquee": 0, "popularity": 0, "content-only": 0},
            },
            {"user_id": 999, "name": "carol", "history": 4, "held_out": 0, "counted": False},
        ],
        seconds=1.25,
    )


async def test_only_an_admin_sees_the_page_or_runs_it(web: Web) -> None:
    alice = await web.login("alice")
    assert (await alice.get("/admin/quality")).status_code == 403
    token = await csrf_of(alice, "/settings")
    refused = await alice.post("/admin/quality/run", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
    assert "evaluate-server" not in await control.queued_job_names(web.services)


async def test_empty_state_then_run_now_queues_the_job_once(web: Web) -> None:
    admin = await web.login("admin")
    page = await admin.get("/admin/quality")
    assert page.status_code == 200
    assert "No evaluation yet" in page.text and "Never run." in page.text
    assert 'href="/admin/quality" class="admin active" aria-current="page"' in page.text  # in the admin nav

    no_token = await admin.post("/admin/quality/run", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    assert "evaluate-server" not in await control.queued_job_names(web.services)

    token = await csrf_of(admin, "/admin/quality")
    queued = await admin.post("/admin/quality/run", data={"csrf_token": token}, follow_redirects=False)
    assert queued.status_code == 303 and queued.headers["location"] == "/admin/quality?started=evaluate-server"
    assert "evaluate-server" in await control.queued_job_names(web.services)
    page = await admin.get(queued.headers["location"])
    assert "The evaluation is queued" in page.text and "waiting for a worker" in page.text

    again = await admin.post("/admin/quality/run", data={"csrf_token": token}, follow_redirects=True)
    assert again.status_code == 200
    assert "evaluate-server was not started: it is already queued" in again.text


async def test_a_stored_result_shows_overall_and_per_user(web: Web) -> None:
    alice, bob = await web.user_row("alice"), await web.user_row("bob")
    assert alice.id and bob.id
    await save_evaluation(web.services, _result(alice.id, bob.id))
    admin = await web.login("admin")
    page = (await admin.get("/admin/quality")).text

    assert "2 of 3 users with movies history had enough of it" in page
    assert "10+ finished titles: the last 5 hidden, at least 5 before" in page
    assert "Marquee scores <strong>1.25\u00d7</strong> the best baseline" in page  # 0.1234 / 0.0987
    overall = page[page.index('class="quality-overall"') : page.index("Per user")]
    rows = re.findall(r"<th scope=\"row\">([\w-]+)", overall)
    assert rows == ["Marquee", "Popularity", "Content-only"]
    assert "0.123" in overall and "0.099" in overall and "0.046" in overall and "50%" in overall
    assert overall.index("best") < overall.index("Popularity")  # Marquee is marked best
    users = page[page.index('class="quality-users"') :]
    assert users.index(">alice<") < users.index(">bob<")  # by name
    assert f'href="/admin/users/{bob.id}">bob</a>' in users and "2 of 5" in users and "0.247" in users
    assert "Not counted (fewer than 10 finished titles): carol (4)" in page
    assert "No evaluation yet" not in page and "Series" not in re.sub(r"<header.*?</header>", "", page, flags=re.S)
