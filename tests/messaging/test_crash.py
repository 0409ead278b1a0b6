"""A consumer killed with SIGKILL in the middle of 2,000 events and restarted: at the end
every event's effect is present exactly once (RabbitMQ redelivers what was not
acknowledged; the inbox skips what had already committed)."""

import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from portside.messaging import Bus
from portside.messaging.rabbitmq import RabbitTransport
from portside.testing.messaging import eventually, note

from ..conftest import require_server

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
APPS = Path(__file__).resolve().parent / "apps"
EVENTS = 2000


def consumer(env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(APPS / "crash_consumer.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    process.stdout.close()  # nothing more is read from it
    assert line == "consuming"
    return process


def effects(database: Path) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return [row[0] for row in connection.execute("SELECT note_id FROM effects")]
        except sqlite3.OperationalError:
            return []


@pytest.mark.rabbitmq
async def test_a_killed_consumer_restarts_and_every_effect_is_present_exactly_once(
    tmp_path: Path,
) -> None:
    require_server("RabbitMQ", "127.0.0.1", 5672)
    exchange = f"t{uuid.uuid4().hex[:12]}"
    database = tmp_path / "effects.db"
    env = {
        **os.environ,
        "CRASH_DB": str(database),
        "CRASH_AMQP": AMQP,
        "CRASH_EXCHANGE": exchange,
        "PYTHONPATH": os.pathsep.join([str(APPS), os.environ.get("PYTHONPATH", "")]),
    }
    first = consumer(env)  # declares its queue before anything is published
    publisher = RabbitTransport(AMQP, exchange=exchange)
    await publisher.start()
    bus = Bus(publisher)
    try:
        for n in range(EVENTS):
            await bus.publish(note(n))

        async def some_done() -> bool:
            return len(effects(database)) >= EVENTS // 5

        await eventually(some_done, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        done_at_kill = len(effects(database))
        assert done_at_kill < EVENTS, "the consumer finished before it could be killed"
        second = consumer(env)
        try:

            async def all_done() -> bool:
                return len(set(effects(database))) == EVENTS

            await eventually(all_done, timeout=300)
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(30)
    finally:
        await publisher.delete_namespace([publisher.queue_name("contract.NoteWritten", "recorder")])
        await publisher.close()
        first.kill()
    recorded = effects(database)
    assert len(recorded) == EVENTS, f"{len(recorded) - EVENTS} effect(s) applied twice"
    assert sorted(recorded) == sorted(f"n{n}" for n in range(EVENTS))
