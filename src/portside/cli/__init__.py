"""The ``portside`` command: ``portside config show|check``, ``portside run``."""

from ._main import main

__all__ = ["main"]
