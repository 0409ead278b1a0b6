"""``portside db upgrade|downgrade|current|revision``: Alembic, for every service."""

from __future__ import annotations

import argparse
import asyncio
import sys

from portside.config import ConfigError, load_config
from portside.host import Host

__all__ = ["run_db"]


async def _run(args: argparse.Namespace) -> int:
    from portside.storage.sql import SqlSettings
    from portside.storage.sql._engine import make_engine
    from portside.storage.sql._migrations import migrate

    config = load_config(args.config)
    host = Host.from_config(config)
    services = [s for s in host.services if args.service in (None, s.name)]
    if args.service and not services:
        sys.stderr.write(f"no service named {args.service!r} in the configuration\n")
        return 2
    if args.action == "downgrade" and not args.revision:
        sys.stderr.write("name the revision to downgrade to (or 'base' for none)\n")
        return 2
    status = 0
    for service in services:
        if service.migrations is None:
            sys.stdout.write(f"{service.name}: no migrations declared, skipped\n")
            continue
        chosen = config.for_service(
            service.name, settings=service.settings, requires=("storage", *service.requires)
        ).choices["storage"]
        if not isinstance(chosen.settings, SqlSettings):
            sys.stdout.write(
                f"{service.name}: storage is {chosen.provider.name!r}, not sql; skipped\n"
            )
            continue
        engine = make_engine(chosen.settings)
        try:
            output = await migrate(
                engine,
                service.name,
                service.migrations,
                args.action,
                revision=getattr(args, "revision", None) or "head",
                message=getattr(args, "message", None),
                autogenerate=getattr(args, "autogenerate", False),
                metadata=service.tables,
            )
        except Exception as exc:  # noqa: BLE001 - reported per service with a non-zero exit
            sys.stderr.write(f"{service.name}: {args.action} failed: {exc}\n")
            status = 1
            continue
        finally:
            await engine.dispose()
        detail = f" {output.strip()}" if output.strip() else ""
        revision = getattr(args, "revision", "") or ""
        sys.stdout.write(f"{service.name}: {args.action} {revision}".rstrip() + f" done{detail}\n")
    return status


def run_db(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
