"""The SQL migrations and the sqlmodel tables describe the same schema."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import sidecar.db.models  # noqa: F401  (registers the tables)
from sidecar.db.migrate import migrate


async def test_migrated_columns_match_models(migrated_engine: AsyncEngine) -> None:
    async with migrated_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name <> 'schema_migration'"
                )
            )
        ).all()
    in_db: dict[str, dict[str, bool]] = {}
    for table, column, nullable in rows:
        in_db.setdefault(table, {})[column] = nullable == "YES"
    in_models = {
        table.name: {col.name: bool(col.nullable) for col in table.columns} for table in SQLModel.metadata.sorted_tables
    }
    assert in_db == in_models


async def test_migrate_is_idempotent(migrated_engine: AsyncEngine) -> None:
    assert await migrate(migrated_engine) == []
    async with migrated_engine.connect() as conn:
        ext = (await conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))).scalar()
    assert ext is not None


async def test_embeddings_of_different_dimensions_coexist(clean_db: AsyncEngine) -> None:
    async with clean_db.begin() as conn:
        await conn.execute(
            text("INSERT INTO media_server (kind, url, name, settings) VALUES ('jellyfin','u','s','{}')")
        )
        await conn.execute(
            text(
                "INSERT INTO item (server_id, provider_id, kind, name, genres, tags, studios, people, provider_ids,"
                " image_tags) VALUES (1, 'a', 'Movie', 'A', '[]','[]','[]','[]','{}','{}')"
            )
        )
        for model, dim in (("small", 3), ("large", 5)):
            vec = "[" + ",".join(["0.5"] * dim) + "]"
            await conn.execute(
                text(
                    "INSERT INTO item_embedding (item_id, model, dim, text_hash, embedding, attempts)"
                    " VALUES (1, :m, :d, 'h', CAST(:v AS vector), 0)"
                ),
                {"m": model, "d": dim, "v": vec},
            )
        dims = (await conn.execute(text("SELECT vector_dims(embedding) FROM item_embedding ORDER BY dim"))).scalars()
        assert list(dims) == [3, 5]
