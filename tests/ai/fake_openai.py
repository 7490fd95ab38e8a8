"""A tiny OpenAI-compatible server (embeddings + chat) for tests, served for real by uvicorn."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

GOOD_KEY = "sk-test-good"
BROKE_KEY = "sk-test-broke"


@dataclass
class FakeState:
    dim: int = 6
    rate_limits_left: int = 0
    retry_after: str = "0"
    calls: int = 0
    batches: list[int] = field(default_factory=list)
    chat_reply: str = "You love space operas."
    chat_fails: bool = False


def _vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) - 127.5 for b in digest[:dim]]


def fake_openai_app(state: FakeState) -> Starlette:
    def check_key(request: Request) -> JSONResponse | None:
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key == BROKE_KEY:
            return JSONResponse(
                {
                    "error": {
                        "message": "You exceeded your current quota",
                        "type": "insufficient_quota",
                        "code": "insufficient_quota",
                    }
                },
                status_code=429,
            )
        if key != GOOD_KEY:
            return JSONResponse({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, status_code=401)
        return None

    async def embeddings(request: Request) -> JSONResponse:
        state.calls += 1
        if (refused := check_key(request)) is not None:
            return refused
        if state.rate_limits_left > 0:
            state.rate_limits_left -= 1
            return JSONResponse(
                {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
                status_code=429,
                headers={"Retry-After": state.retry_after},
            )
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if any("TOO LONG" in t for t in texts):
            return JSONResponse({"error": {"message": "maximum context length exceeded"}}, status_code=400)
        state.batches.append(len(texts))
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t, state.dim)}
            for i, t in reversed(list(enumerate(texts)))  # out of order on purpose
        ]
        tokens = sum(len(t.split()) for t in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def chat(request: Request) -> JSONResponse:
        if (refused := check_key(request)) is not None:
            return refused
        if state.chat_fails:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        body = await request.json()
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": state.chat_reply}}
                ],
            }
        )

    return Starlette(
        routes=[
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )
