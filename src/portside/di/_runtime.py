"""Helpers the generated code calls: single-flight creation, clean-up, and errors."""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from types import GeneratorType
from typing import Any, NoReturn, Protocol

from ._errors import (
    AsyncResolutionError,
    DIError,
    LifetimeError,
    MissingContextError,
    ScopeClosedError,
)
from ._graph import Node, ResolvedGraph, chain_text

__all__ = ["MISSING", "Owner", "aclose_finalizers", "close_finalizers", "runtime_helpers"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class Owner(Protocol):
    """Something that owns clean-up: a scope, the provider, or an active override."""

    _fin: list[Any] | None
    _closed: bool
    _ctx: dict[int, Any] | None


# Creating scoped services is guarded without allocating a lock per scope: the thread that
# creates claims the scope's cache by setting key 0 to its thread id with dict.setdefault
# (atomic), re-enters freely while it holds it, and deletes the key when done. A thread
# that finds the cache claimed by another sets key -1 and waits on _WAITING; the holder
# wakes it when it releases. Key -2 holds async creations in progress (see asc; the
# generated code does the same inline).
# Cache keys of services start at 1.
_WAITING = threading.Condition(threading.Lock())
gid = _thread.get_ident


def wake(c: dict[int, Any]) -> None:
    """Release waiters of a scope cache (called by the claim holder after releasing)."""
    with _WAITING:
        c.pop(-1, None)
        _WAITING.notify_all()


def _wait(c: dict[int, Any]) -> None:
    with _WAITING:
        c[-1] = True
        if 0 in c:
            _WAITING.wait(0.05)


def guarded(s: Any, c: dict[int, Any], k: int | None, create: Callable[[Any, Any], Any]) -> Any:
    """Create (or find) a scoped service while holding the scope's claim."""
    me = gid()
    if c.get(0) == me:  # re-entered while this thread creates in this scope
        v = c.get(k, MISSING) if k is not None else MISSING
        return create(s, c) if v is MISSING else v
    while c.setdefault(0, me) != me:
        _wait(c)
    try:
        v = c.get(k, MISSING) if k is not None else MISSING
        return create(s, c) if v is MISSING else v
    finally:
        del c[0]
        if -1 in c:
            wake(c)


class ClosedTable:
    """Stands in for a closed scope's getter table: every lookup raises."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __getitem__(self, _: object) -> NoReturn:
        raise ScopeClosedError(f"this {self.what} is closed; create a new one to resolve services")

    def get(self, _: object, default: object = None) -> NoReturn:
        raise ScopeClosedError(f"this {self.what} is closed; create a new one to resolve services")


def _retry_after_cancel(future: concurrent.futures.Future[Any] | asyncio.Future[Any]) -> bool:
    """True when a waiter saw the *creator* cancelled, not itself: it should try again."""
    task = asyncio.current_task()
    return future.cancelled() and (task is None or not task.cancelling())


async def _join(waiters: list[asyncio.Future[Any]]) -> Any:
    """Wait for the creation that ``waiters`` belongs to; ``MISSING`` when its creator was
    cancelled (the caller tries again)."""
    future = asyncio.get_running_loop().create_future()
    waiters.append(future)
    try:
        return await future
    except asyncio.CancelledError:
        if _retry_after_cancel(future):
            return MISSING
        raise


def _settle(
    waiters: list[asyncio.Future[Any]], value: Any, error: BaseException | None = None
) -> None:
    """Hand a creation's value, or the exception it raised, to the tasks waiting for it."""
    for future in waiters:
        if future.done():  # its task was cancelled meanwhile
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _fail(waiters: list[asyncio.Future[Any]], error: BaseException) -> None:
    """A creation ended in ``error``: its waiters get it, or are cancelled (so they try
    again) when its creator was cancelled."""
    if isinstance(error, asyncio.CancelledError):
        for future in waiters:
            future.cancel()
    else:
        _settle(waiters, None, error)


def runtime_helpers(
    graph: ResolvedGraph,
    owner: Owner,
    lock: threading.RLock,
    singletons: dict[int, Any],
    inflight: dict[int, concurrent.futures.Future[Any]],
) -> dict[str, Any]:
    """The names generated code uses, bound to one singleton cache and its owner."""

    def sg(k: int, create: Callable[[Any, Any], Any]) -> Any:
        with lock:
            v = singletons.get(k, MISSING)
            if v is MISSING:
                if owner._closed:
                    raise ScopeClosedError("the provider is closed; build a new one")
                v = create(owner, None)
                singletons[k] = v
        return v

    async def asg(k: int, create: Callable[[Any, Any], Coroutine[Any, Any, Any]]) -> Any:
        while True:
            with lock:
                v = singletons.get(k, MISSING)
                if v is not MISSING:
                    return v
                if owner._closed:
                    raise ScopeClosedError("the provider is closed; build a new one")
                future = inflight.get(k)
                mine = future is None
                if future is None:
                    future = inflight[k] = concurrent.futures.Future()
            if not mine:
                try:
                    return await asyncio.wrap_future(future)
                except asyncio.CancelledError:
                    if _retry_after_cancel(future):
                        continue
                    raise
            try:
                v = await create(owner, None)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" noise when nobody waited
                raise
            else:
                with lock:
                    singletons[k] = v
                future.set_result(v)
                return v
            finally:
                with lock:
                    inflight.pop(k, None)

    async def asc(
        o: Any, c: dict[int, Any], k: int, create: Callable[[Any, Any], Coroutine[Any, Any, Any]]
    ) -> Any:
        while True:
            v = c.get(k, MISSING)
            if v is not MISSING:
                return v
            # The scope's creations in progress live under key -2: for each, the futures of
            # the tasks waiting for it. A creation nobody waits for allocates no future.
            pending: dict[int, list[asyncio.Future[Any]]] | None = c.get(-2)
            if pending is None:
                pending = c[-2] = {}
            waiters = pending.get(k)
            if waiters is not None:
                v = await _join(waiters)
                if v is MISSING:  # its creator was cancelled: try again
                    continue
                return v
            waiters = pending[k] = []
            try:
                v = await create(o, c)
            except BaseException as exc:
                _fail(waiters, exc)
                raise
            else:
                _settle(waiters, v)
                return v
            finally:
                del pending[k]

    def mc(node: Node, owner: Any = None, k: int = 0) -> Any:
        """A context value not handed to ``owner``: made by the scope's ``lazy_context``
        (and kept in the scope) if it has one that knows it, else an error."""
        lazy = getattr(owner, "_lazy", None)
        if lazy is not None:
            try:
                v = lazy(node.reg.lookup)
            except LookupError:
                pass
            else:
                ctx = owner._ctx
                if ctx is None:
                    ctx = owner._ctx = {}
                ctx[k] = v
                return v
        raise MissingContextError(
            f"{node.label()} is a context value (registered in module {node.reg.module!r}) "
            "and was not handed to this scope; pass it when creating the scope: "
            f"provider.create_scope(context={{{node.label()}: value}})",
            service=node.reg.service,
            chain=[node.reg.service],
        )

    def asyncerr(node: Node) -> NoReturn:
        chain = graph.async_chain(node)
        raise AsyncResolutionError(
            f"{node.label()} cannot be resolved with get(): its graph has an async factory "
            f"({chain_text(chain)}, made by {chain[-1].reg.target!r}).\n"
            f"  suggestion: use `await scope.aget({node.label()})` "
            "(or `await provider.aget(...)` for singletons)",
            service=node.reg.service,
            chain=[n.reg.service for n in chain],
        )

    def scopeerr(node: Node) -> NoReturn:
        chain = graph.scope_chain(node)
        why = (
            f"it is {chain[-1].lifetime_label}"
            if len(chain) == 1
            else f"it depends on {chain[-1].lifetime_label} {chain[-1].label()} "
            f"({chain_text(chain)})"
        )
        raise LifetimeError(
            f"{node.label()} cannot be resolved from the root provider: {why}.\n"
            "  suggestion: resolve it inside a scope: "
            f"`with provider.create_scope() as scope: scope.get({node.label()})`",
            service=node.reg.service,
            chain=[n.reg.service for n in chain],
        )

    def nostart(node: Node) -> NoReturn:
        raise DIError(
            f"the generator factory {node.reg.target!r} for {node.label()} returned without "
            "yielding a value; a generator factory must yield exactly once"
        )

    return {
        "M": MISSING,
        "gid": gid,
        "wake": wake,
        "guarded": guarded,
        "S": singletons,
        "sg": sg,
        "asg": asg,
        "asc": asc,
        "settle": _settle,
        "fail": _fail,
        "mc": mc,
        "asyncerr": asyncerr,
        "scopeerr": scopeerr,
        "nostart": nostart,
    }


def needs_aclose(gen: Any, what: str) -> DIError:
    return DIError(
        f"{gen.__qualname__} is an async generator factory and needs async clean-up: "
        f"close this {what} with `async with` or `await ....aclose()`"
    )


def yielded_twice(gen: Any) -> DIError:
    return DIError(
        f"the generator factory {gen.__qualname__} yielded more than once; "
        "a generator factory must yield exactly once"
    )


def close_finalizers(finalizers: list[Any], what: str) -> None:
    """Run sync clean-up in reverse creation order; raise every failure together."""
    errors: list[Exception] = []
    while finalizers:
        gen = finalizers.pop()
        try:
            if type(gen) is not GeneratorType:
                raise needs_aclose(gen, what)
            if next(gen, MISSING) is not MISSING:
                raise yielded_twice(gen)
        except Exception as exc:  # noqa: BLE001 - every finalizer runs; all errors are raised
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"{len(errors)} error(s) while closing the {what}", errors)


async def aclose_finalizers(finalizers: list[Any], what: str) -> None:
    """Run sync and async clean-up in reverse creation order; raise every failure together."""
    errors: list[Exception] = []
    while finalizers:
        gen = finalizers.pop()
        try:
            if type(gen) is GeneratorType:
                done = next(gen, MISSING) is MISSING
            else:
                done = await anext(gen, MISSING) is MISSING
            if not done:
                raise yielded_twice(gen)
        except Exception as exc:  # noqa: BLE001 - every finalizer runs; all errors are raised
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"{len(errors)} error(s) while closing the {what}", errors)
