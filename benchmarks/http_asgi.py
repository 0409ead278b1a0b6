"""Calling an ASGI app in process, without a socket: what the in-process parts of
``http_bench.py`` (``di`` and ``split``) time."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Run = Callable[[int], Awaitable[None]]


def scope(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    """The HTTP scope of one request; a body comes with its type and length."""
    headers = [(b"host", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def asgi_call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request: its status and body."""
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope(method, path, body), receive, send)
    return int(answer["status"]), answer["body"]


def asgi_caller(app: Any, path: str) -> Run:
    """``run(n)`` sends ``n`` GET requests to ``app`` and checks each answered 200."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run(n: int) -> None:
        statuses.clear()
        for _ in range(n):
            await app(scope("GET", path), receive, send)
        if statuses != [200] * n:
            raise RuntimeError(f"{path}: unexpected statuses {sorted(set(statuses))}")

    return run


Times = dict[str, list[float]]
"""Microseconds per request of each caller, one figure per round."""


async def timed_rounds(callers: Mapping[str, Run], rounds: int, requests: int) -> Times:
    """``rounds`` interleaved rounds of ``requests`` requests by each caller."""
    times: Times = {name: [] for name in callers}
    for _ in range(rounds):
        for name, run in callers.items():
            gc.collect()
            began = time.perf_counter()
            await run(requests)
            times[name].append((time.perf_counter() - began) / requests * 1e6)
    return times


def best(times: Times) -> dict[str, float]:
    """Each caller's fastest round."""
    return {name: min(values) for name, values in times.items()}


def median_difference(times: Times, minuend: str, subtrahend: str) -> float:
    """The median over the rounds of one caller's time less another's in the same round.

    The callers of a round run back to back: a slow spell of the machine moves both,
    where the difference of the best rounds can come from two different spells (and
    even come out negative).
    """
    return statistics.median(_differences(times, minuend, subtrahend))


def _differences(times: Times, minuend: str, subtrahend: str) -> list[float]:
    return [a - b for a, b in zip(times[minuend], times[subtrahend], strict=True)]


def cost_cell(times: Times, minuend: str, subtrahend: str) -> str:
    """A report's cell for what ``minuend`` costs over ``subtrahend``: the
    :func:`median_difference` in bold, the lowest and highest round's difference beside
    it, and a warning when the rounds disagree on its sign (then the machine's noise is
    larger than the cost, and the median says little)."""
    differences = _differences(times, minuend, subtrahend)
    low, high = min(differences), max(differences)
    spread = f"rounds {low:.1f} to {high:.1f}"
    if low < 0 < high:
        spread += "; the sign changes from round to round: within the machine's noise"
    return f"**{statistics.median(differences):.1f}** ({spread})"
