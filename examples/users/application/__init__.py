"""The users use cases and the ports they need. Each use case is a class with its
dependencies in ``__init__`` and one async entry point; it returns domain objects or a
small result, never wire types."""

from .commands import (
    ModifiedAndUnregistered,
    ModifyAndUnregister,
    ModifyUser,
    RegisterUser,
    UnregisterUser,
)
from .courses import SeedCourses
from .cursor import decode_cursor, encode_cursor
from .ports import Clock, CourseRepository, Position, UserCache, UserRepository
from .queries import MAX_PAGE, GetUser, ListCourses, ListUsers, UserPage

__all__ = [
    "MAX_PAGE",
    "Clock",
    "CourseRepository",
    "GetUser",
    "ListCourses",
    "ListUsers",
    "ModifiedAndUnregistered",
    "ModifyAndUnregister",
    "ModifyUser",
    "Position",
    "RegisterUser",
    "SeedCourses",
    "UnregisterUser",
    "UserCache",
    "UserPage",
    "UserRepository",
    "decode_cursor",
    "encode_cursor",
]
