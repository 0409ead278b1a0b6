"""Start and stop hooks, in the manner of uber's fx.

Components register hooks while they are constructed (they receive the service's
:class:`Lifecycle` by injection), so hooks are registered in dependency order: whatever a
component depends on was built, and registered its hooks, first. Start hooks run in that
order; if one fails, the hooks already started are stopped in reverse. Stop hooks run in
reverse order, every one of them even when some fail, each bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Hook", "HookError", "Lifecycle", "StartError"]

log = logging.getLogger("portside.host")

HookFn = Callable[[], Awaitable[object] | object]


@dataclass(frozen=True, slots=True)
class Hook:
    """A start hook, a stop hook, or both (the stop hook runs only if the start hook ran)."""

    name: str
    on_start: HookFn | None = None
    on_stop: HookFn | None = None


class HookError(Exception):
    """A hook failed or timed out; ``hook`` names it."""

    def __init__(self, hook: str, phase: str, cause: BaseException | None) -> None:
        self.hook = hook
        self.phase = phase
        reason = "timed out" if isinstance(cause, TimeoutError) else f"failed: {cause!r}"
        super().__init__(f"{phase} hook {hook!r} {reason}")


class StartError(Exception):
    """Start-up failed; the hooks already started were stopped in reverse."""


def _name(fn: HookFn) -> str:
    qualname = getattr(fn, "__qualname__", None) or repr(fn)
    return str(qualname).rpartition("<locals>.")[2]


async def _call(fn: HookFn, seconds: float) -> None:
    """Run a hook within ``seconds``; sync hooks run in a worker thread."""
    async with asyncio.timeout(seconds):
        if inspect.iscoroutinefunction(fn):
            await fn()
        else:
            result = await asyncio.to_thread(fn)
            if inspect.isawaitable(result):
                await result


class Lifecycle:
    """The hooks of one service, in registration order."""

    def __init__(self, owner: str = "") -> None:
        self.owner = owner
        self._hooks: list[Hook] = []
        self._started: list[Hook] = []

    @property
    def hooks(self) -> tuple[Hook, ...]:
        return tuple(self._hooks)

    def append(
        self,
        *,
        on_start: HookFn | None = None,
        on_stop: HookFn | None = None,
        name: str | None = None,
    ) -> Hook:
        """Register a pair of hooks; the stop hook runs only if the start hook succeeded."""
        if on_start is None and on_stop is None:
            raise ValueError("a hook needs on_start, on_stop, or both")
        label = name or _name(on_start or on_stop)  # type: ignore[arg-type]
        hook = Hook(label, on_start, on_stop)
        self._hooks.append(hook)
        return hook

    def on_start(self, fn: HookFn, *, name: str | None = None) -> Hook:
        return self.append(on_start=fn, name=name)

    def on_stop(self, fn: HookFn, *, name: str | None = None) -> Hook:
        return self.append(on_stop=fn, name=name)

    async def start(self, *, hook_seconds: float, stop_seconds: float) -> None:
        """Run the start hooks in order, each within ``hook_seconds``; on a failure stop
        what started (each stop hook within ``stop_seconds``), then raise
        :class:`StartError`."""
        index = 0
        while index < len(self._hooks):  # hooks may register more hooks while starting
            hook = self._hooks[index]
            index += 1
            if hook.on_start is not None:
                try:
                    await _call(hook.on_start, hook_seconds)
                except Exception as exc:  # noqa: BLE001 - turned into StartError after rollback
                    error = HookError(hook.name, "start", exc)
                    log.error("%s; stopping %d started hook(s)", error, len(self._started))
                    failures = await self.stop(hook_seconds=stop_seconds)
                    cause: BaseException = (
                        ExceptionGroup("start-up failed", [exc, *failures]) if failures else exc
                    )
                    raise StartError(str(error)) from cause
            self._started.append(hook)

    async def stop(self, *, hook_seconds: float) -> list[HookError]:
        """Run the stop hooks of started hooks in reverse, each within ``hook_seconds``;
        every one runs, and every failure is returned."""
        failures: list[HookError] = []
        while self._started:
            hook = self._started.pop()
            if hook.on_stop is None:
                continue
            try:
                await _call(hook.on_stop, hook_seconds)
            except Exception as exc:  # noqa: BLE001 - every stop hook runs
                error = HookError(hook.name, "stop", exc)
                log.error("%s", error)
                failures.append(error)
        return failures
