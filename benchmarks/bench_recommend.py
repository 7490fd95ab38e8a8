"""Recommendations for every user of a synthetic 50,000-item, 1,000-user server.

Run: `.venv/bin/python -m benchmarks.bench_recommend [--items N] [--users N]` (goal: <= 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.bench_recommend_server import synthetic_server
from sidecar.recommender import prepare_model, recommend_many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="blocks of users computed at a time (threads)")
    args = parser.parse_args()
    items, vectors, histories = synthetic_server(args.items, args.users)
    plays = sum(len(h) for h in histories.values())
    print(f"server: {args.items} items, {args.users} users, {plays} plays, {os.cpu_count()} CPUs")

    started = time.perf_counter()
    model = prepare_model(items, vectors, histories)
    prepared = time.perf_counter() - started
    vocab = 0 if model.cowatch is None else model.cowatch.vocabulary.size
    print(f"prepare_model (matrix, genres, co-watch over {vocab} titles): {prepared:.2f} s")

    started, cpu = time.perf_counter(), time.process_time()
    for _user, picks in recommend_many(model, histories, count=args.count, workers=args.workers):
        assert len(picks) == args.count
    ranked, ranked_cpu = time.perf_counter() - started, time.process_time() - cpu
    per_user = 1000 * ranked / len(histories)
    print(
        f"recommend {args.count} picks for {len(histories)} users: {ranked:.2f} s wall ({per_user:.1f} ms/user), "
        f"{ranked_cpu:.2f} s CPU"
    )
    print(f"total (prepare + all users): {prepared + ranked:.2f} s  [goal <= 30 s]")
    load = os.getloadavg()[0]
    print(f"load average while running: {load:.1f} on {os.cpu_count()} CPUs (above that, other work shares them)")


if __name__ == "__main__":
    main()
