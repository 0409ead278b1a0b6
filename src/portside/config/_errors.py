"""Configuration problems, collected and reported together at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, and where it came from."""

    where: str  # "portside.toml", "environment variable PORTSIDE_STORAGE__URL", "default"
    key: str  # "[storage] url", or "[storage]" for a whole section
    reason: str
    value: str | None = None  # already masked when secret

    def __str__(self) -> str:
        shown = f" = {self.value}" if self.value is not None else ""
        return f"{self.where}: {self.key}{shown}: {self.reason}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        head = "invalid configuration" + (f" ({source})" if source else "")
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}: {len(self.problems)} problem(s)\n{lines}")
