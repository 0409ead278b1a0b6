"""What happened to users, published to other services through the outbox.

Each event is keyed by the user's id, so the events of one user are handled in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from portside.messaging import message

__all__ = ["UserModified", "UserRegistered", "UserUnregistered"]


@message("users.UserRegistered", version=1)
@dataclass(frozen=True, slots=True)
class UserRegistered:
    user_id: str
    name: str
    department: str | None

    @property
    def message_key(self) -> str:
        return self.user_id


@message("users.UserModified", version=1)
@dataclass(frozen=True, slots=True)
class UserModified:
    user_id: str
    name: str
    department: str | None

    @property
    def message_key(self) -> str:
        return self.user_id


@message("users.UserUnregistered", version=1)
@dataclass(frozen=True, slots=True)
class UserUnregistered:
    user_id: str
    name: str

    @property
    def message_key(self) -> str:
        return self.user_id
