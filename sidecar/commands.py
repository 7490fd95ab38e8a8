"""The subcommands of ``marquee`` built on the rest of Marquee: simulator, evaluate and run-job (wired in
``sidecar.cli.build_parser``; the demo is ``sidecar.demo_command``)."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from sidecar.cli import _load_settings, _prepare
from sidecar.db.models import JobRun
from sidecar.errors import ConfigError, JobError
from sidecar.services import Services

# --- simulator --------------------------------------------------------------------------------------


def simulator_args(parser: argparse.ArgumentParser) -> None:
    from providers.simulator.serve import DESCRIPTION, add_arguments

    parser.description = DESCRIPTION
    add_arguments(parser)
    # The older form `marquee simulator -- --flavor emby`: whatever follows `--` is parsed as the options.
    parser.add_argument("after_dashes", nargs="*", help=argparse.SUPPRESS)


def cmd_simulator(args: argparse.Namespace) -> int:
    from providers.simulator.serve import build_parser, serve_from_args

    if args.after_dashes:
        return serve_from_args(build_parser().parse_args(args.after_dashes))
    return serve_from_args(args)


# --- evaluate ---------------------------------------------------------------------------------------


def evaluate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        default=Path("."),
        help="folder with movies.jsonl and ratings.csv (default: the current directory), e.g. ../shared/data",
    )
    parser.add_argument("--movies", type=Path, default=None, help="movies.jsonl (default: DATASET/movies.jsonl)")
    parser.add_argument("--ratings", type=Path, default=None, help="ratings.csv (default: DATASET/ratings.csv)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default DATA_DIR/eval-cache)")
    parser.add_argument("--limit-users", type=int, default=None, help="evaluate only the first N users")
    parser.add_argument("--folds", type=int, default=5, help="user folds for cross-validation (default 5)")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sidecar.evaluate import run_evaluation

    movies = args.movies or args.dataset / "movies.jsonl"
    ratings = args.ratings or args.dataset / "ratings.csv"
    missing = [str(path.resolve()) for path in (movies, ratings) if not path.is_file()]
    if missing:
        raise ConfigError(
            f"evaluate needs {' and '.join(missing)}: pass --dataset (the folder with movies.jsonl and "
            "ratings.csv, e.g. --dataset ../shared/data) or --movies and --ratings"
        )
    cache = args.cache_dir or _load_settings().resolved_data_dir / "eval-cache"
    run_evaluation(movies, ratings, cache_dir=cache, limit_users=args.limit_users, folds=args.folds)
    return 0


# --- run-job ----------------------------------------------------------------------------------------


async def _start_or_join(services: Services, name: str, kwargs: dict[str, Any], timeout_s: float) -> datetime:
    """Enqueue job ``name`` under its own name, or join the run already queued or running; returns the earliest
    start time of the run to follow.

    A run that has written its end to ``job_run`` still holds arq's job key for a moment while arq tidies up;
    asking then is neither "joined" nor "new". Wait that moment out instead of following a run that has ended
    (and waiting for a start that never comes)."""
    from arq.jobs import Job, JobStatus

    from sidecar.jobs.queue import enqueue
    from sidecar.services import QUEUE_NAME

    deadline = time.monotonic() + timeout_s
    while True:
        since = datetime.now(UTC) - timedelta(seconds=1)
        if await enqueue(services.redis, name, job_id=name, **kwargs) is not None:
            return since
        status = await Job(name, services.redis, _queue_name=QUEUE_NAME).status()
        if status in (JobStatus.queued, JobStatus.deferred):
            return since  # its run starts after now
        if status == JobStatus.in_progress:
            async with services.sessions() as session:
                running = (
                    await session.exec(
                        select(JobRun.started_at).where(JobRun.job_name == name, JobRun.status == "running")
                    )
                ).all()
            if running:
                return min(running)
        # in progress without a running row (starting, or ended and being tidied up), or just gone: ask again
        if time.monotonic() > deadline:
            raise JobError(f"{name} could neither be queued nor joined within {timeout_s:.0f}s")
        await asyncio.sleep(0.1)


async def run_and_wait(
    services: Services, name: str, *, timeout_s: float = 3600, out: Any = print, **kwargs: Any
) -> JobRun:
    """Enqueue job ``name`` (or join the one already queued under its name) and follow it to the end."""
    since = await _start_or_join(services, name, kwargs, timeout_s=60)
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        async with services.sessions() as session:
            run = (
                await session.exec(
                    select(JobRun)
                    .where(JobRun.job_name == name, col(JobRun.started_at) >= since)
                    .order_by(col(JobRun.started_at).desc())
                )
            ).first()
        if run is not None:
            total = f"/{run.progress_total}" if run.progress_total else ""
            line = f"  {name}: {run.progress_current}{total} {run.message}".rstrip()
            if line != shown and (run.progress_current or run.message):
                out(line)
                shown = line
            if run.status == "done":
                return run
            if run.status == "failed":
                raise JobError(f"{name} failed: {run.error}")
        await asyncio.sleep(0.25)
    raise JobError(f"{name} did not finish within {timeout_s:.0f}s")


def run_job_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="job name (see the admin Jobs page), e.g. initial-sync")


def cmd_run_job(args: argparse.Namespace) -> int:
    from sidecar.jobs.registry import find_job, load_jobs
    from sidecar.services import open_services

    job = find_job(args.name)  # Aperture's names (aliases) too
    if job is None:
        raise ConfigError(f"unknown job '{args.name}'; known jobs: {', '.join(sorted(load_jobs()))}")
    if not job.manual:
        raise ConfigError(f"'{job.name}' is internal: Marquee starts it itself and it cannot be run by hand")
    name = job.name
    settings = _load_settings().with_persisted_secrets()
    resolved, infra = _prepare(settings)

    async def main() -> None:
        services = await open_services(resolved, infra.database_url, infra.redis_url)
        try:
            run = await run_and_wait(services, name)
            print(f"{name}: done {run.result}")
        finally:
            await services.aclose()

    try:
        asyncio.run(main())
    finally:
        infra.close()
    return 0
