"""Use cases for courses."""

from __future__ import annotations

from collections.abc import Iterable

from portside.errors import FieldViolation
from portside.storage import Conflict, UnitOfWork
from users.domain import Course
from users.domain.rules import clean_name, raise_if

from .ports import CourseRepository

__all__ = ["SeedCourses"]


class SeedCourses:
    """Make sure courses with these names exist; running it again adds nothing."""

    def __init__(self, uow: UnitOfWork, courses: CourseRepository) -> None:
        self.uow, self.courses = uow, courses

    async def __call__(self, names: Iterable[str]) -> list[Course]:
        """The courses it added (none when every name existed)."""
        violations: list[FieldViolation] = []
        cleaned = [clean_name(n, violations, f"names.{i}") for i, n in enumerate(names)]
        wanted = list(dict.fromkeys(cleaned))
        raise_if(violations)
        try:
            return await self._add_missing(wanted)
        except Conflict:
            # Another instance seeded at the same moment and took a name first; a second
            # pass sees its courses and adds only what is still missing.
            return await self._add_missing(wanted)

    async def _add_missing(self, wanted: list[str]) -> list[Course]:
        async with self.uow:
            existing = {course.name for course in await self.courses.list()}
            added = [Course.create(name) for name in wanted if name not in existing]
            for course in added:
                await self.courses.add(course)
            await self.uow.commit()
        return added
