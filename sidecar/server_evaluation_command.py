"""``marquee evaluate --server``: the options, the run and the printed table (wired in ``sidecar.cli``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from sidecar.errors import ConfigError
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.server_evaluation import DEFAULT_HOLDOUT, DEFAULT_MIN_HISTORY, METHODS, ServerEvaluation, evaluate_server

LABELS = {"marquee": "Marquee", "popularity": "Popularity", "content-only": "Content-only"}


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("on this server's own users (--server)")
    group.add_argument(
        "--server",
        action="store_true",
        help="evaluate on the users and catalogue in Marquee's database instead of MovieLens files",
    )
    group.add_argument(
        "--holdout", type=int, default=DEFAULT_HOLDOUT, help=f"plays held out per user (default {DEFAULT_HOLDOUT})"
    )
    group.add_argument(
        "--min-history",
        type=int,
        default=DEFAULT_MIN_HISTORY,
        help=f"plays a user needs besides the held-out ones to be counted (default {DEFAULT_MIN_HISTORY})",
    )
    group.add_argument(
        "--media-type", choices=[*MEDIA_TYPES, "all"], default="all", help="movies, series or all (default)"
    )
    group.add_argument("--no-save", action="store_true", help="print only; do not store it for Admin → Quality")


def report_lines(result: ServerEvaluation) -> list[str]:
    """The result as the CLI prints it: a header, the overall table, then one line per user."""
    needs = result.holdout + result.min_history
    lines = [
        f"{result.media_type}: {result.users_evaluated} of {result.users_with_history} users with history had"
        f" {needs}+ plays (last {result.holdout} held out); {result.items} titles; {result.seconds:.1f}s"
    ]
    if not result.overall:
        lines.append("  nobody to evaluate yet")
        return lines
    lines.append(f"  {'method':<14}{'NDCG@10':>9}{'Recall@20':>11}{'Hit@10':>8}")
    for method in METHODS:
        s = result.overall[method]
        lines.append(f"  {LABELS[method]:<14}{s['ndcg10']:>9.4f}{s['recall20']:>11.4f}{s['hit10']:>8.2f}")
    lines.append(f"  {'user':<20}{'history':>8}{'held out':>9}" + "".join(f"{LABELS[m]:>14}" for m in METHODS))
    for row in sorted(result.per_user, key=lambda r: (not r["counted"], str(r["name"]).lower())):
        if row["counted"]:
            scores = "".join(f"{row['ndcg10'][m]:>14.4f}" for m in METHODS)
            lines.append(f"  {str(row['name'])[:19]:<20}{row['history']:>8}{row['held_out']:>9}{scores}")
        else:
            lines.append(f"  {str(row['name'])[:19]:<20}{row['history']:>8}  not counted: fewer than {needs} plays")
    return lines


def cmd_evaluate_server(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    from sidecar.cli import _load_settings, _prepare
    from sidecar.server_evaluation_store import save_evaluation
    from sidecar.services import open_services

    if args.holdout < 1 or args.min_history < 1:
        raise ConfigError("--holdout and --min-history must be at least 1")
    media_types = MEDIA_TYPES if args.media_type == "all" else (MediaType(args.media_type),)
    settings = _load_settings().with_persisted_secrets()
    resolved, infra = _prepare(settings)

    async def main() -> None:
        services = await open_services(resolved, infra.database_url, infra.redis_url)
        try:
            for media_type in media_types:
                result = await evaluate_server(services, media_type, holdout=args.holdout, min_history=args.min_history)
                for line in report_lines(result):
                    out(line)
                if not args.no_save:
                    await save_evaluation(services, result)
        finally:
            await services.aclose()

    try:
        asyncio.run(main())
    finally:
        infra.close()
    return 0
