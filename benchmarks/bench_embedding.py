"""Local embedding throughput: Marquee's pipeline (`LocalEmbedder.embed`, async, normalised)
next to the raw sentence-transformers model's own `encode` on the same texts and batch size.

Run: `.venv/bin/python -m benchmarks.bench_embedding [--texts N]` (goal: pipeline >= 90% of raw).
Texts are real catalogue texts from ../shared/data/movies.jsonl when present, else synthetic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from providers.ai.local import LocalEmbedder
from providers.ai.local_model import LocalModel
from sidecar.recommender.embedding_text import ItemDescription, embedding_text

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movies.jsonl"


def catalogue_texts(limit: int) -> list[str]:
    texts: list[str] = []
    if DATA.exists():
        with DATA.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if not row.get("overview"):
                    continue
                texts.append(
                    embedding_text(
                        ItemDescription(
                            title=row["title"],
                            year=row.get("year"),
                            tagline=row.get("tagline"),
                            genres=row.get("genres") or (),
                            directors=[row["director"]] if row.get("director") else (),
                            studios=row.get("studios") or (),
                            actors=row.get("actors") or (),
                            overview=row["overview"],
                            tags=row.get("keywords") or (),
                        )
                    )
                )
                if len(texts) == limit:
                    break
    while len(texts) < limit:
        k = len(texts)
        texts.append(f"Title {k} ({1950 + k % 70}). Genres: Drama. A story number {k} about people and places. " * 3)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    texts = catalogue_texts(args.texts)
    embedder = LocalEmbedder()
    embedder.embed_sync(texts[:8])  # load the model once, outside the timings
    raw_model = LocalModel.load(batch_size=embedder.batch_size).model  # the same files, in this process

    raw_best = pipe_best = float("inf")
    for _ in range(args.rounds):  # interleaved so that background load hits both alike
        started = time.perf_counter()
        raw_model.encode(texts, batch_size=embedder.batch_size, convert_to_numpy=True, show_progress_bar=False)
        raw_best = min(raw_best, time.perf_counter() - started)
        started = time.perf_counter()
        vectors = asyncio.run(embedder.embed(texts))
        pipe_best = min(pipe_best, time.perf_counter() - started)
        assert vectors.shape == (len(texts), 384)
    raw_rate, pipe_rate = len(texts) / raw_best, len(texts) / pipe_best
    print(f"{len(texts)} catalogue texts, batch size {embedder.batch_size}, best of {args.rounds}")
    print(f"raw model encode:        {raw_rate:7.1f} items/s")
    print(
        f"LocalEmbedder pipeline:  {pipe_rate:7.1f} items/s ({100 * pipe_rate / raw_rate:.0f}% of raw)  [goal >= 90%]"
    )


if __name__ == "__main__":
    main()
