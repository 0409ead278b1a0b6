"""HTTP: portside's entry adapter against the same endpoints written without portside.

Five parts, each side by side in one run:

``di``      The per-request cost of portside's DI scope integration against FastAPI's own
            ``Depends`` for the same dependency graph (benchmarks/http_di_apps.py). Each
            ASGI app is called in-process, without a socket, so only the framework work is
            timed. The dependency cost is the route with the graph minus the same app's
            route without dependencies; portside's app also runs its middleware
            (correlation id, limits, scope), shown as its own row.

``split``   Where a cached ``GET /users/{id}`` of the users service spends its time, in
            process (benchmarks/http_split.py): the hand-written app, the hand-written
            endpoint served by portside's app, and the service's own endpoint; the
            differences are portside's HTTP integration and the service's layers. A fourth
            contender, the hand-written app with FastAPI's default telemetry, counts what
            that default costs (the others run with it off, as portside's app does).

``routes``  What each route tried before the one that matches costs a request, in a
            FastAPI app and in portside's app with the same routes (benchmarks/
            http_routes.py): a route served first and behind 40 others, in process.

``instructions``  The same contenders counted in machine instructions per request
            under valgrind's callgrind (benchmarks/http_instructions.py): figures that do
            not move with the machine's speed. Skipped without valgrind.

``server``  ``GET /users/{id}`` and ``POST /users`` of the users reference service on
            PostgreSQL, served by ``portside run``, against the same endpoints hand-written
            with FastAPI + SQLAlchemy (benchmarks/http_handwritten.py: the same table, the
            same outbox row per registration, relayed as portside relays it, the same
            in-process read cache). Each server
            is its own process (uvicorn, one worker); the load comes from a third process
            (wrk with benchmarks/http_load.lua when installed, else benchmarks/http_load.py;
            32 keep-alive connections). Requests per second and
            p50/p99 latency; ratio = portside / hand-written. 24 short rounds over three
            pairs of processes; the target is judged on the median of the rounds' ratios
            and the interval that holds it (benchmarks/http_servers.py).

    .venv/bin/python benchmarks/http_bench.py            # every part, writes results/http.md
    .venv/bin/python benchmarks/http_bench.py --quick    # short runs, results/http-quick.md

The script reports and never asserts.
"""

import argparse
import asyncio
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import http_di_apps  # noqa: E402 - benchmarks/ is put on the path just above
from http_asgi import Times, best, cost_cell, median_difference, timed_rounds  # noqa: E402
from run_info import (  # noqa: E402
    library_versions,
    portside_commit,
    probe_line,
    speed_probe,
    write_results,
)

# -- part 1: DI scope integration vs Depends -------------------------------------------------


async def di_part(rounds: int, requests: int) -> Times:
    """Microseconds per request for each app and route, in interleaved rounds."""
    callers = http_di_apps.callers()
    for caller in callers.values():
        await caller(200)  # warm up: compile, caches
    return await timed_rounds(callers, rounds, requests)


def di_report(times: Times) -> list[str]:
    """The best round of each route; each cost is the median of its rounds' differences,
    with their range."""
    fastest = best(times)
    di = median_difference(times, "portside users", "portside plain")
    depends = median_difference(times, "Depends users", "Depends plain")
    depends_cost = cost_cell(times, "Depends users", "Depends plain")
    di_cost = cost_cell(times, "portside users", "portside plain")
    middleware = cost_cell(times, "portside plain", "Depends plain")
    ratio = f"{di / depends:.2f}x of `Depends`"
    return [
        "| measure | µs per request |",
        "|---|---:|",
        f"| FastAPI app, route with `Depends` graph | {fastest['Depends users']:.1f} |",
        f"| FastAPI app, route without dependencies | {fastest['Depends plain']:.1f} |",
        f"| portside app, route with `Inject` graph | {fastest['portside users']:.1f} |",
        f"| portside app, route without dependencies | {fastest['portside plain']:.1f} |",
        f"| **dependency cost, `Depends`** | {depends_cost} |",
        f"| **dependency cost, portside `Inject` + scope** | {di_cost}, {ratio} |",
        f"| portside middleware (correlation id, limits, scope) | {middleware} |",
    ]


# -- report ---------------------------------------------------------------------------------

HTTP_LIBRARIES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "asyncpg", "pydantic")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (for a smoke test)")
    parser.add_argument("--parts", default="di,split,routes,instructions,server")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    output = args.output or HERE / "results" / ("http-quick.md" if args.quick else "http.md")
    lines = [
        "# HTTP benchmark",
        "",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- platform: {platform.platform()}",
        f"- libraries: {library_versions(HTTP_LIBRARIES)}",
        f"- command: `python benchmarks/http_bench.py{' --quick' if args.quick else ''}`",
        f"- portside commit: {portside_commit()}",
        "",
    ]
    before = speed_probe()
    if "di" in parts:
        rounds, requests = (3, 300) if args.quick else (9, 3000)
        times = asyncio.run(di_part(rounds, requests))
        lines += [
            "## Per-request cost of DI: portside `Inject` vs FastAPI `Depends`",
            "",
            (
                f"{rounds} interleaved rounds of {requests} in-process ASGI requests per route: "
                "each route's best round; each cost is the median over the rounds of the "
                "difference of two routes in the same round, with the lowest and highest "
                "round's difference."
            ),
            "",
            *di_report(times),
            "",
        ]
    if "split" in parts:
        import http_split

        rounds, requests = (3, 300) if args.quick else (9, 3000)
        split = asyncio.run(http_split.split_part(rounds, requests))
        lines += http_split.split_report(split, rounds, requests)
    if "routes" in parts:
        import http_routes

        rounds, requests = (3, 300) if args.quick else (9, 3000)
        route_times = asyncio.run(http_routes.routes_part(rounds, requests))
        lines += http_routes.routes_report(route_times, rounds, requests)
    if "instructions" in parts:
        import http_instructions

        requests = 100 if args.quick else 400
        counts = http_instructions.instructions_part(requests)
        lines += http_instructions.instructions_report(counts, requests)
        di_counts = http_instructions.instructions_part(requests, "di")
        lines += http_instructions.di_instructions_report(di_counts, requests)
    if "server" in parts:
        import http_servers

        lines += http_servers.server_part(quick=args.quick)
    # The probe goes with the run's other facts, at the top.
    facts = next(i for i, line in enumerate(lines) if line.startswith("- portside commit"))
    lines.insert(facts + 1, f"- {probe_line((before, speed_probe()))}")
    write_results(lines, output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
