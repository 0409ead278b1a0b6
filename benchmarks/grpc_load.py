"""A closed-loop gRPC load generator for ``grpc_bench.py``: ``concurrency`` calls in flight
over one channel (HTTP/2 multiplexes them on one connection), each starting the next as it
ends, for ``warmup`` then ``duration`` seconds.

``get`` calls ``GetUser`` with one of ``ids`` at random; ``post`` calls ``RegisterUser``
with a new name every time (``load-<tag>-<n>``). Requests are serialised beforehand where
they can be and replies are not parsed, so the generator spends its CPU time on the calls.
Any status but OK is an error. It prints one JSON line: ``requests`` (OK replies in the
measured part), ``completed`` (all replies, warm-up included), ``errors``, ``rps``,
``p50_ms``, ``p99_ms``, and ``cpu`` (this process's CPU time over the measured part's wall
time: near 1.0 means the generator, not the server, set the pace)::

    python benchmarks/grpc_load.py --target 127.0.0.1:50051 --method get --ids a,b,c
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Any

import grpc

SERVICE = "/users.v1.UserService/"


def _field(number: int, value: str) -> bytes:
    """A protobuf string field (wire type 2) whose length fits in one byte."""
    data = value.encode()
    if len(data) > 127:
        raise ValueError(f"{value!r} is too long for this encoder")
    return bytes((number << 3 | 2, len(data))) + data


def get_request(user_id: str) -> bytes:
    """``GetUserRequest(id=user_id)``, serialised."""
    return _field(1, user_id)


def register_request(name: str, department: str) -> bytes:
    """``RegisterUserRequest(name=name, department=department)``, serialised."""
    return _field(1, name) + _field(2, department)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ids = [get_request(i) for i in args.ids.split(",") if i]
    counter = 0

    def next_request() -> bytes:
        nonlocal counter
        if args.method == "get":
            return random.choice(ids)
        counter += 1
        return register_request(f"load-{args.tag}-{counter}", "R&D")

    path = SERVICE + ("GetUser" if args.method == "get" else "RegisterUser")
    latencies: list[float] = []
    completed = errors = 0
    async with grpc.aio.insecure_channel(args.target) as channel:
        call = channel.unary_unary(path)  # bytes in, bytes out
        await channel.channel_ready()
        start = time.perf_counter()
        measured_from = start + args.warmup
        end = measured_from + args.duration
        cpu_from: float | None = None

        async def worker() -> None:
            nonlocal completed, errors, cpu_from
            while True:
                began = time.perf_counter()
                if began >= end:
                    return
                try:
                    await call(next_request(), timeout=10)
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                done = time.perf_counter()
                completed += 1
                if began >= measured_from:
                    if cpu_from is None:
                        cpu_from = time.process_time()
                    if ok:
                        latencies.append(done - began)
                    else:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        finished = time.perf_counter()
        cpu_used = time.process_time() - (cpu_from or time.process_time())
    seconds = max(finished - measured_from, 1e-9)
    latencies.sort()

    def percentile(share: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "completed": completed,
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(0.5),
        "p99_ms": percentile(0.99),
        "cpu": cpu_used / seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--method", choices=("get", "post"), required=True)
    parser.add_argument("--ids", default="", help="comma-separated user ids, for get")
    parser.add_argument("--tag", default="t", help="makes post's names unique to this run")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
