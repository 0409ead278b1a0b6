"""gRPC: the users service's ``GetUser`` and ``RegisterUser`` under ``portside run`` against
the same two methods hand-written with grpc.aio + SQLAlchemy (benchmarks/grpc_handwritten.py).

The same setup as the ``server`` part of ``http_bench.py`` (benchmarks/http_servers.py):
PostgreSQL, a fresh schema per server, each server in its own process, 24 short rounds over
three pairs of processes, the servers interleaved, the median of the rounds' own ratios
with the interval that holds it, and each server's CPU time per answered call. The load
comes from benchmarks/grpc_load.py in a third process: 32 calls in flight on one channel.
No target is set for gRPC; the ratio is reported.

    .venv/bin/python benchmarks/grpc_bench.py            # writes results/grpc.md
    .venv/bin/python benchmarks/grpc_bench.py --quick    # one short round, results/grpc-quick.md

The script reports and never asserts.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path
from typing import Any

import grpc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import http_servers  # noqa: E402 - benchmarks/ is put on the path just above
from http_servers import (  # noqa: E402
    CONNECTIONS,
    SEED,
    SERVERS,
    Transport,
    json_line,
    require,
    run_command,
)
from run_info import (  # noqa: E402
    library_versions,
    portside_commit,
    probe_line,
    speed_probe,
    write_results,
)
from users.contract.proto import users_pb2 as pb  # noqa: E402
from users.contract.proto import users_pb2_grpc  # noqa: E402

ENDPOINTS = {"get": "`GetUser`", "post": "`RegisterUser`"}
GRPC_LIBRARIES = ("grpcio", "protobuf", "sqlalchemy", "asyncpg")
_KEY = "x-correlation-id"


def _stub(url: str) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(url.partition("://")[2])
    return channel, users_pb2_grpc.UserServiceStub(channel)


def seed(url: str, tag: str, count: int) -> list[str]:
    """Register ``count`` users through ``RegisterUser``; their ids."""
    channel, stub = _stub(url)
    with channel:
        return [
            stub.RegisterUser(
                pb.RegisterUserRequest(name=f"seed-{tag}-{n}", department="R&D"), timeout=30
            ).id
            for n in range(count)
        ]


def _status(call: Any, request: Any, **kwargs: Any) -> tuple[str, Any]:
    """The status name of one call, and its reply (``None`` when it failed)."""
    try:
        return "OK", call(request, timeout=30, **kwargs)
    except grpc.RpcError as exc:
        return exc.code().name, None


def observed(url: str, user_id: str, tag: str) -> dict[str, Any]:
    """What a server answers to the benchmark's calls, for comparing the two."""
    channel, stub = _stub(url)
    with channel:
        name = f"check-{tag}"
        reply, call = stub.RegisterUser.with_call(
            pb.RegisterUserRequest(name=f"  {name}  ", department=" "),
            metadata=((_KEY, f"corr-{tag}"),),
            timeout=30,
        )
        echoed = dict(call.trailing_metadata()).get(_KEY)
        duplicate, _ = _status(stub.RegisterUser, pb.RegisterUserRequest(name=name))
        got, user = _status(stub.GetUser, pb.GetUserRequest(id=user_id))
        unknown, _ = _status(stub.GetUser, pb.GetUserRequest(id="no-such-user"))
        blank, _ = _status(stub.RegisterUser, pb.RegisterUserRequest(name="   "))
        return {
            "echo": echoed == f"corr-{tag}",
            "stripped": (reply.name, reply.HasField("department")) == (name, False),
            "created": reply.created.seconds > 0 and bool(reply.id),
            "duplicate": duplicate,
            "get": got,
            "get fields": user is not None and user.id == user_id and user.created.seconds > 0,
            "unknown": unknown,
            "blank name": blank,
        }


def check_alike(urls: dict[str, str], ids: dict[str, list[str]], tag: str) -> None:
    expected = {
        "echo": True,
        "stripped": True,
        "created": True,
        "duplicate": "ALREADY_EXISTS",
        "get": "OK",
        "get fields": True,
        "unknown": "NOT_FOUND",
        "blank name": "INVALID_ARGUMENT",
    }
    for name in SERVERS:
        answers = observed(urls[name], ids[name][0], f"{tag}-{name}")
        wrong = {k: v for k, v in answers.items() if expected[k] != v}
        require(not wrong, f"{name} answers unlike the users service: {wrong}")


def load(
    url: str,
    endpoint: str,
    ids: list[str],
    tag: str,
    duration: float,
    warmup: float,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """One run of ``grpc_load.py`` in its own process (``connections`` calls in flight)."""
    command = [sys.executable, str(HERE / "grpc_load.py"), "--target", url.partition("://")[2]]
    command += ["--method", endpoint, "--ids", ",".join(ids), "--tag", tag]
    command += ["--concurrency", str(connections)]
    command += ["--duration", str(duration), "--warmup", str(warmup)]
    return json_line(run_command(command, duration + warmup))


def _setup(duration: float, warmup: float) -> str:
    return (
        "The users reference service under `portside run` (PostgreSQL, in-memory bus with the "
        "outbox relay running, in-memory cache; its HTTP server runs too, idle) against the "
        "same two methods of `users.v1.UserService` hand-written with grpc.aio + SQLAlchemy "
        "Core (`benchmarks/grpc_handwritten.py`: the same table, one outbox row per "
        "registration in the same transaction, which its own relay publishes and deletes as "
        "portside's does, the same read-through cache, which keeps the "
        "reply message itself, the correlation id sent back in the trailing metadata, the same "
        "server options). Each server is its own process; the load comes from "
        f"`benchmarks/grpc_load.py` in a third process, {CONNECTIONS} calls in flight on one "
        f"channel, closed loop, {duration:g} s after {warmup:g} s of warm-up; it sends "
        "requests serialised beforehand and does not parse the replies. `GetUser` asks for "
        f"one of {SEED} users registered beforehand at random (after warm-up every one is "
        "cached); `RegisterUser` registers a new name every time. Errors are calls that end "
        "with a status other than OK, summed over all rounds."
    )


GRPC = Transport(
    name="gRPC",
    scheme="grpc",
    script="grpc_handwritten.py",
    endpoints=ENDPOINTS,
    seed=seed,
    answer_alike=check_alike,
    load=load,
    heading="## `GetUser` and `RegisterUser` on PostgreSQL: portside vs hand-written grpc.aio",
    setup=_setup,
    target=None,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    output = args.output or HERE / "results" / ("grpc-quick.md" if args.quick else "grpc.md")
    before = speed_probe()
    part = http_servers.server_part(quick=args.quick, transport=GRPC)
    lines = [
        "# gRPC benchmark",
        "",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- platform: {platform.platform()}",
        f"- libraries: {library_versions(GRPC_LIBRARIES)}",
        f"- command: `python benchmarks/grpc_bench.py{' --quick' if args.quick else ''}`",
        f"- portside commit: {portside_commit()}",
        f"- {probe_line((before, speed_probe()))}",
        "",
        *part,
    ]
    write_results(lines, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
