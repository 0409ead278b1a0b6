"""The ``server`` part of ``http_bench.py``: the users service under ``portside run`` against
the same endpoints hand-written (``http_handwritten.py``), each in its own process, on
PostgreSQL, loaded by a third process (``wrk`` with ``http_load.lua``, else ``http_load.py``).

Each server gets a fresh schema (``bench_<random>``) made by the users service's
migrations: portside migrates its own at start (``migrate_on_start``); the hand-written
one is migrated beforehand by the same call, which also creates portside's tables (the
outbox the hand-written ``POST`` writes to). Both are seeded through their own
``POST /users`` and checked to answer alike and to relay their outbox rows; then each
endpoint is loaded on one server at a time, the servers interleaved, for many short
rounds. The target is judged on the median
of the rounds' own ratios (portside / hand-written, one round's two runs back to back) and
the interval that holds it (:func:`median_interval`); the round with the most requests per
second is shown per server and endpoint. Every non-2xx answer counts as an error (a
``POST`` answered 409 too) and is reported. Both processes are stopped and both schemas
dropped after their rounds, also after an error; then the next pair of processes starts,
on schemas of its own, for its share of the rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import queue
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from portside.storage.sql import SqlSettings
from portside.storage.sql._engine import make_engine
from portside.storage.sql._migrations import migrate
from portside.storage.sql._tables import outbox
from portside.testing.process import ServiceProcess

HERE = Path(__file__).resolve().parent
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_URL = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/test"
PORTSIDE = "portside"
HANDWRITTEN = "hand-written"
SERVERS = (PORTSIDE, HANDWRITTEN)
SEED = 200
CONNECTIONS = 32
TARGET = 0.9  # portside at least 0.9x the hand-written requests per second
PAIRS = 3  # pairs of server processes, each started afresh for its share of the rounds
CONFIDENCE = 0.95  # of the interval around the median round's ratio
ROUNDS = 8  # loaded rounds on each pair: short ones, and many, for the median's interval
ENDPOINTS = {"get": "`GET /users/{id}`", "post": "`POST /users`"}


@dataclass(frozen=True)
class Transport:
    """What the server part needs to know of one transport: the hand-written ``script``,
    the ``scheme`` of the service's address to load, how to ``seed`` a server (its URL, a
    tag, a count; the ids), check that two ``answer_alike`` (the URLs, the ids, a tag), and
    ``load`` one (as :func:`load`); the ``endpoints`` loaded, the ``target`` ratio judged
    (none: the ratio is reported only), and the report's ``heading``."""

    name: str
    scheme: str
    script: str
    endpoints: dict[str, str]
    seed: Callable[[str, str, int], list[str]]
    answer_alike: Callable[[dict[str, str], dict[str, list[str]], str], None]
    load: Callable[..., dict[str, Any]]
    heading: str
    setup: Callable[[float, float], str]
    """The setup in words, given a round's duration and warm-up in seconds."""
    target: float | None = TARGET


class CheckFailed(Exception):
    """The two servers do not answer alike, so their numbers would not compare."""


def require(condition: object, reason: str) -> None:
    if not condition:
        raise CheckFailed(reason)


# -- PostgreSQL ------------------------------------------------------------------------------


def reachable(host: str, port: int) -> str | None:
    """``None`` when a TCP connection opens, else why not."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return str(exc)
    return None


async def _execute(*statements: str) -> None:
    engine = create_async_engine(PG_URL)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(schema: str) -> None:
    """The users service's migrations (and portside's own tables) in ``schema``."""
    engine = make_engine(SqlSettings(url=PG_URL, schema_name=schema))
    try:
        await migrate(engine, "users", "users.migrations", "upgrade")
    finally:
        await engine.dispose()


async def _outbox_rows(schema: str, *, drained_within: float = 10.0) -> int:
    """The rows left in ``schema``'s outbox once it is empty or ``drained_within`` seconds
    have passed: a server's relay publishes and deletes what its registrations wrote."""
    engine = make_engine(SqlSettings(url=PG_URL, schema_name=schema))
    deadline = time.monotonic() + drained_within
    try:
        while True:
            async with engine.connect() as connection:
                rows = await connection.execute(select(func.count()).select_from(outbox))
                left = int(rows.one()[0])
            if left == 0 or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


# -- the two server processes ----------------------------------------------------------------


def portside_config(directory: Path, schema: str) -> Path:
    """The users service on PostgreSQL, the memory bus and cache, free ports; only the
    start-up line is logged."""
    path = directory / "portside.toml"
    path.write_text(
        '[services.users]\napp = "users.composition:service"\n'
        'seed_courses = ["Go", "Python", "Rust"]\n'
        f'[storage]\nprovider = "sql"\nurl = "{PG_URL}"\nschema_name = "{schema}"\n'
        "migrate_on_start = true\n"
        '[messaging]\nprovider = "memory"\n'
        '[cache]\nprovider = "memory"\n'
        '[http]\nhost = "127.0.0.1"\nport = 0\n'
        '[grpc]\nhost = "127.0.0.1"\nport = 0\n'
        '[logging]\nlevel = "WARNING"\nlevels = { "portside.host" = "INFO" }\n'
    )
    return path


class HandwrittenProcess:
    """A hand-written server (``http_handwritten.py`` unless another ``script`` is named) in
    a child process; ``url`` once it listens (the address it prints)."""

    def __init__(
        self, schema: str, start_timeout: float = 30.0, script: str = "http_handwritten.py"
    ) -> None:
        self.command = [
            sys.executable,
            str(HERE / script),
            "--port",
            "0",
            "--url",
            PG_URL,
            "--schema",
            schema,
        ]
        self.start_timeout = start_timeout
        self.lines: list[str] = []
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> HandwrittenProcess:
        self._process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not self.url:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                output = "\n".join(self.lines)
                raise RuntimeError(f"the hand-written server did not start; output:\n{output}")
            if line.startswith("listening "):
                self.url = line.split()[1]
        return self

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


# -- seeding and checks ----------------------------------------------------------------------


def seed(url: str, tag: str, count: int) -> list[str]:
    """Register ``count`` users through ``POST /users``; their ids."""
    ids = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for number in range(count):
            body = {"name": f"seed-{tag}-{number}", "department": "R&D"}
            answer = client.post("/users", json=body)
            require(answer.status_code == 201, f"{url}: seeding answered {answer.status_code}")
            ids.append(answer.json()["id"])
    return ids


def observed(url: str, user_id: str, tag: str) -> dict[str, Any]:
    """What a server answers to the benchmark's requests, for comparing the two."""
    with httpx.Client(base_url=url, timeout=30) as client:
        name = f"check-{tag}"
        created = client.post(
            "/users",
            json={"name": f"  {name}  ", "department": " "},
            headers={"X-Correlation-ID": f"corr-{tag}"},
        )
        body = created.json()
        again = client.post("/users", json={"name": name})
        got = client.get(f"/users/{user_id}")
        missing = client.get("/users/no-such-user")
        invalid = client.post("/users", json={"name": "   "})
        return {
            "created": created.status_code,
            "location": created.headers.get("location") == f"/users/{body.get('id')}",
            "echo": created.headers.get("x-correlation-id") == f"corr-{tag}",
            "fields": sorted(body),
            "stripped": (body.get("name"), body.get("department")) == (name, None),
            "duplicate": again.status_code,
            "get": got.status_code,
            "get fields": sorted(got.json()),
            "unknown": missing.status_code,
            "blank name": invalid.status_code,
        }


def check_alike(urls: dict[str, str], ids: dict[str, list[str]], tag: str) -> None:
    seen = {name: observed(urls[name], ids[name][0], f"{tag}-{name}") for name in SERVERS}
    expected = {
        "created": 201,
        "location": True,
        "echo": True,
        "fields": ["created", "department", "id", "name"],
        "stripped": True,
        "duplicate": 409,
        "get": 200,
        "get fields": ["created", "department", "id", "name"],
        "unknown": 404,
        "blank name": 422,
    }
    for name, answers in seen.items():
        wrong = {k: v for k, v in answers.items() if expected[k] != v}
        require(not wrong, f"{name} answers unlike the users service: {wrong}")


# -- load ------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    """The best round of one server on one endpoint, every round's rps, and the server's
    CPU time per answered request in each round (when it was measured)."""

    best: dict[str, Any] | None = None
    rounds: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    errors: int = 0
    generator_cpu: list[float] = field(default_factory=list)
    """The load generator's own CPU time over each round's wall time, when it says."""

    def add(self, result: dict[str, Any]) -> None:
        self.rounds.append(result["rps"])
        self.errors += int(result["errors"])
        if "cpu_us" in result:
            self.cpu_us.append(result["cpu_us"])
        if "cpu" in result:
            self.generator_cpu.append(result["cpu"])
        if self.best is None or result["rps"] > self.best["rps"]:
            self.best = result


def load_generator() -> str:
    """``wrk`` when it is installed (Debian's package ``wrk``): its event loop in C leaves
    the machine's cores to the servers; else ``http_load.py``, the same requests from a
    Python process."""
    return "wrk" if shutil.which("wrk") else "http_load.py"


def load(
    url: str,
    endpoint: str,
    ids: list[str],
    tag: str,
    duration: float,
    warmup: float,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """One run of the load generator in its own process; its result: ``requests`` (2xx
    answers after warm-up), ``completed`` (all answers, warm-up included), ``errors``,
    ``rps``, ``p50_ms``, ``p99_ms``."""
    if endpoint == "get":
        method, path, body = "GET", "/users/{id}", None
    else:
        method, path, body, ids = "POST", "/users", POST_BODY, []
    if load_generator() == "wrk":
        lua = [method, path, ",".join(ids), body or ""]
        return _wrk(url, lua, tag, duration, warmup, connections)
    command = [sys.executable, str(HERE / "http_load.py"), "--url", url + path]
    command += ["--method", method, "--ids", ",".join(ids), "--tag", tag]
    command += ["--connections", str(connections)]
    command += ["--duration", str(duration), "--warmup", str(warmup)]
    if body is not None:
        command += ["--body", body]
    return json_line(run_command(command, duration + warmup))


LOAD_NOTES = {
    "wrk": "`wrk` (one thread, `benchmarks/http_load.lua`)",
    "http_load.py": (
        "`benchmarks/http_load.py` (`wrk` is not installed; this Python generator takes "
        "CPU time the servers would otherwise have)"
    ),
}
POST_BODY = json.dumps({"name": "load-{n}", "department": "R&D"})


def run_command(command: list[str], seconds: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed ({done.returncode}):\n{done.stderr}")
    return done


def json_line(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _wrk(
    url: str, lua: list[str], tag: str, duration: float, warmup: float, connections: int
) -> dict[str, Any]:
    """A warm-up run and a measured run of ``wrk`` (one thread) with ``http_load.lua``,
    given the script's arguments but the tag."""

    def run(seconds: float, part: str) -> dict[str, Any]:
        whole = max(1, round(seconds))  # wrk takes whole seconds
        command = ["wrk", "-t1", f"-c{connections}", f"-d{whole}s", "--timeout", "10s"]
        command += ["-s", str(HERE / "http_load.lua"), url, "--", *lua]
        command.append(f"{tag}{part}")  # names stay unique across the two runs
        return json_line(run_command(command, whole))

    warm = run(warmup, "w") if warmup > 0 else {"requests": 0}
    timed = run(duration, "m")
    answered = timed["requests"] - timed["status_errors"]
    return {
        "requests": answered,
        "completed": warm["requests"] + timed["requests"],
        "errors": timed["status_errors"] + timed["socket_errors"],
        "rps": answered / (timed["duration_us"] / 1e6),
        "p50_ms": timed["p50_us"] / 1000,
        "p99_ms": timed["p99_us"] / 1000,
        "mean_ms": timed["mean_us"] / 1000,
    }


def sequential(
    urls: dict[str, str],
    ids: dict[str, list[str]],
    duration: float,
    transport: Transport | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each endpoint on one keep-alive connection, one request after the other: the
    latency of a request on an idle server."""
    transport = transport or HTTP
    return {
        (endpoint, name): transport.load(
            urls[name], endpoint, ids[name], secrets.token_hex(4), duration, 0.2, connections=1
        )
        for endpoint in transport.endpoints
        for name in SERVERS
    }


def measure(
    urls: dict[str, str],
    ids: dict[str, list[str]],
    rounds: int,
    duration: float,
    warmup: float,
    pids: dict[str, int] | None = None,
    results: dict[tuple[str, str], Load] | None = None,
    first_round: int = 0,
    transport: Transport | None = None,
) -> dict[tuple[str, str], Load]:
    """Interleaved rounds, added to ``results`` (new ones by default) and numbered from
    ``first_round``; with ``pids``, each result also gets the server's CPU time per
    answered request (``cpu_us``, warm-up included in both)."""
    transport = transport or HTTP
    if results is None:
        results = {(e, name): Load() for e in transport.endpoints for name in SERVERS}
    for number in range(first_round, first_round + rounds):
        order = SERVERS if number % 2 == 0 else SERVERS[::-1]
        for endpoint in transport.endpoints:
            for name in order:
                tag = f"{secrets.token_hex(3)}-{number}"
                before = cpu_seconds(pids[name]) if pids else 0.0
                result = transport.load(urls[name], endpoint, ids[name], tag, duration, warmup)
                if pids and result.get("completed"):
                    used = cpu_seconds(pids[name]) - before
                    result["cpu_us"] = used / result["completed"] * 1e6
                results[endpoint, name].add(result)
                print(
                    f"  round {number + 1} {endpoint:4} {name:12} {result['rps']:8.0f} rps"
                    f"  p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms"
                    f"  errors {result['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
    return results


# -- report ----------------------------------------------------------------------------------


def _latency(best: dict[str, Any] | None) -> str:
    if best is None or math.isnan(best["p50_ms"]):
        return "-"
    return f"{best['p50_ms']:.2f} / {best['p99_ms']:.2f}"


def report_sequential(
    results: dict[tuple[str, str], dict[str, Any]], endpoints: dict[str, str] = ENDPOINTS
) -> list[str]:
    head = (
        "| endpoint, one connection | portside p50 / p99 ms | hand-written p50 / p99 ms "
        "| requests/s (portside / hand-written) |"
    )
    lines = [
        head,
        "|---|---:|---:|---:|",
    ]
    for endpoint, label in endpoints.items():
        ours, theirs = results[endpoint, PORTSIDE], results[endpoint, HANDWRITTEN]
        lines.append(
            f"| {label} | {_latency(ours)} | {_latency(theirs)} "
            f"| {ours['rps']:.0f} / {theirs['rps']:.0f} |"
        )
    return lines


def median_interval(
    values: list[float], confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """The median of ``values``, and an interval that holds the median of the distribution
    they were drawn from: ``(median, low, high, coverage)``.

    The interval runs from the k-th smallest to the k-th largest value, k the largest for
    which the chance that fewer than k values fall below the true median is at most
    ``(1 - confidence) / 2`` (a binomial count with p = 1/2, whatever the distribution).
    ``coverage`` is the interval's own confidence, at least ``confidence`` when there are
    enough values; with too few (under six for 95%) the interval is the whole range and
    ``coverage`` says how little that holds.
    """
    if not values:
        nan = float("nan")
        return nan, nan, nan, 0.0
    ordered = sorted(values)
    n = len(ordered)
    tail = (1 - confidence) / 2
    # ``outside``: P(fewer than k values below the median), one tail the interval misses.
    # The whole range (k = 1) at the least; widen k while the next tail still passes.
    k, outside = 1, 1 / 2**n
    while k < n:
        further = outside + math.comb(n, k) / 2**n
        if further > tail:
            break
        k, outside = k + 1, further
    return statistics.median(ordered), ordered[k - 1], ordered[n - k], 1 - 2 * outside


def report(
    results: dict[tuple[str, str], Load],
    per_pair: int = 0,
    endpoints: dict[str, str] = ENDPOINTS,
    target: float | None = TARGET,
) -> list[str]:
    """The table and the verdicts (with no ``target``, the ratios only); with ``per_pair``
    (the rounds each pair of processes ran, in order), each pair's own median ratio too:
    the interval treats rounds as independent, and rounds on one pair of processes share
    its layout of memory."""
    lines = [
        (
            "| endpoint | portside rps | hand-written rps | ratio | portside p50 / p99 ms "
            "| hand-written p50 / p99 ms | errors (portside / hand-written) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for endpoint, label in endpoints.items():
        ours, theirs = results[endpoint, PORTSIDE], results[endpoint, HANDWRITTEN]
        ours_rps = ours.best["rps"] if ours.best else 0.0
        theirs_rps = theirs.best["rps"] if theirs.best else 0.0
        ratio = ours_rps / theirs_rps if theirs_rps else float("nan")
        lines.append(
            f"| {label} | {ours_rps:.0f} | {theirs_rps:.0f} | **{ratio:.2f}x** "
            f"| {_latency(ours.best)} | {_latency(theirs.best)} "
            f"| {ours.errors} / {theirs.errors} |"
        )
        # Each round runs the two servers back to back: the rounds' own ratios are the
        # figures a slow spell of the machine disturbs least, and their median is judged,
        # with the interval that holds it at CONFIDENCE (so one run decides only what its
        # rounds can tell apart from the target).
        paired = [a / b for a, b in zip(ours.rounds, theirs.rounds, strict=True) if b]
        middle, low, high, coverage = median_interval(paired)
        if target is None:
            met = ""
        elif low >= target:
            met = "; target met"
        elif high < target:
            met = "; target **not met**"
        else:
            met = f"; target **not decided** (the interval holds {target}x)"
        rounds = " · ".join(
            f"{name}: {', '.join(f'{r:.0f}' for r in results[endpoint, name].rounds)}"
            for name in SERVERS
        )
        verdicts.append(
            f"- {label}: the median round's ratio is {middle:.3f}x, between {low:.3f}x and "
            f"{high:.3f}x with {coverage:.0%} confidence{met}. Best round to best "
            f"round {ratio:.2f}x. rps per round, {rounds}"
        )
        if len(paired) > 1:
            # How far one round's verdict can swing on this machine: the spread of the
            # rounds' ratios says how much a single run's figures can be trusted.
            first, _, third = statistics.quantiles(paired, n=4, method="inclusive")
            verdicts.append(
                f"  - the rounds' own ratios: {min(paired):.2f} to {max(paired):.2f}, the "
                f"middle half {first:.2f} to {third:.2f}"
            )
        if per_pair and len(paired) > per_pair:
            medians = [
                statistics.median(paired[i : i + per_pair]) for i in range(0, len(paired), per_pair)
            ]
            verdicts.append(
                "  - each pair of processes' median ratio: "
                + ", ".join(f"{m:.3f}" for m in medians)
            )
        if ours.cpu_us and theirs.cpu_us:
            mine, hand = statistics.median(ours.cpu_us), statistics.median(theirs.cpu_us)
            verdicts.append(
                f"  - server CPU time per answered request, median round: portside {mine:.0f} "
                f"µs, hand-written {hand:.0f} µs (portside costs {mine - hand:+.0f} µs, "
                f"{hand / mine:.2f}x the hand-written requests per CPU second)"
            )
        if ours.generator_cpu and theirs.generator_cpu:
            verdicts.append(
                "  - the load generator's own CPU time, median round: "
                f"{statistics.median(ours.generator_cpu):.2f} of a core against portside, "
                f"{statistics.median(theirs.generator_cpu):.2f} against the hand-written "
                "server (near 1.00, the generator would set the pace, not the server)"
            )
    judged = (
        f"Target: portside at least {target}x the hand-written requests per second, "
        "judged on the median of the rounds' own ratios: met when the interval that "
        f"holds that median with at least {CONFIDENCE:.0%} confidence (order statistics, "
        "no assumption about the rounds' distribution) lies at or above the target, not "
        "met when it lies below, not decided when it holds the target. The best rounds "
        "are shown, not judged: on a noisy machine one round can be a lucky one."
    )
    if target is None:
        judged = (
            "No target is set; the figure to read is the median of the rounds' own ratios, "
            f"with the interval that holds it with at least {CONFIDENCE:.0%} confidence "
            "(order statistics, no assumption about the rounds' distribution). The best "
            "rounds are shown for comparison: on a noisy machine one round can be a lucky one."
        )
    return [*lines, "", judged, "", *verdicts]


def skipped(reason: str, transport: Transport | None = None) -> list[str]:
    return [
        (transport or HTTP).heading,
        "",
        f"Skipped: {reason}.",
        "",
    ]


def _run_pair(
    results: dict[tuple[str, str], Load],
    rounds: int,
    first_round: int,
    duration: float,
    warmup: float,
    alone_seconds: float,
    transport: Transport,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Start both servers on fresh schemas, seed and check them, run ``rounds`` loaded
    rounds into ``results``, stop them and drop the schemas; the one-connection latencies
    when ``alone_seconds`` is set."""
    tag = secrets.token_hex(4)
    schemas = {PORTSIDE: f"bench_{tag}_portside", HANDWRITTEN: f"bench_{tag}_handwritten"}
    asyncio.run(_execute(*(f'CREATE SCHEMA "{s}"' for s in schemas.values())))
    try:
        with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
            asyncio.run(_migrate(schemas[HANDWRITTEN]))
            config = portside_config(Path(directory), schemas[PORTSIDE])
            service = ServiceProcess(config, start_timeout=60)
            stack.enter_context(service)
            handwritten = HandwrittenProcess(schemas[HANDWRITTEN], script=transport.script)
            stack.callback(handwritten.stop)
            handwritten.start()
            urls = {PORTSIDE: service.address(transport.scheme), HANDWRITTEN: handwritten.url}
            print(
                f"  portside pid {service.pid} {urls[PORTSIDE]}, "
                f"hand-written pid {handwritten.pid} {urls[HANDWRITTEN]}",
                file=sys.stderr,
                flush=True,
            )
            ids = {name: transport.seed(urls[name], f"{tag}-{name}", SEED) for name in SERVERS}
            transport.answer_alike(urls, ids, tag)
            for name in SERVERS:  # both relay their registrations' events
                left = asyncio.run(_outbox_rows(schemas[name]))
                require(left == 0, f"the {name} relay left {left} rows in its outbox")
            alone = sequential(urls, ids, alone_seconds, transport) if alone_seconds else {}
            pids = {PORTSIDE: service.pid, HANDWRITTEN: handwritten.pid}
            measure(urls, ids, rounds, duration, warmup, pids, results, first_round, transport)
    finally:
        asyncio.run(_execute(*(f'DROP SCHEMA IF EXISTS "{s}" CASCADE' for s in schemas.values())))
    return alone


def server_part(*, quick: bool, transport: Transport | None = None) -> list[str]:
    """Markdown lines: the table, the target and the setup; skipped without PostgreSQL."""
    transport = transport or HTTP
    problem = reachable(PG_HOST, PG_PORT)
    if problem is not None:
        reason = f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable ({problem})"
        return skipped(reason, transport)
    pairs, rounds, duration, warmup = (1, 1, 2.0, 0.5) if quick else (PAIRS, ROUNDS, 3.0, 1.0)
    alone_seconds = 1.0 if quick else 3.0
    results = {(e, name): Load() for e in transport.endpoints for name in SERVERS}
    alone: dict[tuple[str, str], dict[str, Any]] = {}
    for pair in range(pairs):
        # Each pair of processes lays out its memory afresh (and hashes strings with its own
        # seed): a process can be a few percent faster or slower than the next for that
        # alone, so the rounds are spread over several pairs instead of one.
        latencies = _run_pair(
            results,
            rounds,
            pair * rounds,
            duration,
            warmup,
            0 if pair else alone_seconds,
            transport,
        )
        alone = alone or latencies
    total = pairs * rounds
    cores = os.cpu_count()
    alone_note = (
        "The same endpoints on one keep-alive connection, one request after the other "
        f"({alone_seconds:g} s each, on the first pair of servers before its loaded rounds):"
    )
    setup = (
        f"{transport.setup(duration, warmup)} One server under load at a time, servers "
        f"interleaved; {total} round{'s' if total > 1 else ''} in all, {rounds} on each of "
        f"{pairs} pair{'s' if pairs > 1 else ''} of server processes started afresh (a "
        "process's memory layout alone can make it a few percent faster or slower than the "
        "next). ratio = portside / hand-written. Around each load run the server's CPU time "
        "(user + system, all its threads, from /proc) is read, and divided by the requests "
        "it answered in the run, warm-up included."
    )
    return [
        transport.heading,
        "",
        setup,
        "",
        f"Server, load generator and PostgreSQL share this machine's {cores} CPU cores.",
        "",
        *report(results, rounds, transport.endpoints, transport.target),
        "",
        alone_note,
        "",
        *report_sequential(alone, transport.endpoints),
        "",
    ]


def _http_setup(duration: float, warmup: float) -> str:
    return (
        "The users reference service under `portside run` (PostgreSQL, in-memory bus with the "
        "outbox relay running, in-memory cache) against the same two endpoints hand-written "
        "with FastAPI + SQLAlchemy Core (`benchmarks/http_handwritten.py`: same table, one "
        "outbox row per registration in the same transaction, which its own relay publishes "
        "and deletes as portside's does, the same read-through cache, "
        "the same pool and uvicorn settings; a pooled connection is tested before use by "
        "both, by portside with one `SELECT 1`, by the hand-written app with SQLAlchemy's "
        "pre-ping, which on asyncpg is BEGIN, the ping and ROLLBACK). Each server is its "
        "own process (uvicorn, one worker); the load comes from "
        f"{LOAD_NOTES[load_generator()]} in a third process, {CONNECTIONS} keep-alive "
        f"connections, closed loop, {duration:g} s after {warmup:g} s of warm-up. `GET` picks "
        f"one of {SEED} users registered beforehand at random (after warm-up every one is "
        "cached); `POST` registers a new name every time. Errors are non-2xx answers or "
        "broken connections, summed over all rounds."
    )


HTTP = Transport(
    name="HTTP",
    scheme="http",
    script="http_handwritten.py",
    endpoints=ENDPOINTS,
    seed=seed,
    answer_alike=check_alike,
    load=load,
    heading="## `GET /users/{id}` and `POST /users` on PostgreSQL: portside vs hand-written",
    setup=_http_setup,
)
