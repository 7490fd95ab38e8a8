"""Similar titles: an item's nearest neighbours by cosine through the embedding model's HNSW index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from sidecar.embeddings import ELIGIBLE_ITEM
from sidecar.picks_store.inputs import model_name
from sidecar.services import Services
from sidecar.vector_index import sql_literal


@dataclass(frozen=True, slots=True)
class SimilarItem:
    item_id: int
    title: str
    year: int | None
    similarity: float


async def similar_items(
    services: Services, item_id: int, *, limit: int = 12, model: str | None = None
) -> list[SimilarItem]:
    """The items (same kind, live, in enabled libraries) nearest to ``item_id`` by cosine, via the
    model's HNSW index. Copies of the same title (shared provider ids) are left out. Empty when the
    item has no vector for the model."""
    model = model or model_name(services)
    async with services.engine.begin() as conn:
        source = (
            await conn.execute(
                text(
                    "SELECT e.dim, i.kind, i.provider_ids FROM item_embedding e JOIN item i ON i.id = e.item_id"
                    " WHERE e.item_id = :i AND e.model = :m AND e.embedding IS NOT NULL"
                ),
                {"i": item_id, "m": model},
            )
        ).first()
        if source is None:
            return []
        dim = int(source.dim)
        own_ids = {(k.lower(), str(v).lower()) for k, v in (source.provider_ids or {}).items() if v}
        await conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(max(40, 4 * limit))})
        # model and dimension are literals so the planner can match the model's partial index
        vec = f"e.embedding::vector({dim})"
        query = (
            f"(SELECT embedding::vector({dim}) FROM item_embedding WHERE item_id = :i AND model = {sql_literal(model)})"
        )
        rows = await conn.execute(
            text(
                f"SELECT i.id, i.name, i.year, i.provider_ids, 1 - ({vec} <=> {query}) AS similarity"
                f" FROM item_embedding e JOIN item i ON i.id = e.item_id LEFT JOIN library l ON l.id = i.library_id"
                f" WHERE e.model = {sql_literal(model)} AND e.dim = {dim} AND e.item_id <> :i"
                f"   AND {ELIGIBLE_ITEM}"
                f" ORDER BY {vec} <=> {query} LIMIT :n"
            ),
            {"i": item_id, "kind": source.kind, "n": 2 * limit + 5},
        )
        out: list[SimilarItem] = []
        for row in rows:
            ids = {(k.lower(), str(v).lower()) for k, v in (row.provider_ids or {}).items() if v}
            if ids & own_ids:
                continue
            out.append(SimilarItem(int(row.id), row.name, row.year, round(float(row.similarity), 4)))
            if len(out) == limit:
                break
        return out
