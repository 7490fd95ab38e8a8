"""The two helpers the web read models share: raw SQL rows and ISO-8601 timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


async def sql_rows(session: AsyncSession, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    connection = await session.connection()
    return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
