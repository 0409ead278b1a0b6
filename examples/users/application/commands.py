"""Use cases that change users: each is one unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from portside.storage import Conflict, UnitOfWork
from users.domain import User

from ._steps import duplicate, forget, modify, require, require_named, unregister
from .ports import Clock, UserCache, UserRepository

__all__ = [
    "ModifiedAndUnregistered",
    "ModifyAndUnregister",
    "ModifyUser",
    "RegisterUser",
    "UnregisterUser",
]


class RegisterUser:
    """Register a user under a name no other user has; publishes ``UserRegistered``."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, clock: Clock) -> None:
        self.uow, self.users, self.clock = uow, users, clock

    async def __call__(self, name: str, department: str | None = None) -> User:
        user = User.register(name, department, now=self.clock.now())
        async with self.uow:
            if await self.users.get_by_name(user.name) is not None:
                raise duplicate(user.name)
            await self.users.add(user)
            try:
                await self.uow.commit()
            except Conflict as exc:
                # Another registration took the name between the check and the commit;
                # the store's unique key refused this one.
                raise duplicate(user.name) from exc
        return user


class ModifyUser:
    """Replace a user's name and department; publishes ``UserModified`` when either
    changed."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, cache: UserCache) -> None:
        self.uow, self.users, self.cache = uow, users, cache

    async def __call__(self, user_id: str, name: str, department: str | None = None) -> User:
        async with self.uow:
            user = await modify(self.users, user_id, name, department)
            try:
                await self.uow.commit()
            except Conflict as exc:
                raise duplicate(user.name) from exc
        await forget(self.cache, user.id)
        return user


class UnregisterUser:
    """Remove a user, found by id or by name; publishes ``UserUnregistered``."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, cache: UserCache) -> None:
        self.uow, self.users, self.cache = uow, users, cache

    async def by_id(self, user_id: str) -> User:
        async with self.uow:
            user = await require(self.users, user_id)
            await unregister(self.uow, self.users, user)
            await self.uow.commit()
        await forget(self.cache, user.id)
        return user

    async def by_name(self, name: str) -> User:
        async with self.uow:
            user = await require_named(self.users, name)
            await unregister(self.uow, self.users, user)
            await self.uow.commit()
        await forget(self.cache, user.id)
        return user


@dataclass(frozen=True, slots=True)
class ModifiedAndUnregistered:
    modified: User
    unregistered: User


class ModifyAndUnregister:
    """Modify one user and unregister another (by name) atomically: if the second step
    fails, the first is not stored either, and neither publishes an event."""

    def __init__(self, uow: UnitOfWork, users: UserRepository, cache: UserCache) -> None:
        self.uow, self.users, self.cache = uow, users, cache

    async def __call__(
        self, user_id: str, name: str, department: str | None, unregister_name: str
    ) -> ModifiedAndUnregistered:
        async with self.uow:
            modified = await modify(self.users, user_id, name, department)
            # The modification is written at commit, so a lookup by name in the store
            # cannot see it yet: the user just given that name is found here.
            if modified.name == unregister_name.strip():
                removed = modified
            else:
                removed = await require_named(self.users, unregister_name)
            await unregister(self.uow, self.users, removed)
            try:
                await self.uow.commit()
            except Conflict as exc:
                raise duplicate(modified.name) from exc
        await forget(self.cache, *dict.fromkeys([modified.id, removed.id]))
        return ModifiedAndUnregistered(modified, removed)
