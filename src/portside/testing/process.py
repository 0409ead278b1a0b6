"""Run a service in its own process, as production does (``portside run``), for end-to-end
tests: start it, wait for its start-up line, read the addresses it listens on, stop it with
a signal and collect its exit code and output.

```python
with ServiceProcess(config_path) as users:
    url = users.address("http")          # "http://127.0.0.1:40123"
    ...
assert users.returncode == 0
```

Give the configuration ``port = 0`` for every listener so parallel runs never collide;
the start-up line names the ports the service bound.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["ServiceProcess", "StartTimeout"]

_READY = re.compile(r" ready in \d+ ms · .* · (?P<addresses>.+)$")


class StartTimeout(AssertionError):  # noqa: N818 - reads as what happened
    """The service did not report ready in time (or exited); the message holds its output."""


class ServiceProcess:
    """``portside run --config <config>`` in a child process of this interpreter."""

    def __init__(
        self,
        config: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        services: int = 1,
        start_timeout: float = 30.0,
        args: Sequence[str] = (),
    ) -> None:
        self.config = Path(config)
        self.env = {**os.environ, **(env or {})}
        self.services = services
        self.start_timeout = start_timeout
        self.args = tuple(args)
        self.addresses: dict[str, str] = {}
        self.lines: list[str] = []
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    # -- starting -----------------------------------------------------------------------------
    def start(self) -> Self:
        command = [sys.executable, "-m", "portside.cli", "run", "--config", str(self.config)]
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
            [*command, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = 0
        while ready < self.services:
            line = self._next_line(self.start_timeout)
            match = _READY.search(line)
            if match is not None:
                ready += 1
                for address in match.group("addresses").split():
                    scheme = address.partition("://")[0]
                    self.addresses.setdefault(scheme, address)
        return self

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        with self._process.stdout:
            for line in self._process.stdout:
                self.lines.append(line.rstrip("\n"))
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def _next_line(self, timeout: float) -> str:
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise StartTimeout(
                f"the service did not report ready within {timeout:g} s; output:\n" + self.output
            ) from None
        if line is None:
            self.wait(timeout=5)
            raise StartTimeout(
                f"the service exited with {self.returncode} before it was ready; output:\n"
                + self.output
            )
        return line

    def address(self, scheme: str) -> str:
        """The ``scheme://host:port`` the service reported (``http``, ``grpc``)."""
        try:
            return self.addresses[scheme]
        except KeyError:
            raise KeyError(f"the service reported no {scheme} address: {self.addresses}") from None

    def host_port(self, scheme: str) -> str:
        """``host:port`` of the address, e.g. for a gRPC channel."""
        return self.address(scheme).partition("://")[2]

    # -- stopping -----------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the service process is not started")
        return self._process.pid

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit; its exit code."""
        if self._process is None:
            raise RuntimeError("the service process is not started")
        self.returncode = self._process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.returncode

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait: the exit code of a graceful stop."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
            self.returncode = self._process.returncode

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        try:
            if self._process.poll() is None:
                self.stop()
        finally:
            self.kill()
