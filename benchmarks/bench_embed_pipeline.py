"""The embedding job's whole pipeline (read items from PostgreSQL, build texts and hashes, embed with the
local model, write vectors) next to the raw model's own ``encode`` of the same texts, same batch size.

Items come from ../shared/data/movies.jsonl when present (synthetic otherwise) and are written into an
embedded PostgreSQL. Run: `.venv/bin/python -m benchmarks.bench_embed_pipeline [--items 2000]`
(goal: the pipeline reaches >= 90% of the raw model's items/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr

from providers.ai.local import LocalEmbedder
from providers.ai.local_model import LocalModel
from sidecar.embedded_postgres import start_postgres
from sidecar.embedded_redis import EmbeddedRedis
from sidecar.embeddings import embed_items, plan_embeddings
from sidecar.jobs.progress import Progress
from sidecar.services import open_services
from sidecar.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movies.jsonl"


def movie_rows(limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if DATA.exists():
        with DATA.open(encoding="utf-8") as fh:
            for line in fh:
                movie = json.loads(line)
                if movie.get("overview"):
                    rows.append(movie)
                if len(rows) == limit:
                    return rows
    for i in range(len(rows), limit):
        rows.append(
            {
                "title": f"Synthetic {i}",
                "year": 2000 + i % 25,
                "genres": ["Drama"],
                "overview": f"A story number {i} about people, places and the choices they make. " * 3,
            }
        )
    return rows


def insert_items(url: str, movies: list[dict[str, Any]]) -> None:
    with psycopg.connect(url) as conn:
        server = conn.execute(
            "INSERT INTO media_server (kind, url, name, settings) VALUES ('jellyfin', 'x', 'x', '{}') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY item (server_id, provider_id, kind, name, year, tagline, overview, genres, tags, studios, people,"
                " provider_ids, image_tags) FROM STDIN"
            ) as copy,
        ):
            for n, m in enumerate(movies):
                people = ([{"name": m["director"], "type": "Director"}] if m.get("director") else []) + [
                    {"name": a, "type": "Actor"} for a in m.get("actors") or []
                ]
                copy.write_row(
                    (
                        server,
                        f"m{n}",
                        "Movie",
                        m["title"],
                        m.get("year"),
                        m.get("tagline"),
                        m["overview"],
                        json.dumps(m.get("genres") or []),
                        json.dumps(m.get("keywords") or []),
                        json.dumps(m.get("studios") or []),
                        json.dumps(people),
                        "{}",
                        "{}",
                    )
                )
        conn.commit()


async def run(args: argparse.Namespace) -> None:
    movies = movie_rows(args.items)
    with tempfile.TemporaryDirectory(prefix="mq-bench-embed-") as tmp:
        data = Path(tmp)
        url = start_postgres(data, "bench")
        redis = EmbeddedRedis(data / "redis")
        redis_url = redis.start()
        services = await open_services(
            Settings(_env_file=None, data_dir=data, database_url=SecretStr(url)),  # type: ignore[call-arg]
            url,
            redis_url,
        )
        try:
            insert_items(url.replace("postgresql+psycopg://", "postgresql://", 1), movies)
            embedder = LocalEmbedder(batch_size=args.batch_size)
            plan = await plan_embeddings(services, embedder.name, "movies")
            texts = [p.text for p in plan.pending]
            embedder.embed_sync(texts[:64])  # load the model and warm up before either measurement
            model = LocalModel.load(batch_size=args.batch_size).model  # the same files, in this process

            started = time.perf_counter()
            model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)
            raw = len(texts) / (time.perf_counter() - started)

            started = time.perf_counter()
            report = await embed_items(services, embedder, "movies", Progress.detached(), chunk_size=args.chunk)
            pipeline = report.embedded / (time.perf_counter() - started)
            print(f"{len(texts)} items, batch {args.batch_size}, {report.dimension}-d")
            print(f"raw model encode:   {raw:7.1f} items/s")
            print(
                f"embedding pipeline: {pipeline:7.1f} items/s ({100 * pipeline / raw:.0f}% of raw;"
                f" DB read, texts, hashes, writes and the HNSW index included)"
            )
        finally:
            await services.aclose()
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=None, help="texts per embedding call (default: the job's)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
