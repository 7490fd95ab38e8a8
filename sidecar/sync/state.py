"""Sync bookkeeping in ``sync_state``: when each sync last completed, and whether the first one ran."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

INITIAL_SYNC = "initial-sync"


async def record(engine: AsyncEngine, key: str, value: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sync_state (key, value, updated_at) VALUES (:k, CAST(:v AS jsonb), now())"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
            ),
            {"k": key, "v": json.dumps({**value, "at": datetime.now(UTC).isoformat()}, default=str)},
        )


async def read(engine: AsyncEngine, key: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT value FROM sync_state WHERE key = :k"), {"k": key})).first()
    return dict(row[0]) if row is not None else None


async def has_initial_sync(engine: AsyncEngine) -> bool:
    return await read(engine, INITIAL_SYNC) is not None
