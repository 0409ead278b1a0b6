"""The ``portside`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from portside.config import ConfigError, Problem, load_config, render

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portside", description="portside service chassis")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            metavar="FILE",
            help="TOML configuration file (default: $PORTSIDE_CONFIG or ./portside.toml)",
        )
        return p

    config = commands.add_parser("config", help="show or check the configuration")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    with_config(actions.add_parser("show", help="print the effective configuration"))
    with_config(actions.add_parser("check", help="validate it, services included"))
    with_config(commands.add_parser("run", help="run the services of the configuration"))

    db = commands.add_parser("db", help="database migrations of the services (Alembic)")
    steps = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("upgrade", "upgrade to a revision"), ("downgrade", "downgrade to one")):
        step = with_config(steps.add_parser(action, help=text))
        step.add_argument("revision", nargs="?", default="head" if action == "upgrade" else None)
        step.add_argument("--service", help="only this service (default: every service)")
    current = with_config(steps.add_parser("current", help="show the current revision"))
    current.add_argument("--service", help="only this service (default: every service)")
    revision = with_config(steps.add_parser("revision", help="create a new revision file"))
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--service", required=True)
    revision.add_argument("--autogenerate", action="store_true", help="compare with the tables")

    dlq = commands.add_parser("dlq", help="dead letters: list, show, redrive")
    verbs = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = with_config(verbs.add_parser("list", help="list dead letters"))
    listing.add_argument("--service")
    listing.add_argument("--group", help="only this consumer group")
    show = with_config(verbs.add_parser("show", help="show one dead letter in full"))
    show.add_argument("id")
    show.add_argument("--service")
    redrive = with_config(verbs.add_parser("redrive", help="put dead letters back"))
    redrive.add_argument("ids", nargs="*")
    redrive.add_argument("--all", action="store_true", help="every dead letter")
    redrive.add_argument("--service")
    redrive.add_argument("--group", help="with --all: only this consumer group")
    return parser


def _check(path: str | None) -> None:
    from portside.host import Host

    config = load_config(path)
    host = Host.from_config(config)
    problems: list[Problem] = []
    for service in host.services:
        try:
            config.for_service(service.name, settings=service.settings, requires=service.requires)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems, source=str(config.file))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "config" and args.action == "show":
            sys.stdout.write(render(load_config(args.config)))
            return 0
        if args.command == "config" and args.action == "check":
            _check(args.config)
            sys.stdout.write("configuration is valid\n")
            return 0
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    if args.command == "db":
        from ._db import run_db

        return run_db(args)
    if args.command == "dlq":
        from ._dlq import run_dlq

        return run_dlq(args)
    from portside.host import run_from_config

    return run_from_config(args.config)
