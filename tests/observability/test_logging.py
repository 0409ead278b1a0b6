"""Log formatting, the correlation filter, and configure_logging's handling of the root logger."""

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from portside.observability import (
    CorrelationFilter,
    JsonFormatter,
    TextFormatter,
    bind_correlation_id,
    bind_service_name,
    configure_logging,
    reset_logging,
)

FIXED_TIME = datetime(2026, 11, 22, 10, 59, 43, 123456, tzinfo=UTC)
FIXED_KEYS = {"timestamp", "level", "logger", "message", "service", "correlation_id"}
COLORS = {
    logging.DEBUG: "\x1b[2m",
    logging.INFO: "\x1b[32m",
    logging.WARNING: "\x1b[33m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[1;31m",
}
RESET = "\x1b[0m"

log = logging.getLogger("tests.observability.app")


class TerminalStream(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Unserialisable:
    def __repr__(self) -> str:
        return "<Unserialisable>"


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    reset_logging()
    yield
    reset_logging()


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def make_record(
    msg: str = "message",
    *,
    level: int = logging.INFO,
    name: str = "portside.host",
    exc_info: Any = None,
    **attrs: Any,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, (), exc_info)
    record.created = FIXED_TIME.timestamp()
    for key, value in attrs.items():
        setattr(record, key, value)
    return record


def raised(exc: Exception) -> Any:
    try:
        raise exc
    except type(exc):
        return sys.exc_info()


# JSON ------------------------------------------------------------------------------------


def test_json_line_has_every_fixed_key_with_its_value(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    before = datetime.now(UTC)
    with bind_service_name("users"), bind_correlation_id("abc123"):
        log.warning("hello %s, %d", "world", 7)
    after = datetime.now(UTC)

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "tests.observability.app"
    assert entry["message"] == "hello world, 7"
    assert entry["service"] == "users"
    assert entry["correlation_id"] == "abc123"
    stamp = datetime.fromisoformat(entry["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) <= stamp <= after


def test_json_keeps_unbound_keys_as_null(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info("plain")

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS
    assert entry["service"] is None
    assert entry["correlation_id"] is None
    assert '"service": null' in stream.getvalue()


def test_json_timestamp_is_utc_iso_8601_with_milliseconds() -> None:
    entry = json.loads(JsonFormatter().format(make_record()))
    assert entry["timestamp"] == "2026-11-22T10:59:43.123+00:00"
    assert datetime.fromisoformat(entry["timestamp"]) == FIXED_TIME.replace(microsecond=123000)


def test_json_includes_exception_text_and_type(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    try:
        raise ValueError("bad input")
    except ValueError:
        log.exception("failed to %s", "parse")

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS | {"exception", "exception_type"}
    assert entry["level"] == "ERROR"
    assert entry["message"] == "failed to parse"
    assert entry["exception_type"] == "ValueError"
    assert entry["exception"].startswith("Traceback (most recent call last):\n")
    assert entry["exception"].endswith("ValueError: bad input")
    assert "test_json_includes_exception_text_and_type" in entry["exception"]


def test_json_omits_exception_keys_when_exc_info_has_no_exception(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info("no exception here", exc_info=True)

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS


def test_json_uses_cached_exception_text_of_a_rebuilt_record() -> None:
    record = logging.makeLogRecord(
        {"name": "remote", "msg": "failed", "exc_text": "Traceback ...\nOSError: gone"}
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["exception"] == "Traceback ...\nOSError: gone"
    assert "exception_type" not in entry


def test_json_includes_stack_info(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info("where am I", stack_info=True)

    [entry] = json_lines(stream)
    assert entry["stack"].startswith("Stack (most recent call last):")
    assert "test_json_includes_stack_info" in entry["stack"]


def test_json_includes_extra_fields(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info(
        "order placed",
        extra={
            "order_id": 42,
            "tags": ["new", "priority"],
            "details": {"total": 9.5, "paid": True, "note": None},
            "customer": Unserialisable(),
            "ratio": float("nan"),
            "mixed": {"ok": 1, "bad": {1, 2}},
        },
    )

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS | {"order_id", "tags", "details", "customer", "ratio", "mixed"}
    assert entry["order_id"] == 42
    assert entry["tags"] == ["new", "priority"]
    assert entry["details"] == {"total": 9.5, "paid": True, "note": None}
    assert entry["customer"] == "<Unserialisable>"
    assert entry["ratio"] == "nan"
    assert entry["mixed"] == repr({"ok": 1, "bad": {1, 2}})


def test_json_fixed_keys_win_over_extra_fields_of_the_same_name(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info("real", extra={"level": "fake", "logger": "fake", "timestamp": 0})

    [entry] = json_lines(stream)
    assert set(entry) == FIXED_KEYS
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.observability.app"
    assert entry["timestamp"] != 0


def test_json_writes_one_line_per_record_even_for_multiline_messages(
    stream: io.StringIO,
) -> None:
    configure_logging(format="json", stream=stream)
    log.info("first\nsecond")
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("boom")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "first\nsecond"
    assert second["exception_type"] == "KeyError"


def test_json_formatter_without_filter_reports_null_context() -> None:
    with bind_correlation_id("abc"):
        entry = json.loads(JsonFormatter().format(make_record()))
    assert entry["correlation_id"] is None
    assert entry["service"] is None


# Text ------------------------------------------------------------------------------------


def test_text_line_with_service_and_correlation_id() -> None:
    record = make_record(service="users", correlation_id="abc123")
    assert (
        TextFormatter().format(record)
        == "2026-11-22 10:59:43.123 INFO  portside.host [users] [cid=abc123] message"
    )


def test_text_line_omits_unset_parts() -> None:
    assert TextFormatter().format(make_record(service=None, correlation_id=None)) == (
        "2026-11-22 10:59:43.123 INFO  portside.host message"
    )
    assert TextFormatter().format(make_record(correlation_id="abc")) == (
        "2026-11-22 10:59:43.123 INFO  portside.host [cid=abc] message"
    )
    assert TextFormatter().format(make_record(service="users")) == (
        "2026-11-22 10:59:43.123 INFO  portside.host [users] message"
    )


def test_text_applies_message_args() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "%s=%d", ("x", 3), None)
    record.created = FIXED_TIME.timestamp()
    assert TextFormatter().format(record) == "2026-11-22 10:59:43.123 INFO  app x=3"


def test_text_appends_exception_on_following_lines() -> None:
    record = make_record(level=logging.ERROR, exc_info=raised(ValueError("bad input")))
    lines = TextFormatter().format(record).splitlines()
    assert lines[0] == "2026-11-22 10:59:43.123 ERROR portside.host message"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad input"


@pytest.mark.parametrize(
    ("level", "label"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO "),
        (logging.WARNING, "WARNING"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "CRITICAL"),
    ],
)
def test_text_without_color_has_no_escape_codes(level: int, label: str) -> None:
    record = make_record(level=level, exc_info=raised(RuntimeError("x")), service="users")
    text = TextFormatter(color=False).format(record)
    assert "\x1b" not in text
    assert text.splitlines()[0] == f"2026-11-22 10:59:43.123 {label} portside.host [users] message"


@pytest.mark.parametrize("level", sorted(COLORS))
def test_text_with_color_wraps_the_level_name(level: int) -> None:
    name = logging.getLevelName(level)
    padding = " " * max(0, 5 - len(name))
    text = TextFormatter(color=True).format(make_record(level=level, correlation_id="c1"))
    label = f"{COLORS[level]}{name}{RESET}{padding}"
    assert text == f"2026-11-22 10:59:43.123 {label} portside.host [cid=c1] message"
    assert text.count("\x1b") == 2


def test_text_with_color_leaves_unknown_levels_plain() -> None:
    text = TextFormatter(color=True).format(make_record(level=25))
    assert "\x1b" not in text
    assert "Level 25 portside.host message" in text


# CorrelationFilter -------------------------------------------------------------------------


def test_filter_adds_none_when_nothing_is_bound() -> None:
    record = make_record()
    assert CorrelationFilter().filter(record) is True
    assert vars(record)["correlation_id"] is None
    assert vars(record)["service"] is None


def test_filter_adds_bound_values_and_never_drops() -> None:
    record = make_record(level=logging.DEBUG)
    with bind_service_name("users"), bind_correlation_id("abc"):
        assert CorrelationFilter().filter(record) is True
    assert vars(record)["correlation_id"] == "abc"
    assert vars(record)["service"] == "users"


def test_filter_keeps_values_already_on_the_record() -> None:
    record = make_record(correlation_id="explicit", service="given")
    with bind_service_name("users"), bind_correlation_id("abc"):
        CorrelationFilter().filter(record)
    assert vars(record)["correlation_id"] == "explicit"
    assert vars(record)["service"] == "given"


# configure_logging ---------------------------------------------------------------------------


def test_configure_returns_the_handler_it_installed(stream: io.StringIO) -> None:
    handler = configure_logging(format="json", stream=stream)
    assert handler in logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is stream
    assert isinstance(handler.formatter, JsonFormatter)
    assert any(isinstance(f, CorrelationFilter) for f in handler.filters)


def test_configure_writes_to_stderr_by_default() -> None:
    handler = configure_logging()
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is sys.stderr
    assert isinstance(handler.formatter, TextFormatter)


def test_configure_text_output_carries_context(stream: io.StringIO) -> None:
    configure_logging(format="text", color="never", stream=stream)
    log.info("outside")
    with bind_service_name("users"), bind_correlation_id("abc123"):
        log.info("inside %s", "block")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO  tests.observability.app outside")
    assert lines[1].endswith(" INFO  tests.observability.app [users] [cid=abc123] inside block")


def test_configure_sets_the_root_level(stream: io.StringIO) -> None:
    configure_logging(level="warning", format="json", stream=stream)
    assert logging.getLogger().level == logging.WARNING
    log.info("dropped")
    log.warning("kept")
    assert [entry["message"] for entry in json_lines(stream)] == ["kept"]


def test_configure_sets_per_logger_levels(stream: io.StringIO) -> None:
    configure_logging(
        level="INFO",
        format="json",
        levels={"tests.observability.noisy": "ERROR", "tests.observability.chatty": "debug"},
        stream=stream,
    )
    noisy = logging.getLogger("tests.observability.noisy")
    noisy.warning("noisy warning")
    noisy.error("noisy error")
    logging.getLogger("tests.observability.noisy.child").warning("child warning")
    logging.getLogger("tests.observability.chatty").debug("chatty debug")
    log.debug("app debug")
    log.info("app info")

    assert [(e["logger"], e["message"]) for e in json_lines(stream)] == [
        ("tests.observability.noisy", "noisy error"),
        ("tests.observability.chatty", "chatty debug"),
        ("tests.observability.app", "app info"),
    ]


def test_configuring_twice_does_not_duplicate_output(stream: io.StringIO) -> None:
    first_stream = io.StringIO()
    first = configure_logging(format="json", stream=first_stream)
    second = configure_logging(format="json", stream=stream)
    log.info("once")

    assert first not in logging.getLogger().handlers
    assert second in logging.getLogger().handlers
    assert first_stream.getvalue() == ""
    assert [entry["message"] for entry in json_lines(stream)] == ["once"]


def test_reconfiguring_replaces_previous_logger_levels(stream: io.StringIO) -> None:
    quiet = logging.getLogger("tests.observability.quiet")
    configure_logging(levels={"tests.observability.quiet": "ERROR"}, stream=stream)
    assert quiet.level == logging.ERROR
    configure_logging(stream=stream)
    assert quiet.level == logging.NOTSET


def test_configure_and_reset_leave_other_handlers_alone(stream: io.StringIO) -> None:
    other_stream = io.StringIO()
    other = logging.StreamHandler(other_stream)
    root = logging.getLogger()
    root.addHandler(other)
    try:
        configure_logging(format="json", stream=stream)
        configure_logging(format="json", stream=stream)
        log.info("seen by both")
        reset_logging()
        assert other in root.handlers
    finally:
        root.removeHandler(other)
    assert other_stream.getvalue() == "seen by both\n"
    assert len(json_lines(stream)) == 1


def test_reset_removes_the_handler_and_restores_levels(stream: io.StringIO) -> None:
    root = logging.getLogger()
    named = logging.getLogger("tests.observability.restored")
    named.setLevel(logging.CRITICAL)
    try:
        root_before = root.level
        handler = configure_logging(
            level="DEBUG", levels={"tests.observability.restored": "INFO"}, stream=stream
        )
        assert (root.level, named.level) == (logging.DEBUG, logging.INFO)

        reset_logging()
        assert handler not in root.handlers
        assert (root.level, named.level) == (root_before, logging.CRITICAL)
        log.warning("after reset")
        assert stream.getvalue() == ""
    finally:
        named.setLevel(logging.NOTSET)


def test_reset_without_configuration_is_harmless() -> None:
    handlers = list(logging.getLogger().handlers)
    reset_logging()
    reset_logging()
    assert logging.getLogger().handlers == handlers


def test_records_carry_the_correlation_id_only_inside_the_block(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    log.info("before")
    with bind_correlation_id("abc") as bound:
        log.info("inside")
        with bind_correlation_id() as generated:
            log.info("nested")
        log.info("inside again")
    log.info("after")

    assert bound == "abc"
    assert [(e["message"], e["correlation_id"]) for e in json_lines(stream)] == [
        ("before", None),
        ("inside", "abc"),
        ("nested", generated),
        ("inside again", "abc"),
        ("after", None),
    ]


def test_records_carry_the_service_name(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    with bind_service_name("users"):
        log.info("from users")
    with bind_service_name("orders"):
        log.info("from orders")
    log.info("from host")

    assert [(e["message"], e["service"]) for e in json_lines(stream)] == [
        ("from users", "users"),
        ("from orders", "orders"),
        ("from host", None),
    ]


def test_explicit_extra_correlation_id_wins_over_the_context(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    with bind_correlation_id("ctx"):
        log.info("explicit", extra={"correlation_id": "given"})

    [entry] = json_lines(stream)
    assert entry["correlation_id"] == "given"


async def test_records_from_concurrent_tasks_carry_their_own_ids(stream: io.StringIO) -> None:
    configure_logging(format="json", stream=stream)
    both_bound = asyncio.Barrier(2)

    async def handle(service: str, request_id: str) -> None:
        with bind_service_name(service), bind_correlation_id(request_id):
            await both_bound.wait()
            log.info("handled %s", request_id)

    await asyncio.gather(handle("users", "r1"), handle("orders", "r2"))
    log.info("done")

    entries = {e["message"]: (e["service"], e["correlation_id"]) for e in json_lines(stream)}
    assert entries == {
        "handled r1": ("users", "r1"),
        "handled r2": ("orders", "r2"),
        "done": (None, None),
    }


@pytest.mark.parametrize(
    ("mode", "stream_type", "no_color", "colored"),
    [
        ("always", io.StringIO, None, True),
        ("never", TerminalStream, None, False),
        ("auto", io.StringIO, None, False),
        ("auto", TerminalStream, None, True),
        ("auto", TerminalStream, "1", False),
        ("always", TerminalStream, "1", True),
    ],
)
def test_color_modes(
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    stream_type: type[io.StringIO],
    no_color: str | None,
    colored: bool,  # noqa: FBT001 - parametrized expectation
) -> None:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    out = stream_type()
    configure_logging(format="text", color=mode, stream=out)
    log.info("hello")

    text = out.getvalue()
    assert text.endswith("tests.observability.app hello\n")
    assert (f"{COLORS[logging.INFO]}INFO{RESET}" in text) is colored
    assert ("\x1b" in text) is colored


def test_invalid_format_raises_and_keeps_the_current_setup(stream: io.StringIO) -> None:
    handler = configure_logging(format="json", stream=stream)
    with pytest.raises(ValueError, match="'xml'") as caught:
        configure_logging(format="xml", stream=io.StringIO())
    assert "'json'" in str(caught.value)
    assert "'text'" in str(caught.value)
    assert handler in logging.getLogger().handlers
    log.info("still here")
    assert [e["message"] for e in json_lines(stream)] == ["still here"]


def test_invalid_level_names_the_value_and_the_allowed_ones(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match="'LOUD'") as caught:
        configure_logging(level="LOUD", stream=stream)
    message = str(caught.value)
    for allowed in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
        assert allowed in message
    assert not any(getattr(h, "stream", None) is stream for h in logging.getLogger().handlers)


def test_invalid_per_logger_level_names_the_logger(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match=r"'verbose' for logger 'tests\.observability\.x'"):
        configure_logging(levels={"tests.observability.x": "verbose"}, stream=stream)
    assert logging.getLogger("tests.observability.x").level == logging.NOTSET


def test_invalid_color_mode_raises(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match="'sometimes'") as caught:
        configure_logging(color="sometimes", stream=stream)
    assert "'auto'" in str(caught.value)
