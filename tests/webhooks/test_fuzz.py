"""Fuzzing both webhook endpoints over real HTTP: never a 5xx; every request is stored or refused with a 4xx."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from sidecar.app import create_app
from sidecar.settings import Settings
from sidecar.webhooks.parse import parse_request
from sidecar.webhooks.store import content_hash
from tests.servers import serve
from tests.webhooks.conftest import SECRET

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
SAMPLES = [p.read_bytes() for p in sorted(EXAMPLES.rglob("*.json"))]
CONTENT_TYPES = [
    None,
    "application/json",
    "text/plain; charset=utf-8",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/html; charset=latin-1",
]

BIGINT = 2**63 - 1
# Numbers around the edges of the BIGINT columns (ticks) and of the 32-bit ones (ids, years), both signs.
edge_integers = st.sampled_from([0, -1, 2**31 - 1, 2**31, BIGINT, BIGINT + 1, -(2**63), 2**64, 10**30]) | st.integers(
    min_value=-(2**80), max_value=2**80
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | edge_integers | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_sample(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = json.loads(draw(st.sampled_from(SAMPLES)))
    keys = list(doc)
    for _ in range(draw(st.integers(1, 4))):
        key = draw(
            st.sampled_from(
                [*keys, "UserId", "ItemId", "Item", "User", "Event", "NotificationType", "PlaybackPositionTicks"]
            )
        )
        doc[key] = draw(json_values)
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def long_number_sample(draw: st.DrawFn) -> bytes:
    """A sample with a number literal too long for ``json.dumps`` to write (Python refuses more than 4300 digits
    either way), spliced in as text where the parser reads numbers and where it does not."""
    raw = draw(st.sampled_from(SAMPLES))
    digits = draw(st.sampled_from([19, 20, 4300, 4301, 5000, 20_000]))
    number = draw(st.sampled_from(["", "-"])) + draw(st.sampled_from("123456789")) + "0" * (digits - 1)
    key = draw(st.sampled_from(["PlaybackPositionTicks", "PositionTicks", "UserId", "RunTimeTicks", "Unused"]))
    if key == "PositionTicks":  # Emby's, inside PlaybackInfo: replace the number the sample has there
        return re.sub(rb'("PositionTicks":\s*)-?[0-9]+', lambda m: m.group(1) + number.encode(), raw, count=1)
    return raw.replace(b"{", b'{"' + key.encode() + b'": ' + number.encode() + b", ", 1)


@st.composite
def truncated_sample(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SAMPLES))
    return raw[: draw(st.integers(0, len(raw) - 1))]


@st.composite
def re_encoded_sample(draw: st.DrawFn) -> bytes:
    text_ = draw(st.sampled_from(SAMPLES)).decode()
    return text_.encode(draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"])), errors="replace")


@st.composite
def multipart_body(draw: st.DrawFn) -> bytes:
    inner = draw(st.sampled_from(SAMPLES) | long_number_sample() | st.binary(max_size=200))
    name = draw(st.sampled_from(["data", "other", "", 'da"ta']))
    return (
        b'--xyz\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + inner + b"\r\n--xyz--\r\n"
    )


bodies = st.one_of(
    st.binary(max_size=300),
    mutated_sample(),
    long_number_sample(),
    truncated_sample(),
    re_encoded_sample(),
    multipart_body(),
    st.builds(lambda v: json.dumps(v, allow_nan=True).encode(), json_values),
    st.builds(lambda v: b"data=" + v, st.binary(max_size=100)),
    st.just(b"{" + b" " * (1 << 20) + b"}"),
)


@pytest.fixture(scope="module")
async def fuzz_target(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_url: str, migrated_engine: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    settings_ = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp / "data",
        database_url=SecretStr(pg_url),
        redis_url=SecretStr(redis_url),
        session_secret=SecretStr("fuzz-session-secret-0123456789abcdef"),
        webhook_secret=SecretStr(SECRET),
    )
    app: Starlette = create_app(settings_, run_worker=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield client, migrated_engine


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(["jellyfin", "emby"]), body=bodies, content_type=st.sampled_from(CONTENT_TYPES))
async def test_fuzzed_bodies_never_5xx_and_are_kept_or_refused(
    fuzz_target: tuple[httpx.AsyncClient, AsyncEngine], source: str, body: bytes, content_type: str | None
) -> None:
    client, engine = fuzz_target
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(f"/webhooks/{source}?token={SECRET}", content=body, headers=headers)
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 202, 400, 413), response.status_code
    if response.status_code == 413:
        return
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, body FROM webhook_event WHERE content_hash = :h"),
                {"h": content_hash(source, body)},
            )
        ).first()
    assert row is not None, "every request that is not refused outright is stored"
    assert bytes(row.body) == body
    if response.status_code == 400:
        assert row.status == "rejected" and response.json()["error"]
    else:
        assert row.status in ("pending", "ignored", "rejected", "done", "failed")
    if row.status == "pending":  # what a job will read fits the columns it writes (play_event.position_ticks)
        _payload, event = parse_request(source, body, content_type)  # type: ignore[arg-type]
        assert event.position_ticks is None or 0 <= event.position_ticks <= BIGINT
