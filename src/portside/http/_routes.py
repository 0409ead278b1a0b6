"""How a service declares the routes it serves."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter

__all__ = ["Routes"]


@dataclass(frozen=True)
class Routes:
    """A FastAPI router the service serves, declared in one of its modules::

    module.add_singleton(Routes, instance=Routes(router))
    """

    router: APIRouter
    prefix: str = ""
    tags: tuple[str, ...] = field(default=())
