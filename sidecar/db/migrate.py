"""Ordered SQL migrations from ``migrations/NNNN_name.sql``, applied once each, under an advisory lock.

Idempotent: ``marquee migrate`` and every start apply only what is missing. Each file runs in its own
transaction, so a failing migration leaves the database at the previous version.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.errors import ConfigError
from sidecar.resources import migrations_dir

log = logging.getLogger(__name__)

_LOCK_KEY = 0x4D41525155  # "MARQU"


def migration_files(directory: Path | None = None) -> list[Path]:
    directory = migrations_dir() if directory is None else directory
    if not directory.is_dir():
        raise ConfigError(f"Migrations folder not found at {directory}")
    return sorted(p for p in directory.glob("*.sql") if p.stem[:4].isdigit())


async def migrate(engine: AsyncEngine, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; return the names applied."""
    applied: list[str] = []
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        await conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in (await conn.exec_driver_sql("SELECT version FROM schema_migration")).all()}
    for path in migration_files(directory):
        if path.stem in done:
            continue
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            again = await conn.exec_driver_sql("SELECT 1 FROM schema_migration WHERE version = %(v)s", {"v": path.stem})
            if again.first():
                continue
            try:
                await conn.exec_driver_sql(path.read_text(encoding="utf-8"))
            except Exception as exc:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                raise ConfigError(f"Migration {path.name} failed: {reason}") from exc
            await conn.exec_driver_sql("INSERT INTO schema_migration (version) VALUES (%(v)s)", {"v": path.stem})
        log.info("applied migration %s", path.name)
        applied.append(path.stem)
    return applied
