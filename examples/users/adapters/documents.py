"""The repositories on a document store: the memory and Redis stores (and any store whose
unit of work stores documents). Names are unique through the store's unique keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portside.storage import DocumentRepository
from users.application.ports import Position
from users.domain import Course, User

__all__ = ["DocumentCourses", "DocumentUsers"]

# Every document carries this indexed field, so the store can list a collection: a
# document store looks values up, it does not scan ranges. Listing therefore reads the
# whole collection and orders it here, which suits the reference service's size; a large
# deployment uses the sql store, which pages in the database.
LISTED = "listed"


class DocumentUsers(DocumentRepository[User]):
    collection = "users"
    unique = ("name",)
    indexed = (LISTED,)

    def to_document(self, aggregate: User) -> dict[str, Any]:
        return {
            "id": aggregate.id,
            "name": aggregate.name,
            "department": aggregate.department,
            "created": aggregate.created.isoformat(),  # with its offset: always +00:00
            LISTED: "all",
        }

    def from_document(self, document: dict[str, Any]) -> User:
        return User(
            document["id"],
            document["name"],
            document["department"],
            datetime.fromisoformat(document["created"]),
        )

    async def get_by_name(self, name: str, /) -> User | None:
        user = await self.find_one("name", name)
        # The store answers from committed keys; a user renamed in this unit of work no
        # longer has the name it was found by.
        return user if user is not None and user.name == name else None

    async def list(self, limit: int, after: Position | None = None, /) -> list[User]:
        users = await self.find(LISTED, "all")
        ordered = sorted(users, key=lambda u: (u.created, u.id))
        if after is not None:
            ordered = [u for u in ordered if (u.created, u.id) > (after.created, after.id)]
        return ordered[:limit]


class DocumentCourses(DocumentRepository[Course]):
    collection = "courses"
    unique = ("name",)
    indexed = (LISTED,)

    def to_document(self, aggregate: Course) -> dict[str, Any]:
        return {"id": aggregate.id, "name": aggregate.name, LISTED: "all"}

    def from_document(self, document: dict[str, Any]) -> Course:
        return Course(document["id"], document["name"])

    async def list(self) -> list[Course]:
        return sorted(await self.find(LISTED, "all"), key=lambda c: c.name)
