"""Session-level PostgreSQL advisory locks: serialise work across every worker process sharing the database."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"marquee:{name}".encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[None]:
    """Hold the lock ``name`` (waiting for it) until the block exits; a crashed holder's lock goes with
    its connection."""
    key = lock_key(name)
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        # The lock belongs to the session, not the transaction: end the transaction the SELECT opened, so the
        # holder (which may call the media server for seconds) never sits "idle in transaction".
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await conn.commit()
