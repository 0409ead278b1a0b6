"""`portside dlq list|show|redrive` against a real broker (Redis Streams)."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from portside.messaging import Bus, RetryPolicy
from portside.messaging.redis import RedisTransport
from portside.testing.messaging import NoteWritten, Seen, eventually

from ..conftest import require_server

URL = "redis://127.0.0.1:6379/0"
APPS = Path(__file__).resolve().parent / "apps"


async def portside(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(APPS)}
    env.pop("PORTSIDE_CONFIG", None)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "portside.cli", "dlq", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.redis
async def test_dead_letters_are_listed_shown_and_redriven(tmp_path: Path) -> None:
    require_server("Redis", "127.0.0.1", 6379)
    namespace = f"t{uuid.uuid4().hex[:12]}"
    (tmp_path / "portside.toml").write_text(
        f'[messaging]\nprovider = "redis"\nnamespace = "{namespace}"\n'
        '[services.dlqsvc]\napp = "dlq_app:service"\n'
    )
    transport = RedisTransport(URL, namespace=namespace)
    await transport.start()
    bus = Bus(transport, retry=RetryPolicy(max_attempts=1))
    healthy = False
    handled = Seen()

    async def handle(event: NoteWritten) -> None:
        if not healthy:
            raise ValueError("price missing")
        await handled.add(event.note_id)

    try:
        await bus.subscribe(NoteWritten, handle, group="billing")
        await bus.publish(NoteWritten("n1", "t", "a"))

        async def dead() -> bool:
            return bool(await transport.dead_letters())

        await eventually(dead)
        (letter,) = await transport.dead_letters()

        listed = await portside("list", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert f"dlqsvc\t{letter.id}\tbilling\tcontract.NoteWritten\tattempts=1" in listed.stdout
        assert "ValueError: price missing" in listed.stdout

        shown = await portside("show", letter.id, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        detail = json.loads(shown.stdout)
        assert detail["message"]["payload"]["note_id"] == "n1"
        assert "price missing" in detail["reason"]

        healthy = True
        redriven = await portside("redrive", "--all", cwd=tmp_path)
        assert redriven.returncode == 0, redriven.stderr
        assert "dlqsvc: redriven 1" in redriven.stdout
        assert await handled.wait_for(1) == ["n1"]
        assert await transport.dead_letters() == []
    finally:
        await bus.close(drain_seconds=1)
        await transport.close()
        client = Redis.from_url(URL)
        keys = [key async for key in client.scan_iter(f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
