"""The users domain: entities, their rules and their events. It knows no framework,
database or broker: it uses portside's ports (``Aggregate``), its ``Invalid`` error and the
``message`` decorator only."""

from .course import Course
from .events import UserModified, UserRegistered, UserUnregistered
from .rules import DEPARTMENT_MAX, NAME_MAX
from .user import User

__all__ = [
    "DEPARTMENT_MAX",
    "NAME_MAX",
    "Course",
    "User",
    "UserModified",
    "UserRegistered",
    "UserUnregistered",
]
