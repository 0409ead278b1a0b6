"""The ``instructions`` part of ``http_bench.py``: the ``split`` part's three contenders
counted in machine instructions per request instead of timed.

Timings in process move with the machine's speed from run to run; instruction counts do
not. The contenders (the hand-written app, the hand-written endpoint served by portside's
app, the users service's own endpoint; see ``http_split.py``) run in one child process
under ``valgrind --tool=callgrind``, which counts only between the marks this module sets
around each contender's requests (a small C helper, compiled here with the machine's C
compiler against valgrind's header, sets them). Instructions are not time: code that
misses the CPU's caches more costs more per instruction, so the ratio here is a floor on
what portside costs, not the timed ratio. Skipped where valgrind, its header or a C
compiler is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import http_di_apps
import http_split
from http_asgi import Run

HERE = Path(__file__).resolve().parent
HEADER = Path("/usr/include/valgrind/callgrind.h")
HELPER = """
#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_START_INSTRUMENTATION; }
void stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void zero(void) { CALLGRIND_ZERO_STATS; }
void dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""
WARMUP = 200
DI_CONTENDERS = ("portside users", "portside plain", "Depends users", "Depends plain")
"""The names ``http_di_apps.callers()`` gives its routes."""


def missing() -> str | None:
    """Why the part cannot run here, or ``None``."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed"
    if not HEADER.exists():
        return f"valgrind's header {HEADER} is missing"
    if shutil.which("cc") is None:
        return "no C compiler (cc) to build the counting helper"
    return None


def instructions_part(requests: int, part: str = "split") -> dict[str, float] | str:
    """Instructions per request per contender of ``part`` (``split``: the three
    ``GET /users/{id}`` contenders; ``di``: the ``di`` part's four routes), counted in a
    child process, or why it was skipped."""
    problem = missing()
    if problem is not None:
        return problem
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "helper.c").write_text(HELPER)
        helper = folder / "helper.so"
        subprocess.run(
            ["cc", "-O2", "-shared", "-fPIC", "-o", str(helper), str(folder / "helper.c")],
            check=True,
            capture_output=True,
        )
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={folder}/counts.%p",
            sys.executable,
            str(HERE / "http_instructions.py"),
            "--helper",
            str(helper),
            "--requests",
            str(requests),
            "--part",
            part,
        ]
        # A fixed hash seed: the same dict layouts, so the same counts run after run.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            return f"the counting run failed ({done.returncode}): {done.stderr[-2000:]}"
        counts = _read_counts(folder, requests)
    expected = set(DI_CONTENDERS) if part == "di" else set(http_split.CONTENDERS)
    if set(counts) != expected:
        return f"the counting run reported {sorted(counts)}"
    return counts


def _read_counts(folder: Path, requests: int) -> dict[str, float]:
    """Instructions per request by contender, from callgrind's dumps (one per mark)."""
    counts: dict[str, float] = {}
    for path in folder.glob("counts.*.*"):
        text = path.read_text(errors="replace")
        name = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.MULTILINE)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        if name and total:
            counts[name.group(1).strip()] = int(total.group(1)) / requests
    return counts


def instructions_report(counts: dict[str, float] | str, requests: int) -> list[str]:
    lines = ["## A cached `GET /users/{id}` in instructions, in process", ""]
    if isinstance(counts, str):
        return [*lines, f"Skipped: {counts}.", ""]
    hand = counts[http_split.HAND]
    return [
        *lines,
        (
            f"The `split` part's contenders, {requests} requests each after {WARMUP} of "
            "warm-up, counted by `valgrind --tool=callgrind` in one child process "
            "(PYTHONHASHSEED=0; the garbage collector off while counting). Instructions "
            "are not time: the timed ratio is lower where portside's code misses the CPU's "
            "caches more."
        ),
        "",
        "| contender | instructions per request | vs hand-written app |",
        "|---|---:|---:|",
        *(
            f"| {name} | {value:,.0f} | {hand / value:.3f}x |"
            for name, value in sorted(counts.items(), key=lambda item: item[1])
        ),
        "",
    ]


def di_instructions_report(counts: dict[str, float] | str, requests: int) -> list[str]:
    """The ``di`` part's routes in instructions: each app's route with the graph less the
    same app's route without dependencies."""
    lines = ["## Per-request cost of DI in instructions", ""]
    if isinstance(counts, str):
        return [*lines, f"Skipped: {counts}.", ""]
    depends = counts["Depends users"] - counts["Depends plain"]
    inject = counts["portside users"] - counts["portside plain"]
    middleware = counts["portside plain"] - counts["Depends plain"]
    return [
        *lines,
        (
            f"The `di` part's four routes, {requests} requests each after {WARMUP} of "
            "warm-up, counted as the part above counts its contenders."
        ),
        "",
        "| measure | instructions per request |",
        "|---|---:|",
        f"| FastAPI app, route with `Depends` graph | {counts['Depends users']:,.0f} |",
        f"| FastAPI app, route without dependencies | {counts['Depends plain']:,.0f} |",
        f"| portside app, route with `Inject` graph | {counts['portside users']:,.0f} |",
        f"| portside app, route without dependencies | {counts['portside plain']:,.0f} |",
        f"| **dependency cost, `Depends`** | **{depends:,.0f}** |",
        (
            f"| **dependency cost, portside `Inject` + scope** | **{inject:,.0f}** "
            f"({inject / depends:.2f}x of `Depends`) |"
        ),
        f"| portside middleware (correlation id, limits, scope) | {middleware:,.0f} |",
        "",
    ]


# -- the child, under valgrind -----------------------------------------------------------------


def _counting(helper: ctypes.CDLL, requests: int) -> http_split.Measure:
    async def count(callers: dict[str, Run]) -> dict[str, float]:
        helper.start()
        for name, run in callers.items():
            await run(WARMUP)
            gc.collect()
            gc.disable()
            try:
                helper.zero()
                await run(requests)
                helper.dump(name.encode())
            finally:
                gc.enable()
        helper.stop()
        return dict.fromkeys(callers, 0.0)  # the counts are in callgrind's files

    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helper", required=True, type=Path)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--part", choices=("split", "di"), default="split")
    args = parser.parse_args()
    helper = ctypes.CDLL(str(args.helper))
    count = _counting(helper, args.requests)
    if args.part == "di":
        asyncio.run(count(http_di_apps.callers()))
        return
    measured = asyncio.run(http_split.split_part(1, args.requests, measure=count))
    if isinstance(measured, str):
        sys.exit(f"skipped: {measured}")


if __name__ == "__main__":
    main()
