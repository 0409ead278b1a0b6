"""Run the Python blocks of README.md in order, in one namespace: the README tour.

``make run`` runs this until the first reference service exists; the test suite runs it
too, so the README cannot drift from the code.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(text: str) -> list[str]:
    """The fenced ``python`` blocks of a Markdown text, in order."""
    return [m.group(1) for m in _BLOCK.finditer(text)]


def run(path: Path = README) -> dict[str, object]:
    """Run every block in one module, as a reader pasting them into a file would."""
    module = types.ModuleType("readme_tour")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        for number, source in enumerate(blocks(path.read_text(encoding="utf-8")), start=1):
            name = f"{path.name}[block {number}]"
            exec(compile(source, name, "exec", dont_inherit=True), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module.__dict__


if __name__ == "__main__":
    run()
    sys.stderr.write("\nThe README tour ran to the end.\n")
