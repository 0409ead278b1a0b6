"""The host: runs one or more services in one process, starts and stops them the same way.

```
config -> providers chosen per concern -> one container per service, validated
       -> start hooks (in order; roll back on failure) -> ready
SIGTERM/SIGINT -> readiness false at once, new work refused -> in-flight work drains
       (up to shutdown_timeout) -> stop hooks in reverse -> containers closed
a second signal forces the exit
```
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from portside.config import Config, ConfigError, Problem, load_config
from portside.di import ServiceCollection, ServiceProvider
from portside.observability import bind_service_name, configure_logging

from ._health import HealthCheck, HealthReport, run_checks
from ._lifecycle import Lifecycle, StartError
from ._service import Service, ServiceInfo, Startup

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_FORCED",
    "EXIT_OK",
    "Host",
    "ShuttingDown",
    "load_service",
    "run_from_config",
]

log = logging.getLogger("portside.host")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_FORCED = 130

State = Literal["created", "starting", "running", "stopping", "stopped", "failed"]


class ShuttingDown(Exception):  # noqa: N818 - reads as a state: "the host is shutting down"
    """New work is refused: the host is not running (starting, or shutting down)."""


@dataclass
class _Running:
    service: Service
    provider: ServiceProvider
    lifecycle: Lifecycle
    info: ServiceInfo


def load_service(spec: str) -> Service:
    """Import ``package.module:attribute``: a :class:`Service`, or a callable returning one."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part)
    if callable(target) and not isinstance(target, Service):
        target = target()
    if not isinstance(target, Service):
        raise TypeError(f"{spec} is a {type(target).__name__}, not a portside Service")
    return target


class Host:
    """Runs services: ``Host(config, [service]).run()`` or ``portside run``."""

    def __init__(self, config: Config | None = None, services: Iterable[Service] = ()) -> None:
        self.config = config if config is not None else load_config()
        self._services: list[Service] = []
        for service in services:
            self.add(service)
        self._running: list[_Running] = []
        self._state: State = "created"
        self._inflight = 0
        self._drained: asyncio.Event | None = None  # set by the last unit of work, once stopping
        self._stop_requested: asyncio.Event | None = None
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()
        self._signals = 0

    @classmethod
    def from_config(cls, config: Config) -> Host:
        """A host for the services listed in ``[services.<name>] app = "module:attr"``."""
        services: list[Service] = []
        problems: list[Problem] = []
        for name, table in config.services.items():
            spec = str(table["app"])
            where = str(config.origin("services", name, "app"))
            try:
                service = load_service(spec)
            except Exception as exc:  # noqa: BLE001 - reported as a configuration problem
                problems.append(
                    Problem(
                        where, f"[services.{name}] app", f"cannot load it: {exc!r}", f'"{spec}"'
                    )
                )
                continue
            if service.name != name:
                problems.append(
                    Problem(
                        where,
                        f"[services.{name}] app",
                        f"names service {service.name!r}; "
                        f"the table must be [services.{service.name}]",
                        f'"{spec}"',
                    )
                )
                continue
            services.append(service)
        if problems:
            raise ConfigError(problems, source=str(config.file))
        return cls(config, services)

    def add(self, service: Service) -> Host:
        if any(s.name == service.name for s in self._services):
            raise ValueError(f"a service named {service.name!r} is already in this host")
        self._services.append(service)
        return self

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def accepting(self) -> bool:
        """Whether new work is accepted (only while running)."""
        return self._state == "running"

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(self._services)

    @property
    def providers(self) -> dict[str, ServiceProvider]:
        """Each running service's container, by service name."""
        return {r.service.name: r.provider for r in self._running}

    def work(self) -> _Work:
        """Track one unit of in-flight work, with ``with`` or ``async with``; refused with
        :class:`ShuttingDown` unless running.

        Shutdown waits (up to ``shutdown_timeout``) for tracked work to finish.
        """
        return _Work(self)

    @property
    def in_flight(self) -> int:
        return self._inflight

    # -- health -----------------------------------------------------------------------------
    def liveness(self) -> HealthReport:
        """Whether the process is alive; never depends on external resources."""
        if self._state == "failed":
            return HealthReport("down", reason="start-up failed")
        return HealthReport("up")

    async def readiness(self) -> HealthReport:
        """Whether to send work here: running, and every registered check passes."""
        if self._state != "running":
            return HealthReport("down", reason=f"host is {self._state}")
        checks: list[HealthCheck] = []
        for running in self._running:
            checks.extend(await running.provider.aget_all(HealthCheck))
        report = await run_checks(checks, check_seconds=self.config.host.check_timeout)
        if not self.accepting:  # a stop began while the checks ran
            return HealthReport("down", report.checks, reason=f"host is {self._state}")
        return report

    # -- starting ---------------------------------------------------------------------------
    def _container(self, service: Service) -> tuple[ServiceProvider, Lifecycle, ServiceInfo]:
        settings = self.config.for_service(
            service.name, settings=service.settings, requires=service.requires
        )
        lifecycle = Lifecycle(service.name)
        info = ServiceInfo(
            service.name,
            {c: ch.provider.name for c, ch in sorted(settings.choices.items())},
            migrations=service.migrations,
        )
        collection = ServiceCollection()
        collection.add_singleton(Host, instance=self)
        collection.add_singleton(Lifecycle, instance=lifecycle)
        collection.add_singleton(ServiceInfo, instance=info)
        if settings.settings is not None:
            collection.add_singleton(type(settings.settings), instance=settings.settings)
        for choice in settings.choices.values():
            collection.add_singleton(type(choice.settings), instance=choice.settings)
            collection.add_module(choice.module())
        for module in service.modules:
            collection.add_module(module)
        return collection.build(), lifecycle, info

    async def start(self) -> None:
        """Build every service's container and run the start hooks, service by service.

        On failure everything already started is stopped in reverse and
        :class:`~portside.host.StartError` (or :class:`ConfigError`) is raised.
        """
        if self._state != "created":
            raise RuntimeError(f"the host is {self._state}; a host starts once")
        self._state = "starting"
        host = self.config.host
        try:
            for service in self._services:
                with bind_service_name(service.name):
                    began = time.perf_counter()
                    provider, lifecycle, info = self._container(service)
                    running = _Running(service, provider, lifecycle, info)
                    self._running.append(running)
                    await provider.aget_all(Startup)
                    for component in service.start:
                        await provider.aget(component)
                    await lifecycle.start(
                        hook_seconds=host.start_timeout, stop_seconds=host.stop_timeout
                    )
                    self._announce(info, time.perf_counter() - began)
        except BaseException:
            self._state = "failed"
            await self._stop_services()
            raise
        self._state = "running"
        self._started.set()

    @staticmethod
    def _announce(info: ServiceInfo, seconds: float) -> None:
        providers = " ".join(f"{c}={p}" for c, p in info.providers.items()) or "no providers"
        listening = " ".join(info.addresses) or "no listeners"
        log.info("%s ready in %.0f ms · %s · %s", info.name, seconds * 1000, providers, listening)

    # -- stopping ---------------------------------------------------------------------------
    def begin_shutdown(self) -> None:
        """Turn readiness false and refuse new work; in-flight work continues."""
        if self._state in ("running", "starting"):
            self._state = "stopping"
            self._stopping.set()
            log.info("shutting down: readiness is now false, no new work is accepted")

    async def running(self) -> None:
        """Wait until every service has started (readiness can turn true from then on)."""
        await self._started.wait()

    async def shutdown_started(self) -> None:
        """Wait until a shutdown begins (consumers stop taking new work then)."""
        await self._stopping.wait()

    async def stop(self) -> bool:
        """Drain in-flight work, run stop hooks in reverse, close containers.

        Returns whether every stop hook and clean-up succeeded.
        """
        self.begin_shutdown()
        if self._state not in ("stopping", "failed"):
            return True
        timeout = self.config.host.shutdown_timeout
        if self._inflight:
            log.info("waiting up to %g s for %d unit(s) of in-flight work", timeout, self._inflight)
            self._drained = asyncio.Event()
            try:
                async with asyncio.timeout(timeout):
                    await self._drained.wait()
            except TimeoutError:
                log.warning("%d unit(s) of work still running after %g s", self._inflight, timeout)
        clean = await self._stop_services()
        self._state = "stopped" if self._state != "failed" else "failed"
        return clean

    async def _stop_services(self) -> bool:
        clean = True
        while self._running:
            running = self._running.pop()
            with bind_service_name(running.service.name):
                failures = await running.lifecycle.stop(hook_seconds=self.config.host.stop_timeout)
                clean = clean and not failures
                try:
                    await running.provider.aclose()
                except Exception:
                    log.exception("closing the container of %s failed", running.service.name)
                    clean = False
        return clean

    # -- running ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """What a stop signal does: the first begins a graceful stop, the second forces exit."""
        self._signals += 1
        if self._signals > 1:
            log.error("second stop signal: exiting now")
            logging.shutdown()
            os._exit(EXIT_FORCED)
        self.begin_shutdown()
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def serve(self, *, handle_signals: bool = True) -> int:
        """Start, wait for a stop signal (or :meth:`request_stop`), stop; return an exit code."""
        self._stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
        try:
            try:
                await self.start()
            except (StartError, ConfigError) as exc:
                log.error("start-up failed: %s", exc)
                return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED
            await self._stop_requested.wait()
            clean = await self.stop()
            log.info("stopped%s", "" if clean else " with errors")
            return EXIT_OK if clean else EXIT_FAILED
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def run(self) -> int:
        """Run until stopped by SIGTERM or SIGINT; the process's exit code."""
        return asyncio.run(self.serve())


def run_from_config(path: str | None = None, *, services: Sequence[Service] = ()) -> int:
    """``portside run``: load the configuration, configure logging, run the services."""
    try:
        config = load_config(path)
        settings = config.logging
        configure_logging(
            level=settings.level,
            format=settings.format,
            levels=settings.levels,
            color=settings.color,
        )
        host = Host.from_config(config)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    for service in services:
        host.add(service)
    return host.run()


class _Work:
    """One unit of a host's in-flight work (see :meth:`Host.work`). A plain class rather
    than a generator-based context manager, and no event per unit: every request and call
    enters one. Only a host that is stopping waits for the count to reach zero."""

    __slots__ = ("host",)

    def __init__(self, host: Host) -> None:
        self.host = host

    def __enter__(self) -> None:
        host = self.host
        if host._state != "running":
            raise ShuttingDown(f"the host is {host._state}; no new work is accepted")
        host._inflight += 1

    def __exit__(self, *exc_info: object) -> None:
        host = self.host
        host._inflight -= 1
        if not host._inflight and host._drained is not None:
            host._drained.set()

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__()
