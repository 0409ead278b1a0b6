"""``portside dlq list|show|redrive``: the dead letters of each service's broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from portside.config import ConfigError, load_config
from portside.host import Host

__all__ = ["run_dlq"]


async def _transports(args: argparse.Namespace) -> list[tuple[str, Any]]:
    from portside.messaging._providers import make_transport

    config = load_config(args.config)
    host = Host.from_config(config)
    chosen = []
    for service in host.services:
        if args.service not in (None, service.name):
            continue
        choice = config.for_service(
            service.name, settings=service.settings, requires=("messaging",)
        ).choices["messaging"]
        transport = make_transport(choice.provider.name, choice.settings)
        await transport.start()
        chosen.append((service.name, transport))
    if args.service and not chosen:
        raise LookupError(f"no service named {args.service!r} in the configuration")
    return chosen


async def _run(args: argparse.Namespace) -> int:
    transports = await _transports(args)
    try:
        for name, transport in transports:
            letters = await transport.dead_letters(getattr(args, "group", None))
            if args.action == "list":
                if not letters:
                    sys.stdout.write(f"{name}: no dead letters\n")
                for d in letters:
                    sys.stdout.write(
                        f"{name}\t{d.id}\t{d.group}\t{d.topic}\tattempts={d.attempts}\t"
                        f"{d.failed_at.isoformat()}\t{d.reason[:120]}\n"
                    )
            elif args.action == "show":
                for d in letters:
                    if d.id == args.id:
                        try:
                            body: Any = json.loads(d.body)
                        except ValueError:
                            body = d.body
                        sys.stdout.write(
                            json.dumps(
                                {
                                    "service": name,
                                    "id": d.id,
                                    "group": d.group,
                                    "topic": d.topic,
                                    "attempts": d.attempts,
                                    "failed_at": d.failed_at.isoformat(),
                                    "reason": d.reason,
                                    "headers": d.headers,
                                    "message": body,
                                },
                                indent=2,
                            )
                            + "\n"
                        )
            else:
                ids = [d.id for d in letters] if args.all else args.ids
                count = await transport.redrive(ids)
                sys.stdout.write(f"{name}: redriven {count}\n")
    finally:
        for _, transport in transports:
            await transport.close()
    return 0


def run_dlq(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (ConfigError, LookupError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
