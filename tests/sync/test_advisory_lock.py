"""The advisory locks that serialise follow-ups and publishing hold no transaction open while held."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.db.locks import advisory_lock, lock_key


async def test_a_held_lock_leaves_no_transaction_open(clean_db: AsyncEngine) -> None:
    async with advisory_lock(clean_db, "test:held"), clean_db.connect() as conn:
        holders = (
            await conn.execute(
                text(
                    "SELECT a.state, l.classid::bigint AS hi, l.objid::bigint AS lo FROM pg_locks l"
                    " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        ).all()
    key = lock_key("test:held") & 0xFFFFFFFFFFFFFFFF  # PostgreSQL splits the bigint key into two 32-bit halves
    assert [h.state for h in holders if (h.hi << 32) | h.lo == key] == ["idle"]
    async with clean_db.connect() as conn:
        left = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": lock_key("test:held")},
            )
        ).scalar_one()
    assert left == 0
