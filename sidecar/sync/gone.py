"""Marking items that left the server as gone (their history stays; they leave recommendations)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def _gone(conn: AsyncConnection, where: str, params: dict[str, Any]) -> list[int]:
    rows = await conn.execute(
        text(f"UPDATE item SET gone_at = now() WHERE gone_at IS NULL AND ({where}) RETURNING id"), params
    )
    ids = [int(r[0]) for r in rows]
    if ids:
        # Children of a gone series or season go with it.
        children = await conn.execute(
            text(
                "UPDATE item SET gone_at = now() WHERE gone_at IS NULL"
                " AND (series_id = ANY(:ids) OR parent_id = ANY(:ids)) RETURNING id"
            ),
            {"ids": ids},
        )
        ids.extend(int(r[0]) for r in children)
        await conn.execute(text("DELETE FROM recommendation WHERE item_id = ANY(:ids)"), {"ids": ids})
    return ids


async def mark_unseen_gone(conn: AsyncConnection, library_id: int, kinds: list[str], seen: list[str]) -> list[int]:
    """Items of ``kinds`` in the library that completed passes did not return."""
    return await _gone(
        conn,
        # An anti-join on the unnested list (hashed), not ``NOT (provider_id = ANY(:seen))``, which scans the
        # whole list for every row: quadratic, minutes for a 50,000-item library.
        "library_id = :lib AND kind = ANY(:kinds)"
        " AND NOT EXISTS (SELECT 1 FROM unnest(CAST(:seen AS text[])) AS seen(id) WHERE seen.id = item.provider_id)",
        {"lib": library_id, "kinds": kinds, "seen": seen},
    )


async def mark_gone_by_provider_id(conn: AsyncConnection, server_id: int, provider_id: str) -> list[int]:
    return await _gone(conn, "server_id = :s AND provider_id = :p", {"s": server_id, "p": provider_id})


async def mark_gone_libraries_items(conn: AsyncConnection, server_id: int) -> list[int]:
    """Items of libraries the server no longer has."""
    return await _gone(
        conn,
        "library_id IN (SELECT id FROM library WHERE server_id = :s AND gone_at IS NOT NULL)",
        {"s": server_id},
    )
