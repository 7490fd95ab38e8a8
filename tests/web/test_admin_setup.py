"""Admin → Server, Models and Database over real HTTP: a Marquee with no server set up from the page, against
the simulator; the environment winning; a second process picking up a saved server; models on a fake
OpenAI-compatible endpoint with the re-embed and the cost estimate; purge and recovery by the next sync."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.ai.tokens import cl100k_base
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar import cost_estimate, embedding_switch, live_settings, server_setup
from sidecar.app import create_app
from sidecar.embeddings import plan_embeddings
from sidecar.jobs.embed_jobs import generate_embeddings, generate_series_embeddings
from sidecar.jobs.progress import Progress
from sidecar.jobs.recommend_jobs import generate_recommendations
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.media_types import MEDIA_TYPES
from sidecar.services import QUEUE_NAME, Services, open_services
from sidecar.settings import Settings
from tests.ai.fake_openai import GOOD_KEY, FakeState, fake_openai_app
from tests.servers import free_port, serve
from tests.web.conftest import Web, csrf_of, form_login, running_web

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Empty:
    """Marquee started with no media server, and a simulator waiting to be set up."""

    base: str
    services: Services
    sim: Simulator
    sim_url: str
    settings: Settings


@asynccontextmanager
async def empty_install(settings: Settings) -> AsyncIterator[Empty]:
    simulator = Simulator(
        "jellyfin", catalog=synthetic_catalog(12, 3, seed=5), users=["alice", "bob"], seed=7, seed_history=True
    )
    async with serve_simulator(simulator) as sim_url:
        app = create_app(settings, run_worker=False)
        async with serve(app) as base:
            yield Empty(base, app.state.services, simulator, sim_url, app.state.settings)


@pytest.fixture
async def empty(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Empty]:
    async with empty_install(settings) as env:
        yield env


async def _setup_client(env: Empty) -> tuple[httpx.AsyncClient, str]:
    """A browser-like client past /setup, and the server page's CSRF token."""
    client = httpx.AsyncClient(base_url=env.base, timeout=20)
    page = await client.get("/setup")
    token = CSRF.search(page.text)
    assert token, page.text
    entered = await client.post(
        "/setup", data={"csrf_token": token.group(1), "code": server_setup.setup_code(env.settings)}
    )
    assert entered.status_code == 303 and entered.headers["location"] == "/admin/server"
    page = await client.get("/admin/server")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    return client, match.group(1)


def _flash(page: httpx.Response) -> str:
    match = re.search(r'<p class="flash (?:error|notice)"[^>]*>(.*?)</p>', page.text, re.S)
    assert match, page.text
    return match.group(1)


async def test_an_empty_install_starts_logs_the_code_and_leads_to_setup(
    settings: Settings, clean_db: AsyncEngine, clean_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sidecar.server_setup")
    async with empty_install(settings) as env, httpx.AsyncClient(base_url=env.base) as client:
        code = server_setup.setup_code(env.settings)
        assert any(code in r.getMessage() and "/setup" in r.getMessage() for r in caplog.records)
        login = await client.get("/login")
        assert 'href="/setup"' in login.text
        assert (await client.get("/admin/server")).headers["location"] == "/setup"
        page = await client.get("/setup")
        token = CSRF.search(page.text)
        assert token
        wrong = await client.post("/setup", data={"csrf_token": token.group(1), "code": "AAAA-BBBB-CCCC"})
        assert wrong.status_code == 403 and "not the setup code" in wrong.text
        assert (await client.get("/admin/server")).headers["location"] == "/setup"
        # nothing else opens without a login
        assert (await client.get("/admin/models")).status_code in (303, 307)
        assert (await client.get("/api/admin/purge/stats")).status_code == 401


async def test_set_up_the_server_from_the_page_test_then_save_then_log_in(
    empty: Empty, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, csrf = await _setup_client(empty)
    async with aclosing(client):
        key = empty.sim.admin_api_key
        bad_url = await client.post(
            "/admin/server/test", data={"csrf_token": csrf, "type": "jellyfin", "url": "jellyfin:8096", "api_key": key}
        )
        assert bad_url.status_code == 400 and "must start with http:// or https://" in _flash(bad_url)
        assert 'value="jellyfin:8096"' in bad_url.text  # what was typed stays
        refused = await client.post(
            "/admin/server/test", data={"csrf_token": csrf, "type": "jellyfin", "url": empty.sim_url, "api_key": "nope"}
        )
        assert refused.status_code == 400 and "refused the API key" in _flash(refused)
        nobody = f"http://127.0.0.1:{free_port()}"
        down = await client.post(
            "/admin/server/test", data={"csrf_token": csrf, "type": "jellyfin", "url": nobody, "api_key": key}
        )
        assert down.status_code == 400 and "Cannot reach" in _flash(down)
        wrong_type = await client.post(
            "/admin/server/test", data={"csrf_token": csrf, "type": "emby", "url": empty.sim_url, "api_key": key}
        )
        assert wrong_type.status_code == 400

        tested = await client.post(
            "/admin/server/test", data={"csrf_token": csrf, "type": "jellyfin", "url": empty.sim_url, "api_key": key}
        )
        assert tested.status_code == 200, tested.text
        info = await empty.services.http.get(f"{empty.sim_url}/System/Info/Public")
        name, version = info.json()["ServerName"], info.json()["Version"]
        assert _flash(tested) == f"Connected to Jellyfin server “{name}”, version {version}."
        assert empty.services.media_server is None  # a test saves nothing

        saved = await client.post(
            "/admin/server", data={"csrf_token": csrf, "type": "jellyfin", "url": empty.sim_url + "/", "api_key": key}
        )
        assert saved.status_code == 303 and saved.headers["location"].startswith("/login?next=")
        # applied without a restart: the running app talks to the server now
        assert empty.services.media_server is not None
        assert empty.services.settings.media_server_url == empty.sim_url
        assert (await client.get("/admin/server")).status_code == 303  # the setup code no longer opens it
        jobs = await empty.services.redis.zrange(QUEUE_NAME, 0, -1)
        assert b"initial-sync" in b" ".join(jobs) or await empty.services.redis.exists("arq:job:initial-sync")

        response = await form_login(client, "admin", empty.sim.user("admin").password)
        assert response.status_code == 303
        page = await client.get("/admin/server")
        assert page.status_code == 200
        assert "Saved on this page" in page.text
        assert key not in page.text and server_setup.key_hint(key) in page.text
        assert "Movies" in page.text  # the libraries were fetched on save
        api, token = await _api(client)
        config = (await api.get("/api/settings/media-server/config")).json()
        assert config == {
            "type": "jellyfin",
            "url": empty.sim_url,
            "api_key_hint": server_setup.key_hint(key),
            "source": "saved",
            "env_locked": False,
            "configured": True,
        }
        tested_json = await api.post("/api/settings/media-server/test", headers={"X-CSRF-Token": token})
        assert tested_json.status_code == 200 and tested_json.json()["product"] == "jellyfin"
        refetch = await api.post("/api/settings/libraries/sync", headers={"X-CSRF-Token": token})
        assert refetch.status_code == 200 and {lib["name"] for lib in refetch.json()["libraries"]}
    assert caplog.records and not [r for r in caplog.records if key in r.getMessage()]  # never in a log line


async def _api(client: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    me = await client.get("/api/me")
    assert me.status_code == 200, me.text
    return client, str(me.json()["csrf_token"])


async def test_a_saved_server_reaches_another_process_before_its_next_job(empty: Empty) -> None:
    """A worker in another process (its own Services) picks the new server up at its next job start."""
    settings = empty.settings
    worker = await open_services(settings, empty.services.database_url, empty.services.redis_url)
    try:
        assert worker.media_server is None
        client, csrf = await _setup_client(empty)
        async with aclosing(client):
            saved = await client.post(
                "/admin/server",
                data={"csrf_token": csrf, "type": "jellyfin", "url": empty.sim_url, "api_key": empty.sim.admin_api_key},
            )
            assert saved.status_code == 303
        await live_settings.on_job_start({"services": worker})
        assert worker.media_server is not None and worker.settings.media_server_url == empty.sim_url
        assert (await worker.media_server.server_info()).product == "jellyfin"
        assert not await live_settings.refresh(worker)  # nothing new since
    finally:
        await worker.aclose()


async def test_a_web_process_without_a_worker_follows_what_another_process_saved(web: Web) -> None:
    """``marquee serve --no-worker`` beside ``marquee worker``: the worker's model switch reaches the web app."""
    from sidecar import model_setup
    from sidecar import runtime_settings as rs

    other = await open_services(web.services.settings, web.services.database_url, web.services.redis_url)
    try:
        async with other.sessions() as session:
            await rs.save(session, model_setup.MODELS, model_setup.StoredModels(text_model="gpt-4o-mini"))
    finally:
        await other.aclose()
    for _ in range(100):
        if web.services.settings.openai_chat_model == "gpt-4o-mini":
            break
        await asyncio.sleep(0.1)
    assert web.services.settings.openai_chat_model == "gpt-4o-mini"


async def test_the_environment_wins_and_the_page_says_so(web: Web) -> None:
    client = await web.login("admin")
    page = await client.get("/admin/server")
    assert "comes from the environment" in page.text and "readonly" in page.text
    assert web.sim.admin_api_key not in page.text
    api, token = await _api(client)
    refused = await api.patch(
        "/api/settings/media-server/config",
        json={"type": "emby", "url": "http://example.invalid", "api_key": "abcdefabcdef"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 422 and "environment" in refused.json()["error"]["message"]
    assert (await api.get("/api/settings/media-server/config")).json()["source"] == "environment"
    user = await web.login("alice")
    assert (await user.get("/admin/server")).status_code == 403
    assert (await user.get("/api/settings/embedding-model")).status_code == 403


@pytest.fixture
async def fake_ai() -> AsyncIterator[tuple[str, FakeState]]:
    state = FakeState(dim=8)
    async with serve(fake_openai_app(state), lifespan="off") as url:
        yield f"{url}/v1", state


async def _synced(web: Web) -> None:
    await initial_sync_job(web.services, Progress.detached())


@pytest.mark.slow
async def test_models_test_estimate_save_and_reembed(web: Web, fake_ai: tuple[str, FakeState]) -> None:
    endpoint, state = fake_ai
    await _synced(web)
    client = await web.login("admin")
    csrf = await csrf_of(client, "/admin/models")
    choice = {"embedding_provider": "openai", "embedding_model": "fake-embed", "base_url": endpoint}

    bad_key = await client.post(
        "/admin/models", data={"csrf_token": csrf, "action": "test", **choice, "api_key": "sk-wrong"}
    )
    assert bad_key.status_code == 400 and "rejected the API key" in _flash(bad_key)
    assert f'value="{endpoint}"' in bad_key.text  # kept as typed
    good = await client.post(
        "/admin/models", data={"csrf_token": csrf, "action": "test", **choice, "api_key": GOOD_KEY}
    )
    assert good.status_code == 200 and "fake-embed answered: 8-dimensional" in _flash(good)

    unpriced = await client.post(
        "/admin/models", data={"csrf_token": csrf, "action": "estimate", **choice, "api_key": GOOD_KEY}
    )
    assert "an unknown price" in unpriced.text
    prices = await client.post("/admin/models/prices", data={"csrf_token": csrf, "prices": "fake-embed = 0.02"})
    assert prices.status_code == 200 and "fake-embed = 0.02" in prices.text
    wrong = await client.post("/admin/models/prices", data={"csrf_token": csrf, "prices": "gpt = cheap"})
    assert wrong.status_code == 400 and "line 1" in _flash(wrong)

    estimate = await client.post(
        "/admin/models", data={"csrf_token": csrf, "action": "estimate", **choice, "api_key": GOOD_KEY}
    )
    async with web.services.engine.connect() as conn:
        live = (
            await conn.execute(text("SELECT count(*) FROM item WHERE kind IN ('Movie', 'Series') AND gone_at IS NULL"))
        ).scalar_one()
    assert live > 0
    found = re.search(
        r"re-embedding ([\d,]+) titles ≈ (\d+ k|\d+) tokens ≈ (.+?) with fake-embed \(tokens counted with cl100k_base,",
        estimate.text,
    )
    assert found and int(found.group(1).replace(",", "")) == live, estimate.text
    assert "an estimate" in estimate.text  # fake-embed's own tokenizer is not cl100k_base
    assert "Saving this embedding model starts re-embedding now" in estimate.text
    assert web.services.settings.embedding_provider == "local"  # nothing saved by an estimate

    api, token = await _api(client)
    inputs = (
        await api.get("/api/settings/cost-inputs", params={"provider": "openai", "model": "text-embedding-3-large"})
    ).json()
    assert inputs["embedding"]["titles"] == live and inputs["embedding"]["tokens"] > 0
    # exact: the tokens of the very texts Marquee would send, with text-embedding-3-large's own tokenizer
    pending = [
        p.text
        for media_type in MEDIA_TYPES
        for p in (
            await plan_embeddings(web.services, "openai:text-embedding-3-large", media_type, retry_failed=True)
        ).pending
    ]
    assert len(pending) == live
    assert inputs["embedding"]["tokens"] == sum(len(cl100k_base().encode_ordinary(t)) for t in pending)
    assert inputs["embedding"]["tokens_exact"] is True
    assert inputs["embedding"]["tokens_method"] == "tokens counted with the model's tokenizer, cl100k_base"
    assert f"titles = {inputs['embedding']['tokens']:,} tokens ≈" in inputs["embedding"]["summary"]
    assert inputs["embedding"]["usd"] == pytest.approx(inputs["embedding"]["tokens"] * 0.13 / 1e6)
    assert found.group(3) == cost_estimate.usd_label(inputs["embedding"]["tokens"] * 0.02 / 1e6)
    local = (await api.get("/api/settings/cost-inputs", params={"provider": "local"})).json()
    assert local["embedding"]["usd"] is None and "free" in local["embedding"]["summary"]
    assert (
        local["embedding"]["tokens_exact"] is False and "about four characters" in local["embedding"]["tokens_method"]
    )

    saved = await client.post(
        "/admin/models", data={"csrf_token": csrf, "action": "save", **choice, "api_key": GOOD_KEY}
    )
    assert saved.status_code == 200 and "Re-embedding every title" in _flash(saved)
    assert GOOD_KEY not in saved.text and (server_setup.key_hint(GOOD_KEY) or "") in saved.text
    # picks keep the current model until every title has a vector from the new one
    assert web.services.settings.embedding_provider == "local" and "Switching to fake-embed" in saved.text
    assert web.services.settings.openai_base_url == endpoint  # the endpoint itself applies at once
    assert await web.services.redis.exists(f"arq:job:{embedding_switch.SWITCH_JOB}")
    switched = await embedding_switch.switch_embedding_model(web.services, Progress.detached())
    assert switched["switched"] and switched["model"] == "openai:fake-embed" and len(state.batches) > 1
    assert sum(r["embedded"] for r in switched["embedded"]) == live
    assert web.services.settings.embedding_provider == "openai"
    for job in ("generate-recommendations", "generate-series-recommendations"):
        assert await web.services.redis.exists(f"arq:job:{job}")
    report = await generate_embeddings(web.services, Progress.detached(), then_recommend=False)
    assert report["model"] == "openai:fake-embed" and report["up_to_date"] > 0 and report["embedded"] == 0
    after = (await api.get("/api/settings/cost-inputs")).json()
    assert after["embedding"]["titles"] < live and after["changes_embedding_model"] is False

    text_model = await api.patch(
        "/api/settings/text-generation-model",
        json={"model": "gpt-4o-mini", "test": True},
        headers={"X-CSRF-Token": token},
    )
    assert text_model.status_code == 200 and text_model.json()["model"] == "gpt-4o-mini"
    unchanged = await api.patch(
        "/api/settings/embedding-model",
        json={"provider": "openai", "model": "fake-embed"},
        headers={"X-CSRF-Token": token},
    )
    assert unchanged.status_code == 200 and unchanged.json()["reembedding"] is False
    bad = await api.patch("/api/settings/embedding-model", json={"provider": "cloud"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and "Embedding provider" in bad.json()["error"]["message"]


async def _counts(api: httpx.AsyncClient) -> dict[str, object]:
    response = await api.get("/api/admin/purge/stats")
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture
async def web_with_history(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Web]:
    """The simulator with users who have watched things, and Marquee pointed at it by the environment."""
    simulator = Simulator(
        "jellyfin", catalog=synthetic_catalog(12, 3, seed=5), users=["alice", "bob"], seed=7, seed_history=True
    )
    async with serve_simulator(simulator) as url, running_web(settings, simulator, url, run_worker=False) as env:
        yield env


@pytest.mark.slow
async def test_purge_movies_then_the_next_sync_brings_everything_back(
    web_with_history: Web, fake_ai: tuple[str, FakeState]
) -> None:
    web = web_with_history
    endpoint, _ = fake_ai
    services = web.services
    client = await web.login("admin")
    api, token = await _api(client)
    await api.patch(
        "/api/settings/embedding-model",
        json={"provider": "openai", "model": "fake-embed", "base_url": endpoint, "api_key": GOOD_KEY},
        headers={"X-CSRF-Token": token},
    )
    assert (await embedding_switch.switch_embedding_model(services, Progress.detached()))["switched"]

    async def full_cycle() -> None:
        await initial_sync_job(services, Progress.detached())
        await generate_embeddings(services, Progress.detached(), then_recommend=False)
        await generate_series_embeddings(services, Progress.detached(), then_recommend=False)
        await generate_recommendations(services, Progress.detached())

    await full_cycle()
    before = await _counts(api)
    assert before["movies"] and before["picks"] and before["watch_states"]
    assert before["embeddings"] == [
        {"model": "openai:fake-embed", "vectors": before["movies"] + before["series"], "failed": 0, "dimension": 8}
    ]

    unconfirmed = await api.post("/api/admin/purge/movies", json={"confirm": "yes"}, headers={"X-CSRF-Token": token})
    assert unconfirmed.status_code == 422 and "MOVIES" in unconfirmed.json()["error"]["message"]
    page = await client.get("/admin/database")
    csrf = CSRF.search(page.text)
    assert csrf and f'data-count="movies">{before["movies"]:,}<' in page.text
    wrong = await client.post("/admin/database/purge/movies", data={"csrf_token": csrf.group(1), "confirm": "series"})
    assert wrong.status_code == 400 and (await _counts(api))["movies"] == before["movies"]
    purged = await client.post("/admin/database/purge/movies", data={"csrf_token": csrf.group(1), "confirm": "movies"})
    assert purged.status_code == 200 and "Purged movies" in _flash(purged)
    assert 'data-count="movies">0<' in purged.text
    after = await _counts(api)
    assert after["movies"] == 0 and after["series"] == before["series"] and after["picks"] == 0
    assert await services.redis.exists("arq:job:initial-sync")  # the recovery is queued

    await full_cycle()
    back = await _counts(api)
    for key in ("movies", "series", "episodes", "watch_states", "users"):
        assert back[key] == before[key], key
    assert back["picks"] and back["embeddings"][0]["vectors"] == before["embeddings"][0]["vectors"]  # type: ignore[index]
    picks = await (await web.login("alice")).get("/api/picks")
    assert picks.status_code == 200

    everything = await api.post(
        "/api/admin/purge/everything", json={"confirm": "EVERYTHING"}, headers={"X-CSRF-Token": token}
    )
    assert everything.status_code == 200 and everything.json()["deleted"]["libraries"] > 0
    gone = await _counts(api)
    assert gone["movies"] == gone["series"] == gone["episodes"] == gone["libraries"] == 0 and gone["users"]
    await full_cycle()
    assert (await _counts(api))["movies"] == before["movies"]


def test_the_environment_wins_part_by_part() -> None:
    """Each part the environment sets stays; the others take what the admin saved."""
    from pydantic import SecretStr

    from sidecar import model_setup

    saved_server = server_setup.StoredServer(type="emby", url="http://emby:8096", api_key="k" * 32)
    saved_models = model_setup.StoredModels(
        embedding_provider="openai", embedding_model="text-embedding-3-large", base_url="http://ai/v1", text_model=""
    )
    bare = Settings(_env_file=None)  # type: ignore[call-arg]
    applied = live_settings.effective(bare, saved_server, saved_models)
    assert (applied.media_server_type, applied.media_server_url) == ("emby", "http://emby:8096")
    assert applied.resolved_embedding_model == "text-embedding-3-large" and applied.openai_base_url == "http://ai/v1"
    assert applied.openai_chat_model is None

    env = Settings(  # type: ignore[call-arg]
        _env_file=None,
        media_server_type="jellyfin",
        media_server_url="http://jf:8096",
        media_server_api_key=SecretStr("env-key"),
        embedding_provider="local",
        openai_chat_model="gpt-4o-mini",
    )
    kept = live_settings.effective(env, saved_server, saved_models)
    assert (kept.media_server_type, kept.media_server_url) == ("jellyfin", "http://jf:8096")
    assert kept.embedding_provider == "local" and kept.openai_chat_model == "gpt-4o-mini"
    assert kept.openai_base_url == "http://ai/v1"  # the endpoint is not set by this environment
    assert model_setup.env_locks(env) == model_setup.EnvLocks(embedding=True, endpoint=False, text=True)
    assert server_setup.key_hint("k" * 32) == "…kkkk" and server_setup.key_hint("short") == "…"
