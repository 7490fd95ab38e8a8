"""The ``marquee`` command: serve, worker, migrate, demo, simulator, evaluate, jobs, webhook-url."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from sidecar import __version__
from sidecar.embedded import Infrastructure
from sidecar.errors import MarqueeError
from sidecar.logs import configure_logging
from sidecar.settings import SECRETS_FILE, Settings

log = logging.getLogger("marquee")


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"MARQUEE_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise MarqueeError(f"invalid settings: {problems}") from None


def _prepare(settings: Settings) -> tuple[Settings, Infrastructure]:
    """Start embedded servers if needed and check both connections before anything else runs."""
    from sidecar.db.engine import make_engine
    from sidecar.runtime import check_postgres, check_redis, prepare_infrastructure

    infra = prepare_infrastructure(settings)

    async def check() -> None:
        engine = make_engine(infra.database_url)
        try:
            if infra.postgres is not None:
                await check_postgres(engine, f"{infra.postgres.name}; MARQUEE_DATABASE_URL is not set")
            else:
                await check_postgres(engine)
        finally:
            await engine.dispose()
        await check_redis(infra.redis_url)

    try:
        asyncio.run(check())
    except BaseException:
        infra.close()
        raise
    resolved = settings.model_copy(
        update={"database_url": SecretStr(infra.database_url), "redis_url": SecretStr(infra.redis_url)}
    )
    return resolved, infra


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from sidecar.app import create_app
    from sidecar.runtime import tune_gc

    settings = _load_settings()
    if args.host:
        settings = settings.model_copy(update={"host": args.host})
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    if args.no_worker:
        settings = settings.model_copy(update={"run_worker": False})
    resolved, infra = _prepare(settings)
    try:
        app = create_app(resolved)
        tune_gc()
        print(f"Marquee {__version__} on http://{settings.host}:{settings.port} (data: {settings.resolved_data_dir})")
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; Marquee decides (MARQUEE_TRUSTED_PROXIES).
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_config=None, lifespan="on", proxy_headers=False
        )
        uvicorn.Server(config).run()
    finally:
        infra.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from sidecar.jobs.worker import RECORDING_WAIT_S, build_worker
    from sidecar.runtime import ignore_sigterm_while_stopping, tune_gc

    settings = _load_settings().with_persisted_secrets()
    resolved, infra = _prepare(settings)
    try:
        ctx: dict[str, Any] = {
            "settings": resolved,
            "database_url": infra.database_url,
            "redis_url": infra.redis_url,
        }

        async def run() -> None:
            # Built inside the loop that runs it: arq's Worker binds to the loop current at construction.
            worker = build_worker(ctx, infra.redis_url, burst=args.burst)
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                log.info("worker stopped")  # arq cancels its main task on SIGTERM/SIGINT
            finally:
                # arq's close() gathers the job tasks its signal handler cancelled without return_exceptions: one
                # cancelled while it still fetched its job (before run_job's own except) would end in a traceback.
                await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
                worker.tasks.clear()
                await worker.settle_recordings(RECORDING_WAIT_S)  # before close() closes the Redis pool
                await worker.close()

        tune_gc()
        try:
            asyncio.run(run())
        finally:
            ignore_sigterm_while_stopping()  # arq's loop handled SIGTERM and left the default handler behind
    finally:
        infra.close()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from sidecar.db.engine import make_engine
    from sidecar.db.migrate import migrate

    settings = _load_settings()
    _, infra = _prepare(settings)

    async def run() -> list[str]:
        engine = make_engine(infra.database_url)
        try:
            return await migrate(engine)
        finally:
            await engine.dispose()

    try:
        applied = asyncio.run(run())
    finally:
        infra.close()
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_webhook_url(args: argparse.Namespace) -> int:
    """Print the URLs with the secret of the Marquee on this data dir, without silently making one up."""
    settings = _load_settings()
    data_dir = settings.resolved_data_dir
    demo_dir = data_dir / "demo"  # where `marquee demo` keeps its data (sidecar/demo_command.py)
    own_secrets = data_dir / SECRETS_FILE
    if settings.webhook_secret is None and not own_secrets.exists():
        demo_token = _stored_webhook_secret(demo_dir / SECRETS_FILE)
        if demo_token is not None:
            # The demo sets its base URL to http://MARQUEE_HOST:MARQUEE_PORT (sidecar/demo_command.py).
            base = f"http://{settings.host}:{settings.port}"
            print(f"{data_dir} has no webhook secret yet; these are the demo's (its data is in {demo_dir}).")
            print(f"The demo serves on {base} when started with the same MARQUEE_HOST and MARQUEE_PORT.")
            _print_webhook_urls(base, demo_token)
            return 0
    created = settings.webhook_secret is None and _stored_webhook_secret(own_secrets) is None
    settings = settings.with_persisted_secrets()
    if created:
        print(
            f"A new webhook secret was created in {own_secrets}: these URLs work only with a Marquee that uses "
            f"this data dir (MARQUEE_DATA_DIR={data_dir}). Run this command with the running Marquee's "
            "MARQUEE_DATA_DIR if it uses another."
        )
    _print_webhook_urls(settings.public_base_url, settings.secret_value("webhook_secret"))
    return 0


def _stored_webhook_secret(path: Path) -> str | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    token = stored.get("webhook_secret") if isinstance(stored, dict) else None
    return token if isinstance(token, str) and token else None


def _print_webhook_urls(base: str, token: str) -> None:
    print("These URLs contain the webhook secret: paste them into your media server only.")
    print(f"Jellyfin (Webhook plugin, Generic destination): {base}/webhooks/jellyfin?token={token}")
    print(f"Emby (Settings → Webhooks):                     {base}/webhooks/emby?token={token}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marquee", description="Personal, explained AI Picks libraries for Jellyfin and Emby."
    )
    parser.add_argument("--version", action="version", version=f"marquee {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web app (and, by default, the job worker)")
    serve.add_argument("--host", help="listen address (MARQUEE_HOST)")
    serve.add_argument("--port", type=int, help="listen port (MARQUEE_PORT)")
    serve.add_argument("--no-worker", action="store_true", help="do not run the job worker in this process")
    serve.set_defaults(handler=cmd_serve)

    worker = sub.add_parser("worker", help="run a job worker alone")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(handler=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    hook = sub.add_parser("webhook-url", help="print the webhook URLs (they contain the secret)")
    hook.set_defaults(handler=cmd_webhook_url)

    # The commands built on the rest of Marquee live in their own modules (they import this module's helpers).
    from sidecar import commands, demo_command, server_evaluation_command

    simulator = sub.add_parser("simulator", help="run a simulated Jellyfin or Emby server")
    commands.simulator_args(simulator)
    simulator.set_defaults(handler=commands.cmd_simulator)

    evaluate = sub.add_parser(
        "evaluate", help="measure recommendation quality on real users' ratings (--server: on this server's users)"
    )
    commands.evaluate_args(evaluate)
    server_evaluation_command.add_server_arguments(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    run_job = sub.add_parser("run-job", help="run one job on the worker and follow its progress")
    commands.run_job_args(run_job)
    run_job.set_defaults(handler=commands.cmd_run_job)

    demo = sub.add_parser("demo", help="simulator + Marquee on embedded defaults: sync, embed, recommend, publish")
    demo_command.demo_args(demo)
    demo.set_defaults(handler=demo_command.cmd_demo)
    return parser


def _evaluate(args: argparse.Namespace) -> int:
    from sidecar import commands, server_evaluation_command

    return server_evaluation_command.cmd_evaluate_server(args) if args.server else commands.cmd_evaluate(args)


# Commands that run until stopped: SIGTERM must unwind them (and stop the embedded servers) at any moment.
_LONG_RUNNING = frozenset({"serve", "worker", "demo"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _LONG_RUNNING:
        from sidecar.runtime import exit_cleanly_on_sigterm

        exit_cleanly_on_sigterm()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        configure_logging(_level())
        return int(args.handler(args))
    except MarqueeError as exc:
        print(f"marquee: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _level() -> str:
    try:
        return Settings().log_level
    except ValidationError:
        return "INFO"


if __name__ == "__main__":
    sys.exit(main())
