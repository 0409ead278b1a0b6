"""Identifiers for correlation and for messages: unique, not secret.

A message id or a correlation id must not repeat, and nothing relies on it being hard to
guess (it is no token of authority). 128 bits from :mod:`random`'s generator meet that at
about a quarter of the cost of ``os.urandom``, a system call per id: the generator is
seeded from the operating system's entropy, and again in a child after ``fork``, so
two processes do not share a sequence.
"""

from __future__ import annotations

from random import getrandbits

__all__ = ["new_id"]


def new_id() -> str:
    """A new identifier: 128 random bits as 32 lowercase hexadecimal digits."""
    return getrandbits(128).to_bytes(16).hex()
