"""The envelope's JSON form, and the envelopes the codec makes."""

import json
import re
import types
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portside.messaging import Codec, Envelope, message
from portside.messaging._codec import current_causation
from portside.observability import bind_correlation_id


@message("test.Greeted")
@dataclass(frozen=True)
class Greeted:
    name: str


def test_an_envelope_survives_its_json() -> None:
    envelope = Envelope(
        "test.Greeted",
        2,
        {"name": "Ada", "tags": ["a", "b"], "n": 10**20, "x": 1.5, "none": None},
        correlation_id="c1",
        causation_id="m0",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        key="k1",
        reply_to="_reply.x",
        headers={"tenant": "acme"},
    )
    body = envelope.to_json()
    assert Envelope.from_json(body) == envelope
    assert Envelope.from_json(body.encode()) == envelope
    assert set(json.loads(body)) == {
        "message_id",
        "type",
        "version",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "traceparent",
        "key",
        "reply_to",
        "headers",
        "payload",
    }


def test_occurred_at_is_iso_8601_with_its_offset() -> None:
    utc = Envelope("t", 1, {}, occurred_at=datetime(2026, 5, 1, 12, 30, 15, 250, tzinfo=UTC))
    written = json.loads(utc.to_json())["occurred_at"]
    assert written in ("2026-05-01T12:30:15.000250Z", "2026-05-01T12:30:15.000250+00:00")
    assert Envelope.from_json(utc.to_json()).occurred_at == utc.occurred_at
    plus_two = timezone(timedelta(hours=2))
    local = Envelope("t", 1, {}, occurred_at=datetime(2026, 5, 1, 14, 30, tzinfo=plus_two))
    assert json.loads(local.to_json())["occurred_at"] == "2026-05-01T14:30:00+02:00"
    assert Envelope.from_json(local.to_json()).occurred_at.utcoffset() == timedelta(hours=2)


def test_a_body_written_by_json_dumps_with_a_plus_zero_offset_is_read() -> None:
    """Outbox rows and dead letters written before: keys in another order, "+00:00"."""
    body = json.dumps(
        {
            "message_id": "5f1c",
            "type": "test.Greeted",
            "version": 1,
            "occurred_at": "2026-01-02T03:04:05.123456+00:00",
            "correlation_id": "c1",
            "causation_id": None,
            "traceparent": None,
            "key": "k1",
            "reply_to": None,
            "headers": {"tenant": "acme"},
            "payload": {"name": "Ada Lovelace \u00e9"},
        },
        separators=(",", ":"),
    )
    envelope = Envelope.from_json(body)
    assert envelope == Envelope(
        "test.Greeted",
        1,
        {"name": "Ada Lovelace \u00e9"},
        message_id="5f1c",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        correlation_id="c1",
        key="k1",
        headers={"tenant": "acme"},
    )
    assert envelope.occurred_at.utcoffset() == timedelta(0)


def test_fields_left_out_read_as_none_and_unknown_ones_are_dropped() -> None:
    data = json.loads(Envelope("t", 1, {"a": 1}).to_json())
    del data["traceparent"], data["reply_to"], data["headers"]
    data["to_json"] = "not a method"
    data["priority"] = 3
    envelope = Envelope.from_json(json.dumps(data))
    assert (envelope.traceparent, envelope.reply_to, dict(envelope.headers)) == (None, None, {})
    assert not hasattr(envelope, "priority")
    assert json.loads(envelope.to_json())["payload"] == {"a": 1}


def test_header_values_are_read_as_text() -> None:
    data = json.loads(Envelope("t", 1, {}).to_json())
    data["headers"] = {"attempt": 2, "urgent": True}
    assert Envelope.from_json(json.dumps(data)).headers == {"attempt": "2", "urgent": "True"}


def test_non_ascii_text_is_written_escaped_as_json_dumps_does() -> None:
    envelope = Envelope("t", 1, {"text": "caf\u00e9 \U0001f600 \u2028"}, headers={"h": "\u00fc"})
    body = envelope.to_json()
    assert body.isascii()
    assert "\\u00e9" in body
    assert "\\ud83d\\ude00" in body
    assert Envelope.from_json(body) == envelope


def test_lone_surrogates_and_other_header_mappings_still_make_json() -> None:
    headers = types.MappingProxyType({"h": "v"})
    envelope = Envelope("t", 1, {"text": "\ud800"}, headers=headers)
    body = envelope.to_json()
    assert "\\ud800" in body
    parsed = Envelope.from_json(body)
    assert parsed.payload == {"text": "\ud800"}
    assert parsed.headers == {"h": "v"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{not json", "not JSON: Expecting property name enclosed in double quotes"),
        ("", "not JSON: Expecting value"),
        ('{"a": 1} trailing', "not JSON: Extra data"),
        ("[1, 2]", "not a JSON object"),
        ("{}", "missing field 'occurred_at'"),
        ('{"occurred_at": "2026-01-02T03:04:05"}', "occurred_at has no time zone"),
        ('{"occurred_at": 5}', "fromisoformat: argument must be str"),
        ('{"occurred_at": "2026-01-02T03:04:05Z", "type": "t"}', "missing field 'version'"),
        (
            '{"occurred_at": "2026-01-02T03:04:05Z", "type": "t", "version": "two"}',
            "invalid literal for int()",
        ),
        (
            '{"occurred_at": "2026-01-02T03:04:05Z", "type": "t", "version": 1, "payload": 5}',
            "'int' object is not iterable",
        ),
        (
            (
                '{"occurred_at": "2026-01-02T03:04:05Z", "type": "t", "version": 1,'
                ' "payload": {}, "message_id": "m", "headers": ["a", "b"]}'
            ),
            "headers is not a JSON object",
        ),
    ],
)
def test_a_malformed_body_raises_value_error_saying_what_is_wrong(body: str, says: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(says)):
        Envelope.from_json(body)


def test_a_message_that_starts_a_flow_is_its_own_correlation_id() -> None:
    envelope = Codec().envelope(Greeted("Ada"))
    assert envelope.correlation_id == envelope.message_id
    assert len(envelope.message_id) == 32
    assert envelope.causation_id is None


def test_the_bound_correlation_id_wins_then_the_causes() -> None:
    codec = Codec()
    with bind_correlation_id("corr-1"):
        assert codec.envelope(Greeted("Ada")).correlation_id == "corr-1"
    cause = codec.envelope(Greeted("Ada"))
    token = current_causation.set(cause)
    try:
        caused = codec.envelope(Greeted("Grace"))
    finally:
        current_causation.reset(token)
    assert caused.correlation_id == cause.correlation_id == cause.message_id
    assert caused.causation_id == cause.message_id
    assert caused.message_id != cause.message_id


def test_the_outbox_encoder_writes_what_the_codec_envelope_holds() -> None:
    codec = Codec()
    (record,) = codec.encoder(lambda name: f"p.{name}")([Greeted("Ada")])
    envelope = Envelope.from_json(record.body)
    assert (record.message_id, record.topic, record.key) == (
        envelope.message_id,
        "p.test.Greeted",
        None,
    )
    assert codec.decode(envelope) == Greeted("Ada")


_TEXT = st.text(max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_FIELD = {
    "type": _TEXT | st.integers(),
    "version": st.integers(-2, 3) | st.floats(0, 3) | st.sampled_from(["1", True]),
    "payload": st.dictionaries(_TEXT, _JSON, max_size=3) | st.lists(st.tuples(_TEXT, _JSON)),
    "message_id": _TEXT | st.integers(),
    "occurred_at": st.sampled_from(
        ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5+02:00", "2026-01-02T03:04:05", "x", 5]
    ),
    "correlation_id": st.none() | _TEXT | st.integers(),
    "causation_id": st.none() | _TEXT,
    "traceparent": st.none() | _TEXT,
    "key": st.none() | _TEXT | st.booleans(),
    "reply_to": st.none() | _TEXT,
    "headers": st.none() | st.dictionaries(_TEXT, _TEXT | st.integers(), max_size=3) | _TEXT,
    "extra": _JSON,
}


_WELL_FORMED = {
    "type": st.just("t") | _TEXT,
    "version": st.integers(1, 3),
    "payload": st.dictionaries(_TEXT, _JSON, max_size=3),
    "message_id": _TEXT,
    "occurred_at": st.just("2026-01-02T03:04:05.000250Z"),
}


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(_WELL_FORMED),
    st.fixed_dictionaries({}, optional=_FIELD),
    st.sets(st.sampled_from(sorted(_FIELD))),
)
def test_every_body_reads_as_the_field_by_field_reader_reads_it(
    well_formed: dict[str, object], changed: dict[str, object], left_out: set[str]
) -> None:
    """The one-pass reader of well-formed bodies is only a faster way to the same result."""
    data = {k: v for k, v in {**well_formed, **changed}.items() if k not in left_out}
    body = json.dumps(data)
    try:
        expected: object = Envelope._parse(body)
    except ValueError as exc:
        expected = ("refused", str(exc))
    try:
        got: object = Envelope.from_json(body)
    except ValueError as exc:
        got = ("refused", str(exc))
    assert got == expected
