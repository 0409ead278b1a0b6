"""Steps several use cases share; each runs inside the caller's unit of work."""

from __future__ import annotations

import logging

from portside.storage import Conflict, NotFound, UnitOfWork
from users.domain import User

from .ports import UserCache, UserRepository

__all__ = ["duplicate", "forget", "modify", "require", "require_named", "unregister"]

log = logging.getLogger("users")


def duplicate(name: str) -> Conflict:
    return Conflict(f"duplicate user for {name}")


async def require(users: UserRepository, user_id: str) -> User:
    user = await users.get(user_id)
    if user is None:
        raise NotFound(f"user {user_id!r} does not exist")
    return user


async def require_named(users: UserRepository, name: str) -> User:
    user = await users.get_by_name(name.strip())
    if user is None:
        raise NotFound(f"no user is named {name!r}")
    return user


async def modify(users: UserRepository, user_id: str, name: str, department: str | None) -> User:
    """Replace a user's name and department, keeping names unique."""
    name, department = User.validate(name, department)  # bad input fails before any read
    user = await require(users, user_id)
    if name != user.name:
        holder = await users.get_by_name(name)
        if holder is not None and holder.id != user.id:
            raise duplicate(name)
    user.modify(name, department)
    return user


async def unregister(uow: UnitOfWork, users: UserRepository, user: User) -> None:
    """Remove a user, publishing what happened to it in this unit of work.

    The unit of work collects events from the aggregates it keeps, and a removed one is
    not kept; so the user's events (a modification earlier in this unit of work, then the
    unregistration) are staged explicitly, in order, before it is removed.
    """
    user.unregister()
    for event in user.pull_events():
        uow.stage(event)
    await users.remove(user)


async def forget(cache: UserCache, *user_ids: str) -> None:
    """Drop cached copies after a committed change. The change is already stored, so a
    cache that cannot be reached must not turn it into a failure: its entries expire."""
    try:
        await cache.forget(*user_ids)
    except Exception:
        log.warning(
            "could not drop users %s from the cache; they expire with their ttl",
            ", ".join(user_ids),
            exc_info=True,
        )
