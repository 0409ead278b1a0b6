"""A closed-loop HTTP/1.1 load generator, run as its own process by ``http_bench.py``.

``connections`` keep-alive connections each send a request, read the whole response and
send the next, for ``duration`` seconds after a ``warmup``. It prints one JSON object:
requests, errors (non-2xx or broken connections), requests per second and latency
percentiles in milliseconds. ``{n}`` in the body is replaced by a number unique within the
run (combined with ``--tag`` to stay unique across runs), so ``POST /users`` can register
a new name each time::

    python benchmarks/http_load.py --url http://127.0.0.1:8000/users --method POST \\
        --body '{"name": "load-{n}"}' --connections 32 --duration 5
"""

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
from urllib.parse import urlsplit


def _request(method: str, host: str, path: str, body: bytes | None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    paths = [url.path.replace("{id}", i) for i in args.ids.split(",")] if args.ids else [url.path]
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    completed = 0  # answered requests, warm-up included
    begin = time.perf_counter() + args.warmup
    end = begin + args.duration

    async def worker() -> None:
        nonlocal errors, completed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                body = None
                if args.body is not None:
                    body = args.body.replace("{n}", f"{args.tag}-{next(counter)}").encode()
                request = _request(args.method, f"{host}:{port}", random.choice(paths), body)
                started = time.perf_counter()
                if started >= end:
                    return
                writer.write(request)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                finished = time.perf_counter()
                completed += 1
                if started >= begin:
                    if 200 <= status < 300:
                        latencies.append(finished - started)
                    else:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(args.connections)))
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "completed": completed,
        "errors": errors,
        "rps": len(latencies) / args.duration,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="{id} in the path is replaced from --ids")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None)
    parser.add_argument("--ids", default="", help="comma-separated values for {id}")
    parser.add_argument("--tag", default=f"{random.getrandbits(32):08x}")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
