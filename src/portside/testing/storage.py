"""The storage contract: one test suite, run against every store.

Subclass :class:`StorageContract` and provide these fixtures:

``new_uow``
    a callable returning a fresh unit of work (``new_uow(encoder)`` with an event
    encoder); all of them share one empty store.
``outbox``
    the store's :class:`~portside.storage.Outbox` over that same store.
``notes``
    a callable turning a unit of work into a :class:`NoteRepository`.
``authors``
    the same for :class:`AuthorRepository` (a second aggregate, for atomicity across
    repositories).

``DocumentNotes`` and ``DocumentAuthors`` implement the ports on any document store;
a provider may also bring its own implementation of the same port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from portside.storage import (
    Aggregate,
    AlreadyProcessed,
    ConcurrencyError,
    Conflict,
    DocumentRepository,
    Outbox,
    OutboxRecord,
    StorageError,
    UnitOfWork,
    current_delivery,
)

__all__ = [
    "Author",
    "AuthorRepository",
    "DocumentAuthors",
    "DocumentNotes",
    "Note",
    "NoteEdited",
    "NoteRepository",
    "StorageContract",
]


@dataclass(frozen=True)
class NoteEdited:
    note_id: str
    body: str


class Note(Aggregate):
    def __init__(self, id: str, title: str, body: str = "", tag: str = "") -> None:
        self.id = id
        self.title = title
        self.body = body
        self.tag = tag

    def edit(self, body: str) -> None:
        self.body = body
        self.record(NoteEdited(self.id, body))


class Author(Aggregate):
    def __init__(self, id: str, email: str) -> None:
        self.id = id
        self.email = email


class NoteRepository(Protocol):
    """The port: what a use case needs of note storage."""

    async def add(self, note: Note) -> None: ...
    async def get(self, note_id: Any) -> Note | None: ...
    async def remove(self, note: Note) -> None: ...
    async def by_title(self, title: str) -> Note | None: ...
    async def tagged(self, tag: str) -> list[Note]: ...


class AuthorRepository(Protocol):
    async def add(self, author: Author) -> None: ...
    async def get(self, author_id: Any) -> Author | None: ...


class DocumentNotes(DocumentRepository[Note]):
    collection = "notes"
    unique = ("title",)
    indexed = ("tag",)

    def to_document(self, aggregate: Note) -> dict[str, Any]:
        return {
            "id": aggregate.id,
            "title": aggregate.title,
            "body": aggregate.body,
            "tag": aggregate.tag,
        }

    def from_document(self, document: dict[str, Any]) -> Note:
        return Note(document["id"], document["title"], document["body"], document["tag"])

    async def by_title(self, title: str) -> Note | None:
        return await self.find_one("title", title)

    async def tagged(self, tag: str) -> list[Note]:
        return await self.find("tag", tag)


class DocumentAuthors(DocumentRepository[Author]):
    collection = "authors"
    unique = ("email",)

    def to_document(self, aggregate: Author) -> dict[str, Any]:
        return {"id": aggregate.id, "email": aggregate.email}

    def from_document(self, document: dict[str, Any]) -> Author:
        return Author(document["id"], document["email"])


NewUow = Callable[..., UnitOfWork]


def encode(events: Any) -> list[OutboxRecord]:
    """A stand-in for the messaging layer's encoder: one record per event."""
    return [
        OutboxRecord(
            f"m-{getattr(e, 'note_id', id(e))}-{getattr(e, 'body', '')}",
            type(e).__name__,
            getattr(e, "note_id", None),
            repr(e),
        )
        for e in events
    ]


Notes = Callable[[UnitOfWork], NoteRepository]
Authors = Callable[[UnitOfWork], AuthorRepository]


class StorageContract:
    """The unit-of-work and repository contract (see the module docstring)."""

    @pytest.fixture
    def new_uow(self) -> NewUow:
        raise NotImplementedError("provide a new_uow fixture")

    @pytest.fixture
    def notes(self) -> Notes:
        return DocumentNotes

    @pytest.fixture
    def authors(self) -> Authors:
        return DocumentAuthors

    async def _store(self, new_uow: NewUow, notes: Notes, *items: Note) -> None:
        uow = new_uow()
        async with uow:
            for note in items:
                await notes(uow).add(note)
            await uow.commit()

    async def _read(self, new_uow: NewUow, notes: Notes, note_id: str) -> Note | None:
        uow = new_uow()
        async with uow:
            return await notes(uow).get(note_id)

    # -- commit and rollback ----------------------------------------------------------------
    async def test_commit_makes_changes_visible_to_a_new_unit_of_work(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "hello", "a"))
        found = await self._read(new_uow, notes, "n1")
        assert found is not None
        assert (found.title, found.body, found.tag, found.version) == ("first", "hello", "a", 1)

    async def test_leaving_without_commit_discards_the_changes(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        uow = new_uow()
        async with uow:
            await notes(uow).add(Note("n1", "first"))
        assert await self._read(new_uow, notes, "n1") is None

    async def test_an_exception_discards_the_changes(self, new_uow: NewUow, notes: Notes) -> None:
        uow = new_uow()
        with pytest.raises(RuntimeError, match="use case failed"):
            async with uow:
                await notes(uow).add(Note("n1", "first"))
                raise RuntimeError("use case failed")
        assert await self._read(new_uow, notes, "n1") is None

    async def test_changes_are_invisible_to_others_until_commit(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "old"))
        writer = new_uow()
        async with writer:
            note = await notes(writer).get("n1")
            assert note is not None
            note.edit("new")
            assert (await self._read(new_uow, notes, "n1")).body == "old"  # type: ignore[union-attr]
            await writer.commit()
        assert (await self._read(new_uow, notes, "n1")).body == "new"  # type: ignore[union-attr]

    async def test_two_repositories_commit_together(
        self, new_uow: NewUow, notes: Notes, authors: Authors
    ) -> None:
        uow = new_uow()
        async with uow:
            await notes(uow).add(Note("n1", "first"))
            await authors(uow).add(Author("a1", "ada@example.com"))
            await uow.commit()
        check = new_uow()
        async with check:
            assert await notes(check).get("n1") is not None
            assert await authors(check).get("a1") is not None

    async def test_two_repositories_roll_back_together(
        self, new_uow: NewUow, notes: Notes, authors: Authors
    ) -> None:
        first = new_uow()
        async with first:
            await authors(first).add(Author("a0", "taken@example.com"))
            await first.commit()
        uow = new_uow()
        with pytest.raises(Conflict):
            async with uow:
                await notes(uow).add(Note("n1", "first"))
                await authors(uow).add(Author("a1", "taken@example.com"))
                await uow.commit()
        check = new_uow()
        async with check:
            assert await notes(check).get("n1") is None
            assert await authors(check).get("a1") is None

    # -- unique values and concurrency ------------------------------------------------------
    async def test_a_unique_violation_is_a_conflict(self, new_uow: NewUow, notes: Notes) -> None:
        await self._store(new_uow, notes, Note("n1", "same title"))
        with pytest.raises(Conflict):
            await self._store(new_uow, notes, Note("n2", "same title"))
        with pytest.raises(Conflict):
            await self._store(new_uow, notes, Note("n1", "other title"))  # same id
        assert await self._read(new_uow, notes, "n2") is None

    async def test_a_unique_value_is_free_again_after_a_change(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "draft"))
        uow = new_uow()
        async with uow:
            note = await notes(uow).get("n1")
            assert note is not None
            note.title = "final"
            await uow.commit()
        await self._store(new_uow, notes, Note("n2", "draft"))
        uow = new_uow()
        async with uow:
            assert (await notes(uow).by_title("draft")).id == "n2"  # type: ignore[union-attr]
            assert (await notes(uow).by_title("final")).id == "n1"  # type: ignore[union-attr]

    async def test_a_stale_update_is_a_concurrency_error(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "v0"))
        one, two = new_uow(), new_uow()
        async with one:
            first = await notes(one).get("n1")
            async with two:
                second = await notes(two).get("n1")
                assert first is not None
                assert second is not None
                first.edit("from one")
                await one.commit()
                second.edit("from two")
                with pytest.raises(ConcurrencyError):
                    await two.commit()
        stored = await self._read(new_uow, notes, "n1")
        assert stored is not None
        assert (stored.body, stored.version) == ("from one", 2)

    async def test_concurrent_updates_give_one_success_and_one_concurrency_error(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "v0"))
        loaded = asyncio.Barrier(2)

        async def edit(body: str) -> str:
            uow = new_uow()
            try:
                async with uow:
                    note = await notes(uow).get("n1")
                    assert note is not None
                    await loaded.wait()  # both have read version 1 before either writes
                    note.edit(body)
                    await uow.commit()
            except ConcurrencyError:
                return "conflict"
            return "committed"

        outcomes = await asyncio.gather(edit("a"), edit("b"))
        assert sorted(outcomes) == ["committed", "conflict"]
        stored = await self._read(new_uow, notes, "n1")
        assert stored is not None
        assert stored.version == 2

    # -- the rest of the repository ---------------------------------------------------------
    async def test_a_changed_aggregate_is_saved_with_a_new_version(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "v0"))
        for body in ("v1", "v2"):
            uow = new_uow()
            async with uow:
                note = await notes(uow).get("n1")
                assert note is not None
                note.edit(body)
                await uow.commit()
        stored = await self._read(new_uow, notes, "n1")
        assert stored is not None
        assert (stored.body, stored.version) == ("v2", 3)

    async def test_an_unchanged_aggregate_is_not_written(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first"))
        uow = new_uow()
        async with uow:
            await notes(uow).get("n1")
            await uow.commit()
        assert (await self._read(new_uow, notes, "n1")).version == 1  # type: ignore[union-attr]

    async def test_removed_aggregates_are_gone_after_commit(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", tag="x"))
        uow = new_uow()
        async with uow:
            note = await notes(uow).get("n1")
            assert note is not None
            await notes(uow).remove(note)
            assert await notes(uow).get("n1") is None
            await uow.commit()
        assert await self._read(new_uow, notes, "n1") is None
        await self._store(new_uow, notes, Note("n2", "first"))  # its unique title is free
        uow = new_uow()
        async with uow:
            assert [n.id for n in await notes(uow).tagged("x")] == []

    async def test_secondary_lookups_find_committed_aggregates(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(
            new_uow,
            notes,
            Note("n1", "one", tag="red"),
            Note("n2", "two", tag="red"),
            Note("n3", "three", tag="blue"),
        )
        uow = new_uow()
        async with uow:
            repo = notes(uow)
            assert sorted(n.id for n in await repo.tagged("red")) == ["n1", "n2"]
            assert (await repo.by_title("three")).id == "n3"  # type: ignore[union-attr]
            assert await repo.by_title("four") is None

    async def test_one_unit_of_work_returns_one_instance_per_aggregate(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "one", tag="red"))
        uow = new_uow()
        async with uow:
            repo = notes(uow)
            first = await repo.get("n1")
            assert first is not None
            assert await repo.get("n1") is first
            assert (await repo.tagged("red"))[0] is first

    async def test_domain_events_are_collected_when_the_changes_commit(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first"))
        uow = new_uow()
        async with uow:
            note = await notes(uow).get("n1")
            assert note is not None
            note.edit("x")
        assert uow.collect_events() == []  # rolled back: no events
        async with uow:
            note = await notes(uow).get("n1")
            assert note is not None
            note.edit("y")
            await uow.commit()
        assert uow.collect_events() == [NoteEdited("n1", "y")]
        assert uow.collect_events() == []

    # -- misuse -----------------------------------------------------------------------------
    async def test_nesting_a_unit_of_work_is_an_error(self, new_uow: NewUow) -> None:
        uow = new_uow()
        async with uow:
            with pytest.raises(StorageError, match="do not nest"):
                async with uow:
                    pass

    async def test_a_repository_outside_the_block_is_an_error(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        uow = new_uow()
        with pytest.raises(StorageError, match="no transaction"):
            await notes(uow).get("n1")

    async def test_after_commit_the_block_takes_no_more_changes(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        uow = new_uow()
        async with uow:
            await uow.commit()
            with pytest.raises(StorageError, match="has committed"):
                await notes(uow).add(Note("n1", "late"))

    # -- outbox and inbox -------------------------------------------------------------------
    @pytest.fixture
    def outbox(self) -> Outbox:
        raise NotImplementedError("provide an outbox fixture")

    async def test_events_of_a_commit_are_written_to_the_outbox_with_it(
        self, new_uow: NewUow, notes: Notes, outbox: Outbox
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first"))
        uow = new_uow(encode)
        async with uow:  # rolled back: nothing reaches the outbox
            note = await notes(uow).get("n1")
            assert note is not None
            note.edit("lost")
        assert (await outbox.pending())[0] == 0
        async with uow:
            note = await notes(uow).get("n1")
            assert note is not None
            note.edit("kept")
            uow.stage(NoteEdited("n9", "published explicitly"))
            await uow.commit()
        count, age = await outbox.pending()
        assert count == 2
        assert age is not None
        assert age >= 0
        claimed = await outbox.claim(owner="relay-1", limit=10, lease_seconds=30)
        assert [c.body for c in claimed] == [
            repr(NoteEdited("n1", "kept")),
            repr(NoteEdited("n9", "published explicitly")),
        ]
        assert [c.key for c in claimed] == ["n1", "n9"]

    async def test_publishing_in_a_unit_of_work_without_an_outbox_is_an_error(
        self, new_uow: NewUow
    ) -> None:
        uow = new_uow()
        async with uow:
            with pytest.raises(StorageError, match="has none"):
                uow.stage(NoteEdited("n1", "x"))

    async def test_relays_lease_entries_without_sharing_them(
        self, new_uow: NewUow, outbox: Outbox
    ) -> None:
        uow = new_uow(encode)
        async with uow:
            for n in range(5):
                uow.stage(NoteEdited(f"n{n}", "x"))
            await uow.commit()
        first = await outbox.claim(owner="a", limit=3, lease_seconds=30)
        second = await outbox.claim(owner="b", limit=3, lease_seconds=30)
        assert len(first) == 3
        assert len(second) == 2
        assert not {c.id for c in first} & {c.id for c in second}
        await outbox.release(second, error="broker down")
        again = await outbox.claim(owner="c", limit=10, lease_seconds=30)
        assert sorted(c.message_id for c in again) == sorted(c.message_id for c in second)
        assert {c.attempts for c in again} == {1}
        await outbox.mark_sent([*first, *again])
        assert await outbox.pending() == (0, None)

    async def test_relays_claiming_at_once_get_every_entry_exactly_once(
        self, new_uow: NewUow, outbox: Outbox
    ) -> None:
        uow = new_uow(encode)
        async with uow:
            for n in range(50):
                uow.stage(NoteEdited(f"n{n}", "x"))
            await uow.commit()
        owners = [f"relay-{n}" for n in range(5)]
        leased: dict[str, list[str]] = {owner: [] for owner in owners}
        while True:
            batches = await asyncio.gather(
                *(outbox.claim(owner=owner, limit=15, lease_seconds=30) for owner in owners)
            )
            if not any(batches):
                break
            for owner, batch in zip(owners, batches, strict=True):
                assert len(batch) <= 15
                leased[owner] += [c.message_id for c in batch]
        everything = [message_id for batch in leased.values() for message_id in batch]
        assert len(everything) == len(set(everything))  # no entry went to two relays
        assert sorted(everything) == sorted(f"m-n{n}-x" for n in range(50))

    async def test_an_expired_lease_is_claimed_again(self, new_uow: NewUow, outbox: Outbox) -> None:
        uow = new_uow(encode)
        async with uow:
            uow.stage(NoteEdited("n1", "x"))
            await uow.commit()
        crashed = await outbox.claim(owner="crashed", limit=10, lease_seconds=-1)
        taken_over = await outbox.claim(owner="next", limit=10, lease_seconds=30)
        assert [c.message_id for c in taken_over] == [c.message_id for c in crashed]

    async def test_the_inbox_makes_a_redelivered_message_a_no_op(
        self, new_uow: NewUow, notes: Notes
    ) -> None:
        await self._store(new_uow, notes, Note("n1", "first", "v0"))
        token = current_delivery.set(("billing", "message-1"))
        try:
            uow = new_uow()
            async with uow:
                assert not await uow.has_processed("billing", "message-1")
                note = await notes(uow).get("n1")
                assert note is not None
                note.edit("handled once")
                await uow.commit()
            async with uow:
                assert await uow.has_processed("billing", "message-1")
                note = await notes(uow).get("n1")
                assert note is not None
                note.edit("handled twice")
                with pytest.raises(AlreadyProcessed):
                    await uow.commit()
        finally:
            current_delivery.reset(token)
        stored = await self._read(new_uow, notes, "n1")
        assert stored is not None
        assert stored.body == "handled once"
        other = new_uow()
        async with other:
            assert not await other.has_processed("shipping", "message-1")  # groups are apart
