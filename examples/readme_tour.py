"""Run the Python blocks of README.md in order, in one namespace: the README tour.

``make run`` runs this until the first reference service exists; the test suite runs it
too, so the README cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[str]:
    """The fenced ``python`` blocks of a Markdown text, in order."""
    return [m.group(1) for m in _BLOCK.finditer(text)]


def run(path: Path = README) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "readme_tour"}
    for number, source in enumerate(blocks(path.read_text(encoding="utf-8")), start=1):
        code = compile(source, f"{path.name}[block {number}]", "exec")
        exec(code, namespace)
    return namespace


if __name__ == "__main__":
    run()
    sys.stderr.write("\nThe README tour ran to the end.\n")
