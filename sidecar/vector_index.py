"""Where vectors live in PostgreSQL: ``item_embedding.embedding`` is a dimension-less ``vector``, and each
(model, dimension) gets its own partial cosine HNSW index on ``embedding::vector(dim)``, so vectors of several
models and sizes share the table and each model's similarity queries use its own index."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def hnsw_index_name(model: str, dim: int) -> str:
    digest = hashlib.sha1(f"{model}|{dim}".encode()).hexdigest()[:16]
    return f"ix_item_embedding_hnsw_{digest}"


def sql_literal(value: str) -> str:
    """A string as a SQL literal, for DDL that cannot take bind parameters (index predicates)."""
    if "\x00" in value:
        raise ValueError("model names cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


def vector_literal(vector: Sequence[float] | np.ndarray[Any, Any]) -> str:
    return "[" + ",".join(repr(float(v)) for v in np.asarray(vector, dtype=np.float32).tolist()) + "]"


async def ensure_hnsw_index(conn: AsyncConnection, model: str, dim: int) -> str:
    """Create the cosine HNSW index for one model's vectors if it does not exist; return its name."""
    name = hnsw_index_name(model, dim)
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
    await conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {name} ON item_embedding USING hnsw "
        f"((embedding::vector({int(dim)})) vector_cosine_ops) "
        f"WHERE model = {sql_literal(model)} AND dim = {int(dim)}"
    )
    return name
