"""Log records that carry the correlation id and service name, as JSON lines or text.

:func:`configure_logging` installs one handler on the root logger. The handlers it
installs are marked, so calling it again replaces them and never touches handlers that
something else (a test runner, an application) added.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from ._correlation import get_correlation_id, get_service_name

__all__ = [
    "CorrelationFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "reset_logging",
]

_CORRELATION_ATTR = "correlation_id"
_SERVICE_ATTR = "service"

# Attributes every LogRecord has (plus those Formatter.format adds); anything else on a
# record came from ``extra=`` or a filter.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    _CORRELATION_ATTR,
    _SERVICE_ATTR,
}


def _utc_time(record: logging.LogRecord) -> datetime:
    return datetime.fromtimestamp(record.created, tz=UTC)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """Return the record's traceback text, formatting and caching it on first use.

    ``exc_info=True`` outside an ``except`` block leaves ``(None, None, None)``: no
    exception, whatever another formatter cached. A record rebuilt from a dict (as a
    socket or queue listener does) has only ``exc_text``, which is used as it is.
    """
    if record.exc_info:
        if record.exc_info[0] is None:
            return None
        if not record.exc_text:
            record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class CorrelationFilter(logging.Filter):
    """Add ``correlation_id`` and ``service`` attributes to every record; drop none.

    Values come from the context variables at the time the record is filtered and are
    ``None`` when unbound. A record that already carries one of the attributes (given
    with ``extra=``, or set by an earlier filter before the record crossed a thread)
    keeps it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the context values to *record* and let it through."""
        if not hasattr(record, _CORRELATION_ATTR):
            setattr(record, _CORRELATION_ATTR, get_correlation_id())
        if not hasattr(record, _SERVICE_ATTR):
            setattr(record, _SERVICE_ATTR, get_service_name())
        return True


class JsonFormatter(logging.Formatter):
    """Format each record as one JSON object on a single line.

    The keys ``timestamp`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``,
    ``message``, ``service`` and ``correlation_id`` are always present, ``None`` becoming
    ``null``. ``exception`` and ``exception_type`` are added when the record has exception
    info, ``stack`` when it has stack info. Attributes given with ``extra=`` follow under
    their own names; a value JSON cannot encode is written as its ``repr``, and an extra
    named like one of the fixed keys is left out.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for *record*."""
        payload = self._base_fields(record)
        payload.update(self._exception_fields(record))
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        for key, value in _extra_fields(record).items():
            payload.setdefault(key, value)
        return json.dumps(payload, allow_nan=False)

    def _base_fields(self, record: logging.LogRecord) -> dict[str, Any]:
        return {
            "timestamp": _utc_time(record).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": getattr(record, _SERVICE_ATTR, None),
            "correlation_id": getattr(record, _CORRELATION_ATTR, None),
        }

    def _exception_fields(self, record: logging.LogRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        text = _exception_text(self, record)
        if text is not None:
            fields["exception"] = text
        exc_type = record.exc_info[0] if record.exc_info else None
        if exc_type is not None:
            fields["exception_type"] = exc_type.__name__
        return fields


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return the record's non-standard attributes, made JSON-safe."""
    return {
        key: _json_safe(value) for key, value in vars(record).items() if key not in _STANDARD_ATTRS
    }


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


_RESET = "\x1b[0m"
_LEVEL_COLORS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_LEVEL_WIDTH = 5


class TextFormatter(logging.Formatter):
    """Format each record as a readable line for a terminal.

    ``2026-11-22 10:59:43.123 INFO  portside.host [users] [cid=abc123] message`` — the
    time is UTC; the service and correlation-id parts are left out when unset. Exception
    and stack text follow on the next lines. With ``color=True`` the level name is wrapped
    in ANSI colour codes; otherwise the output contains no escape codes.
    """

    def __init__(self, *, color: bool = False) -> None:
        """Create the formatter; *color* turns on ANSI colours for the level name."""
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        """Return the text for *record*, one line plus any traceback lines."""
        parts = [self._timestamp(record), self._level(record.levelname), record.name]
        service = getattr(record, _SERVICE_ATTR, None)
        if service is not None:
            parts.append(f"[{service}]")
        cid = getattr(record, _CORRELATION_ATTR, None)
        if cid is not None:
            parts.append(f"[cid={cid}]")
        parts.append(record.getMessage())
        lines = [" ".join(parts)]
        exception = _exception_text(self, record)
        if exception is not None:
            lines.append(exception)
        if record.stack_info:
            lines.append(self.formatStack(record.stack_info))
        return "\n".join(lines)

    @staticmethod
    def _timestamp(record: logging.LogRecord) -> str:
        moment = _utc_time(record)
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")

    def _level(self, name: str) -> str:
        padding = " " * (_LEVEL_WIDTH - len(name))
        code = _LEVEL_COLORS.get(name) if self.color else None
        if code is None:
            return name + padding
        return f"{code}{name}{_RESET}{padding}"


_FORMATS = ("json", "text")
_COLOR_MODES = ("always", "auto", "never")
_HANDLER_MARK = "_portside_observability_handler"

_state_lock = threading.Lock()
# Level each logger had before configure_logging changed it ("" is the root logger).
_saved_levels: dict[str, int] = {}


def configure_logging(
    *,
    level: str = "INFO",
    format: str = "text",
    levels: Mapping[str, str] | None = None,
    color: str = "auto",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send all logging through one handler on the root logger and return that handler.

    *level* is the root level and *levels* maps logger names to their own levels (level
    names are case-insensitive). *format* is ``"text"`` or ``"json"``. *color* applies to
    text: ``"auto"`` colours only when the stream is a terminal and ``NO_COLOR`` is unset,
    ``"always"`` and ``"never"`` force it. Output goes to *stream*, ``sys.stderr`` by
    default.

    Every argument is checked before anything changes; a bad one raises
    :class:`ValueError`. A previous call's handler and logger levels are undone first,
    so the configuration is always exactly the one given here.
    """
    root_level = _parse_level(level)
    logger_levels = {name: _parse_level(value, name) for name, value in (levels or {}).items()}
    target = sys.stderr if stream is None else stream
    formatter = _make_formatter(format, color, target)
    handler = logging.StreamHandler(target)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(formatter)
    with _state_lock:
        _undo_configuration()
        root = logging.getLogger()
        root.addHandler(handler)
        _set_level(root, "", root_level)
        for name, value in logger_levels.items():
            _set_level(logging.getLogger(name), name, value)
    return handler


def reset_logging() -> None:
    """Remove the handlers :func:`configure_logging` installed and restore logger levels.

    Handlers installed by anything else are left in place.
    """
    with _state_lock:
        _undo_configuration()


def _undo_configuration() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    for name, value in _saved_levels.items():
        logger = logging.getLogger(name) if name else root
        logger.setLevel(value)
    _saved_levels.clear()


def _set_level(logger: logging.Logger, name: str, value: int) -> None:
    _saved_levels.setdefault(name, logger.level)
    logger.setLevel(value)


def _parse_level(value: str, logger: str | None = None) -> int:
    known = logging.getLevelNamesMapping()
    number = known.get(value.upper())
    if number is None:
        allowed = ", ".join(sorted(known, key=lambda name: (-known[name], name)))
        target = "" if logger is None else f" for logger {logger!r}"
        message = f"invalid log level {value!r}{target}; expected one of: {allowed}"
        raise ValueError(message)
    return number


def _use_color(mode: str, stream: TextIO) -> bool:
    if mode not in _COLOR_MODES:
        allowed = ", ".join(repr(name) for name in _COLOR_MODES)
        raise ValueError(f"invalid color mode {mode!r}; expected one of: {allowed}")
    if mode == "auto":
        return not os.environ.get("NO_COLOR") and _is_terminal(stream)
    return mode == "always"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _make_formatter(name: str, color_mode: str, stream: TextIO) -> logging.Formatter:
    if name not in _FORMATS:
        allowed = ", ".join(repr(choice) for choice in _FORMATS)
        raise ValueError(f"invalid log format {name!r}; expected one of: {allowed}")
    color = _use_color(color_mode, stream)
    if name == "json":
        return JsonFormatter()
    return TextFormatter(color=color)
