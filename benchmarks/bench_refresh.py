"""One user's incremental refresh after a webhook: new play appended, picks recomputed from the
in-memory prepared model (no catalogue reload, no co-watch refit).

Run: `.venv/bin/python -m benchmarks.bench_refresh` (goal: p95 <= 100 ms on 50,000 items).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from benchmarks.bench_recommend_server import synthetic_server
from sidecar.recommender import WatchEvent, prepare_model, recommend


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--refreshes", type=int, default=200)
    args = parser.parse_args()
    items, vectors, histories = synthetic_server(args.items, args.users)
    model = prepare_model(items, vectors, histories)
    users = sorted(histories)
    rng = np.random.default_rng(1)
    timings = []
    cpu_timings = []
    for k in range(args.refreshes):
        user = users[int(rng.integers(len(users)))]
        new_item = items[int(rng.integers(len(items)))].item_id
        history = [*histories[user], WatchEvent(new_item, last_played=1_800_000_000.0 + k)]
        started, cpu = time.perf_counter(), time.process_time()
        picks = recommend(model, history, count=50)
        timings.append(1000 * (time.perf_counter() - started))
        cpu_timings.append(1000 * (time.process_time() - cpu))
        histories[user] = history
        assert new_item not in {p.item_id for p in picks}
    ms = np.array(timings)
    print(
        f"one-user refresh on {args.items} items, {args.refreshes} refreshes: "
        f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms"
        "  [goal p95 <= 100 ms]"
    )
    print(
        f"CPU time per refresh (all threads): p50 {np.percentile(cpu_timings, 50):.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
