"""What a results file records about the run itself: the portside commit measured and how
fast the interpreter ran before and after (figures from different runs compare only
through it)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import timeit
from collections.abc import Iterable
from pathlib import Path

__all__ = ["library_versions", "portside_commit", "probe_line", "speed_probe", "write_results"]


def library_versions(distributions: Iterable[str]) -> str:
    """``name version`` of each distribution, ``name (not installed)`` when it is missing."""
    found = []
    for name in distributions:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def portside_commit() -> str:
    """The commit of the portside tree being measured, and whether src/ has local changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(
                ["git", *arguments], cwd=root, capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " + local changes in src/" if git("status", "--porcelain", "--", "src") else ""
    )


def speed_probe() -> float:
    """µs for sum(range(1000)), best of 5: how fast this interpreter runs right now."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def probe_line(probes: tuple[float, float]) -> str:
    return (
        f"interpreter speed probe, sum(range(1000)): {probes[0]:.1f} µs before the run, "
        f"{probes[1]:.1f} µs after (absolute figures scale with it; the ratios come from "
        "interleaved rounds)"
    )


def write_results(lines: list[str], output: Path) -> None:
    """Print a report and write it to ``output``."""
    text = "\n".join(lines)
    print(text)
    output.write_text(text + "\n")
    print(f"\nwrote {output}")
