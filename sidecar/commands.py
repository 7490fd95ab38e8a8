"""The subcommands of ``marquee`` built on the rest of Marquee: simulator, evaluate, run-job and demo (wired
in ``sidecar.cli.build_parser``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlmodel import col, select

from sidecar.cli import _load_settings, _prepare
from sidecar.db.models import JobRun
from sidecar.errors import ConfigError, JobError
from sidecar.media_types import MEDIA_TYPES
from sidecar.services import Services

# The demo pipeline, in order: what a new installation runs once.
PIPELINE = (
    "initial-sync",
    "generate-embeddings",
    "generate-series-embeddings",
    "generate-recommendations",
    "generate-series-recommendations",
    "sync-movie-libraries",
    "sync-series-libraries",
    "refresh-top-picks",
)


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


# --- demo -------------------------------------------------------------------------------------------


def demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flavor", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument(
        "--movies", type=int, default=None, help="movies in the catalogue (default: 300 real titles; synthetic: 300)"
    )
    parser.add_argument(
        "--series", type=int, default=None, help="series in the catalogue (default: the 40 real shows; synthetic: 30)"
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="made-up titles and histories (scale tests) instead of real ones"
    )
    parser.add_argument("--users", type=int, default=4, help="demo users (each with a watch history in their taste)")
    parser.add_argument("--simulator-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--exit-after-setup", action="store_true", help="stop once the pipeline has run")


def cmd_demo(args: argparse.Namespace) -> int:
    from sidecar.runtime import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    settings = _load_settings()
    demo_dir = settings.resolved_data_dir / "demo"
    settings = settings.model_copy(
        update={
            "data_dir": demo_dir,
            "strm_root": settings.strm_root or demo_dir / "libraries",
            "strm_path_prefix": None,
        }
    ).with_persisted_secrets()
    resolved, infra = _prepare(settings)
    try:
        asyncio.run(_demo(resolved, args))
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        infra.close()
    return 0


class _Every:
    """Prints a progress line at most every ``seconds`` (the first pipeline's progress, not every tick)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = 0.0

    def __call__(self, line: str) -> None:
        if time.monotonic() - self.last >= self.seconds:
            self.last = time.monotonic()
            print(line, flush=True)


async def _demo(settings: Any, args: argparse.Namespace) -> None:
    import uvicorn

    from providers.simulator.catalog import synthetic_catalog
    from providers.simulator.control_page import CONTROL, open_on_localhost
    from providers.simulator.demo_catalogue import demo_catalogue, seed_taste_histories
    from providers.simulator.serve import serve_simulator
    from providers.simulator.state import Simulator
    from sidecar.app import create_app
    from sidecar.runtime import tune_gc

    demo_dir = settings.resolved_data_dir
    if args.synthetic:
        catalogue = synthetic_catalog(args.movies or 300, args.series or 30)
    else:
        catalogue = demo_catalogue(args.movies, args.series)
    print(
        f"Starting a simulated {args.flavor} with {len(catalogue.movies)} {'made-up' if args.synthetic else 'real'} "
        f"movies, {len(catalogue.series)} series and {args.users} users…",
        flush=True,
    )
    sim = Simulator(
        args.flavor,
        catalog=catalogue,
        users=args.users,
        seed_history=args.synthetic,
        media_root=demo_dir / "media",
        api_key=_demo_api_key(demo_dir),
    )
    tastes = {} if args.synthetic else seed_taste_histories(sim)
    open_on_localhost(sim)  # the control page answers browsers on this machine without the API key
    async with serve_simulator(sim, port=args.simulator_port or None) as sim_url:
        marquee_url = f"http://{settings.host}:{settings.port}"
        control_url = f"{sim_url}{CONTROL}"
        settings = settings.model_copy(
            update={
                "media_server_type": args.flavor,
                "media_server_url": sim_url,
                "media_server_api_key": SecretStr(sim.admin_api_key),
                "base_url": marquee_url,
            }
        )
        token = settings.secret_value("webhook_secret")
        sim.webhooks.add_target(f"{marquee_url}/webhooks/{args.flavor}?token={token}")
        app = create_app(settings, run_worker=True)
        app.state.demo_control_url = control_url  # templates/_partials/demo_links.html links it from home
        tune_gc()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                lifespan="on",
                proxy_headers=False,  # X-Forwarded-For is Marquee's business (MARQUEE_TRUSTED_PROXIES)
            )
        )
        server_task = asyncio.create_task(server.serve())
        while not server.started:
            if server_task.done():
                server_task.result()
                raise ConfigError(f"Marquee could not start on {marquee_url} (is the port in use? MARQUEE_PORT)")
            await asyncio.sleep(0.05)
        try:
            services: Services = app.state.services
            await _opt_in_to_private_libraries(services)
            await _demo_top_picks(services)
            print(f"Marquee is up on {marquee_url}; running the first pipeline:", flush=True)
            started = time.monotonic()
            for name in PIPELINE:
                step = time.monotonic()
                await run_and_wait(services, name, out=_Every(10.0))
                print(f"✓ {name} ({time.monotonic() - step:.1f}s)", flush=True)
            print(f"Pipeline done in {time.monotonic() - started:.1f}s.\n")
            await _print_where_to_look(services, tastes)
            users = [u for u in sim.user_list() if not u.is_admin]
            admin = next((u for u in sim.user_list() if u.is_admin), None)
            logins = ", ".join(f"{u.name} / {u.password}" for u in users)
            print(f"\nMarquee:       {marquee_url}  log in as {logins}")
            if admin is not None:
                print(f"               (the admin pages: {admin.name} / {admin.password})")
            print(f"Control page:  {control_url}  play something as a user and watch their AI Picks change")
            key_file = demo_dir / "simulator-api-key"
            print(f"Simulated {args.flavor}: {sim_url}  (admin API key in {key_file})", flush=True)
            if args.exit_after_setup:
                return
            print(
                "\nServing until Ctrl+C. Below: one line per playback applied, library republished or error "
                "(MARQUEE_LOG_LEVEL=DEBUG shows every job).",
                flush=True,
            )
            await server_task
        finally:
            # Marquee is going: the simulator stops sending (else it would try each queued announcement and log
            # a failure per item while it shuts down).
            sim.webhooks.clear_targets()
            server.should_exit = True
            with contextlib.suppress(Exception):
                await server_task


async def _opt_in_to_private_libraries(services: Services) -> None:
    """Demo users see all libraries (the servers' default); the demo takes the admin option that gives them
    explicit folder lists, so each AI Picks library stays private (a real admin chooses it in Settings)."""
    from sidecar import runtime_settings

    async with services.sessions() as session:
        publish = await runtime_settings.load(session, runtime_settings.PUBLISH)
        if not publish.convert_all_folders_users:
            await runtime_settings.save(
                session, runtime_settings.PUBLISH, publish.model_copy(update={"convert_all_folders_users": True})
            )


async def _demo_top_picks(services: Services) -> None:
    """The simulated histories span ~4 months and a few users: look back that far, count every viewer, and
    show all three outputs (library, collection, playlist)."""
    from sidecar import runtime_settings

    async with services.sessions() as session:
        for media_type in MEDIA_TYPES:
            key = runtime_settings.top_picks_key(media_type)
            current = await runtime_settings.load(session, key)
            outputs = current.outputs.model_copy(update={"collection": True, "playlist": True})
            await runtime_settings.save(
                session,
                key,
                current.model_copy(update={"window_days": 150, "min_viewers": 1, "outputs": outputs}),
            )


def _demo_api_key(demo_dir: Path) -> str:
    """The simulator's admin key, kept in the demo dir so restarts reuse it (like a real server's key)."""
    import secrets

    path = demo_dir / "simulator-api-key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key)
    path.chmod(0o600)
    return key


async def _print_where_to_look(services: Services, tastes: dict[str, str]) -> None:
    from sidecar.publish.listing import listed_titles

    server = services.media_server
    assert server is not None
    libraries = await server.list_libraries()
    by_id = {lib.id: lib for lib in libraries}
    for user in await server.list_users():
        visible = [by_id[f] for f in user.enabled_folders if f in by_id] if not user.enable_all_folders else libraries
        picks = [lib for lib in visible if lib.name.startswith(services.settings.library_name_prefix)]
        for n, lib in enumerate(picks):
            titles = await listed_titles(server, lib, user.id, 4)
            taste = f"   ({user.name} likes {tastes[user.name]})" if n == 0 and user.name in tastes else ""
            print(f"{user.name} sees '{lib.name}': {', '.join(titles)}{' …' if len(titles) == 4 else ''}{taste}")
    for lib in libraries:
        if lib.name.startswith("Top Picks"):
            titles = await listed_titles(server, lib, None, 5)
            print(f"'{lib.name}': {', '.join(titles) or '(no plays in the window yet)'}")
