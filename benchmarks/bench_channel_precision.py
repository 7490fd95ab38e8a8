"""Channel precision on the real catalogue: for text preferences with their intended genres/keywords, the share
of a channel's top 30 that match, before (examples' mean + text vector, ``text_genres`` off) and after (the text's
genres by pseudo-relevance feedback, ``sidecar.recommender.retrieval``), and after with an owner's taste mixed in.

Run: ``.venv/bin/python -m benchmarks.bench_channel_precision [--data ../shared/data] [--cache-dir DIR]``.
The catalogue is ``movies.jsonl`` (titles with an overview), embedded with the local model exactly as Marquee
embeds items (``embedding_text``; cached under ``--cache-dir``, by default ``.marquee/cache``, as ``marquee
evaluate`` does); the text preference is embedded with the same model. Only the text is given: no genre filter,
no examples, so the figure is what the words alone achieve. The "with taste" column gives each channel the taste
of a real MovieLens user from ``ratings.csv`` (the one with the most ratings), which must not spoil precision.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from providers.ai.local import LocalEmbedder
from sidecar.evaluate import DEFAULT_CACHE_DIR, cached_embeddings, load_dataset, to_events
from sidecar.recommender.prepared_model import prepare_model
from sidecar.recommender.retrieval import channel_items
from sidecar.recommender.taste import build_taste
from sidecar.recommender.types import ItemFacts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TOP = 30


@dataclass(frozen=True)
class Case:
    text: str
    intended: str  # what counts as a match, for the table
    match: Callable[[ItemFacts, tuple[str, ...]], bool]


def _genres(*wanted: str, every: bool = False) -> Callable[[ItemFacts, tuple[str, ...]], bool]:
    def match(item: ItemFacts, keywords: tuple[str, ...]) -> bool:
        have = set(item.genres)
        return set(wanted) <= have if every else bool(set(wanted) & have)

    return match


def _keywords(*parts: str) -> Callable[[ItemFacts, tuple[str, ...]], bool]:
    def match(item: ItemFacts, keywords: tuple[str, ...]) -> bool:
        return any(part in k for k in keywords for part in parts)

    return match


def _noir(item: ItemFacts, keywords: tuple[str, ...]) -> bool:
    old_crime = bool({"Crime", "Mystery", "Thriller"} & set(item.genres)) and (item.year or 9999) <= 1965
    return old_crime or _keywords("noir")(item, keywords)


CASES: tuple[Case, ...] = (
    Case("heartwarming comedies", "genre Comedy", _genres("Comedy")),
    Case("classic noir films", "keyword *noir*, or Crime/Mystery/Thriller up to 1965", _noir),
    Case("space exploration", "keyword *space*/astronaut/planet", _keywords("space", "astronaut", "planet")),
    Case("scary haunted house horror", "genre Horror", _genres("Horror")),
    Case("animated family adventures", "genre Animation", _genres("Animation")),
    Case("romantic comedies", "genres Romance and Comedy", _genres("Romance", "Comedy", every=True)),
    Case("gritty crime dramas", "genre Crime", _genres("Crime")),
    Case("epic war movies", "genre War", _genres("War")),
    Case("westerns with gunfights", "genre Western", _genres("Western")),
    Case("heist movies", "keyword *heist*/robbery/thief", _keywords("heist", "robbery", "thief", "robber")),
    Case("time travel adventures", "keyword *time trav*/time machine", _keywords("time trav", "time machine")),
    Case("music and musicians", "genre Music", _genres("Music")),
)


def _keywords_by_item(path: Path) -> dict[str, tuple[str, ...]]:
    import json

    out: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[str(row["movieId"])] = tuple(k.lower() for k in row.get("keywords") or ())
    return out


def run(data: Path, cache_dir: Path) -> dict[str, Any]:
    started = time.monotonic()
    ds = load_dataset(data / "movies.jsonl", data / "ratings.csv")
    embedder = LocalEmbedder()
    vectors = cached_embeddings(ds.texts, embedder, cache_dir)
    owner = max(ds.histories, key=lambda u: len(ds.histories[u]))
    histories = {str(owner): to_events(ds.histories[owner])}
    model = prepare_model(ds.items, vectors, histories)
    taste = build_taste(model, histories[str(owner)], recent_limit=50)
    keywords = _keywords_by_item(data / "movies.jsonl")
    facts = {it.item_id: it for it in ds.items}
    texts = cached_embeddings([c.text for c in CASES], embedder, cache_dir)
    rows: list[dict[str, Any]] = []
    for case, vector in zip(CASES, texts, strict=True):

        def precision(ranked: list[tuple[str, float]], case: Case = case) -> int:
            return sum(case.match(facts[i], keywords.get(i, ())) for i, _ in ranked)

        before = channel_items(model, preference_vector=vector, count=TOP, text_genres=False)
        after = channel_items(model, preference_vector=vector, count=TOP)
        with_taste = channel_items(model, preference_vector=vector, taste=taste, count=TOP)
        base_rate = sum(case.match(it, keywords.get(it.item_id, ())) for it in ds.items) / len(ds.items)
        rows.append(
            {
                "text": case.text,
                "intended": case.intended,
                "catalogue": base_rate,
                "before": precision(before),
                "after": precision(after),
                "with_taste": precision(with_taste),
            }
        )
    return {"rows": rows, "items": len(ds.items), "owner": owner, "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding movies.jsonl and ratings.csv")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache folder")
    args = parser.parse_args(argv)
    if not (args.data / "movies.jsonl").exists():
        print(f"{args.data / 'movies.jsonl'} not found (../shared/data is kept beside the repository)")
        return 2
    result = run(args.data, args.cache_dir)
    print(f"Channel precision: share of the top {TOP} matching the intent, {result['items']} movies (text only)")
    print()
    print(
        f"| text preference | counts as a match | catalogue | before | after | after + taste (user {result['owner']}) |"
    )
    print("|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(
            f"| {r['text']} | {r['intended']} | {r['catalogue']:.0%} | {r['before']}/{TOP} | **{r['after']}/{TOP}** |"
            f" {r['with_taste']}/{TOP} |"
        )
    n = len(result["rows"]) * TOP
    totals = {k: sum(r[k] for r in result["rows"]) for k in ("before", "after", "with_taste")}
    print(
        f"| **all** | | | {totals['before'] / n:.0%} | **{totals['after'] / n:.0%}** | {totals['with_taste'] / n:.0%} |"
    )
    print(f"\n({result['seconds']:.1f} s)")
    return 0 if np.isfinite(totals["after"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
