"""Recognising and masking secrets: they never reach an error message or a log line."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "is_secret_key", "mask_url", "shown"]

MASK = "********"
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pwd|secret|token|api_key|apikey|credentials?|private_key|dsn_password)$",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^:/@]*):(?P<pw>[^@/]*)@")


def is_secret_key(key: str) -> bool:
    """Whether a key's name says it holds a secret (``password``, ``api_token`` ...)."""
    return bool(_SECRET_KEY.search(key))


def mask_url(text: str) -> str:
    """``postgresql://app:s3cret@db/x`` -> ``postgresql://app:********@db/x``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def shown(key: str, value: Any, *, secret: bool = False) -> str:
    """How a value may be displayed: masked when secret, passwords in URLs hidden."""
    if secret or is_secret_key(key) or hasattr(value, "get_secret_value"):
        return f'"{MASK}"'
    if isinstance(value, str):
        return f'"{mask_url(value)}"'
    return mask_url(repr(value))
