"""The built container: ``ServiceProvider`` (the root) and ``Scope``."""

from __future__ import annotations

import concurrent.futures
import difflib
import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from types import GeneratorType, TracebackType
from typing import Any, Self, TypeVar

from ._compiler import NodeFns, compile_nodes
from ._errors import DIError, MissingServiceError, RegistrationError, ScopeClosedError
from ._graph import DependencyGraph, Node, ResolvedGraph
from ._interpreter import interpret_nodes
from ._markers import Lifetime
from ._registration import MISSING as NOT_GIVEN
from ._registration import Kind, Registration, describe, make_registration
from ._runtime import (
    ClosedTable,
    aclose_finalizers,
    close_finalizers,
    needs_aclose,
    runtime_helpers,
    yielded_twice,
)

__all__ = ["Override", "Scope", "ServiceProvider"]

T = TypeVar("T")

COMPILE_AFTER = 16
"""Resolutions served by the graph-walking tier before a provider compiles its graph."""

_cache_keys = itertools.count(1)  # 0 and -1 are reserved in scope caches (see _runtime)


def _lookup(service: Any, key: str | None) -> Any:
    return service if key is None else (service, key)


class _Tables:
    """Lookup -> function tables. Mutated in place by overrides, so open scopes see them."""

    __slots__ = ("raget", "rall", "rget", "saget", "sall", "sget")

    def __init__(self) -> None:
        self.sget: dict[Any, Callable[[Any], Any]] = {}
        self.rget: dict[Any, Callable[[Any], Any]] = {}
        self.saget: dict[Any, Callable[[Any], Any]] = {}
        self.raget: dict[Any, Callable[[Any], Any]] = {}
        self.sall: dict[Any, list[NodeFns]] = {}
        self.rall: dict[Any, list[NodeFns]] = {}

    def snapshot(self, lookups: set[Any]) -> list[tuple[dict[Any, Any], Any, Any]]:
        tables: tuple[dict[Any, Any], ...] = (
            self.sget,
            self.rget,
            self.saget,
            self.raget,
            self.sall,
            self.rall,
        )
        return [(t, lookup, t.get(lookup, NOT_GIVEN)) for t in tables for lookup in lookups]

    @staticmethod
    def restore(saved: list[tuple[dict[Any, Any], Any, Any]]) -> None:
        for table, lookup, value in saved:
            if value is NOT_GIVEN:
                table.pop(lookup, None)
            else:
                table[lookup] = value

    def fill(self, graph: ResolvedGraph, fns: Mapping[int, NodeFns], lookups: Any) -> None:
        for lookup in lookups:
            nodes = graph.by_lookup[lookup]
            default = fns[nodes[-1].index]
            self.sget[lookup] = default.scope_get
            self.rget[lookup] = default.root_get
            if default.scope_aget is not None and default.root_aget is not None:
                self.saget[lookup] = default.scope_aget
                self.raget[lookup] = default.root_aget
            else:
                self.saget.pop(lookup, None)
                self.raget.pop(lookup, None)
            self.sall[lookup] = [fns[n.index] for n in nodes]
            self.rall[lookup] = self.sall[lookup]


class _Resolver:
    """What a scope and the provider share: getting one, all, or awaiting."""

    __slots__ = ()

    def _unknown(self, provider: ServiceProvider, service: Any, key: str | None) -> DIError:
        lookups = [_split(lk) for lk in provider._graph.by_lookup]
        keys = sorted(k for s, k in lookups if s == service and k is not None)
        if key is not None and (keys or (service, None) in lookups):
            return MissingServiceError(
                f"{describe(service)} has no registration with key {key!r}"
                + (f"; its keys are {', '.join(map(repr, keys))}" if keys else "")
                + (
                    f"; it is registered without a key: get({describe(service)})"
                    if (service, None) in lookups
                    else ""
                ),
                service=service,
                chain=[service],
            )
        label = describe(service) if key is None else f"{describe(service)}[key={key!r}]"
        names = sorted({describe(s) for s, _ in lookups})
        close = difflib.get_close_matches(describe(service), names, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        if key is None and keys:
            hint = f"; it is registered only with keys {', '.join(map(repr, keys))}"
        return MissingServiceError(
            f"{label} is not registered{hint}\n"
            f"  suggestion: register it, e.g. services.add_scoped({describe(service)}, ...)",
            service=service,
            chain=[service],
        )


def _split(lookup: Any) -> tuple[Any, str | None]:
    if isinstance(lookup, tuple) and len(lookup) == 2 and isinstance(lookup[1], str):
        return lookup[0], lookup[1]
    return lookup, None


class Scope(_Resolver):
    """A unit of work for the container: scoped services are created once per scope.

    Use it as a context manager (``with`` or ``async with``); closing runs the clean-up of
    generator factories in reverse creation order.
    """

    __slots__ = ("__weakref__", "_cache", "_ctx", "_fin", "_lazy", "_provider", "_sget")

    _cache: dict[int, Any]
    _ctx: dict[int, Any] | None
    _fin: list[Any] | None
    _lazy: Callable[[Any], Any] | None
    _provider: ServiceProvider
    _sget: Any

    def __init__(self, provider: ServiceProvider, context: dict[int, Any] | None = None) -> None:
        _init_scope(self, provider, context)

    def get(self, service: type[T] | Callable[..., T], key: str | None = None) -> T:
        """The service registered for ``service`` (the last registration; keyed if ``key``)."""
        try:
            fn = self._sget[service if key is None else (service, key)]
        except KeyError:
            raise self._unknown(self._provider, service, key) from None
        found: T = fn(self)  # an annotation, not typing.cast: no call at run time
        return found

    async def aget(self, service: type[T] | Callable[..., T], key: str | None = None) -> T:
        """Like :meth:`get`, and also for services whose graph has async factories."""
        lookup = service if key is None else (service, key)
        fn = self._provider._tables.saget.get(lookup)
        if fn is None:
            return self.get(service, key)
        if self._sget is _CLOSED_SCOPE:
            raise ScopeClosedError("this scope is closed; create a new one to resolve services")
        found: T = await fn(self)
        return found

    def get_all(self, service: type[T] | Callable[..., T], key: str | None = None) -> list[T]:
        """Every registration of ``service``, in registration order."""
        if self._sget is _CLOSED_SCOPE:
            raise ScopeClosedError("this scope is closed; create a new one to resolve services")
        return [
            fns.scope_get(self)
            for fns in self._provider._tables.sall.get(_lookup(service, key), ())
        ]

    async def aget_all(
        self, service: type[T] | Callable[..., T], key: str | None = None
    ) -> list[T]:
        """Every registration of ``service``, awaiting async factories."""
        if self._sget is _CLOSED_SCOPE:
            raise ScopeClosedError("this scope is closed; create a new one to resolve services")
        return [
            await fns.scope_aget(self) if fns.scope_aget else fns.scope_get(self)
            for fns in self._provider._tables.sall.get(_lookup(service, key), ())
        ]

    @property
    def closed(self) -> bool:
        return self._sget is _CLOSED_SCOPE

    def close(self) -> None:
        """Run the clean-up of everything this scope created (sync generator factories)."""
        self.__exit__(None, None, None)

    async def aclose(self) -> None:
        """Run the clean-up of everything this scope created, sync and async."""
        if self._sget is _CLOSED_SCOPE:
            return
        self._sget = _CLOSED_SCOPE
        if self._fin:
            await aclose_finalizers(self._fin, "scope")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sget is _CLOSED_SCOPE:
            return
        self._sget = _CLOSED_SCOPE
        fin = self._fin
        if fin:
            # close_finalizers, written out: this runs at the end of every request.
            errors: list[Exception] | None = None
            while fin:
                g = fin.pop()
                try:
                    if type(g) is not GeneratorType:
                        raise needs_aclose(g, "scope")
                    if next(g, NOT_GIVEN) is not NOT_GIVEN:
                        raise yielded_twice(g)
                except Exception as exc:  # noqa: BLE001 - every finalizer runs
                    errors = [exc] if errors is None else [*errors, exc]
            if errors:
                raise ExceptionGroup(f"{len(errors)} error(s) while closing the scope", errors)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


_CLOSED_SCOPE = ClosedTable("scope")
_new_scope = object.__new__


def _init_scope(
    scope: Scope,
    provider: ServiceProvider,
    context: dict[int, Any] | None,
    lazy: Callable[[Any], Any] | None = None,
) -> Scope:
    scope._provider = provider
    scope._sget = provider._tables.sget
    scope._cache = {}
    scope._ctx = context
    scope._fin = None
    scope._lazy = lazy
    return scope


_CLOSED_PROVIDER = ClosedTable("provider")


class _OverlayOwner:
    """Owns the singletons created while an override is active."""

    __slots__ = ("_closed", "_ctx", "_fin")

    def __init__(self) -> None:
        self._fin: list[Any] | None = None
        self._closed = False
        self._ctx: dict[int, Any] | None = None


class ServiceProvider(_Resolver):
    """The built, validated container. Singletons live here; scopes come from here."""

    __slots__ = (
        "_calls",
        "_closed",
        "_compile_after",
        "_context_keys",
        "_ctx",
        "_done",
        "_fin",
        "_fns",
        "_graph",
        "_inflight",
        "_is_compiled",
        "_keys",
        "_lock",
        "_overrides",
        "_rget",
        "_runtimes",
        "_shared",
        "_singletons",
        "_tables",
    )

    _graph: ResolvedGraph
    _rget: Any

    def __init__(self) -> None:  # use ServiceCollection.build()
        self._closed = False
        self._ctx: dict[int, Any] | None = None
        self._fin: list[Any] | None = None
        self._lock = threading.RLock()
        self._singletons: dict[int, Any] = {}
        self._inflight: dict[int, concurrent.futures.Future[Any]] = {}
        self._tables = _Tables()
        self._overrides: list[Override] = []
        self._context_keys: dict[Any, int] = {}
        self._fns: dict[int, NodeFns] = {}
        self._keys: dict[int, int] = {}
        self._runtimes: dict[int, dict[str, Any]] = {}
        self._calls = 0
        self._compile_after: int | None = None
        # Singletons already handed out by get(), by lookup: the fast path of get().
        self._done: dict[Any, Any] = {}
        self._shared: frozenset[Any] = frozenset()
        self._is_compiled = False

    @classmethod
    def _build(
        cls, registrations: Sequence[Registration], *, compiled: bool | None
    ) -> ServiceProvider:
        self = cls()
        graph = ResolvedGraph(registrations)
        self._graph = graph
        self._keys = {n.index: next(_cache_keys) for n in graph.nodes}
        runtime = runtime_helpers(graph, self, self._lock, self._singletons, self._inflight)
        self._runtimes = dict.fromkeys(self._keys, runtime)
        if compiled:
            self._fns = compile_nodes(graph, graph.nodes, keys=self._keys, runtime=runtime)
            self._is_compiled = True
        else:
            self._compile_after = None if compiled is False else COMPILE_AFTER
            self._fns = interpret_nodes(
                graph,
                graph.nodes,
                keys=self._keys,
                runtimes=self._runtimes,
                on_call=None if compiled is False else self._tick,
            )
        self._tables.fill(graph, self._fns, graph.by_lookup)
        self._rget = self._tables.rget
        self._shared = frozenset(
            lookup
            for lookup, nodes in graph.by_lookup.items()
            if nodes[-1].reg.lifetime is Lifetime.SINGLETON and not nodes[-1].needs_async
        )
        for lookup, nodes in graph.by_lookup.items():
            if nodes[-1].reg.kind is Kind.CONTEXT:
                self._context_keys[lookup] = self._keys[nodes[-1].index]
        return self

    def _tick(self) -> None:
        """Count resolutions on the first tier; compile the graph once it is in real use."""
        self._calls += 1
        if self._calls >= (self._compile_after or 0) and not self._overrides:
            self._compile()

    def _compile(self) -> None:
        with self._lock:
            if self._compile_after is None or self._overrides or self._closed:
                return
            self._compile_after = None
            graph = self._graph
            runtime = runtime_helpers(graph, self, self._lock, self._singletons, self._inflight)
            self._fns = compile_nodes(graph, graph.nodes, keys=self._keys, runtime=runtime)
            self._tables.fill(graph, self._fns, graph.by_lookup)
            self._is_compiled = True

    @property
    def compiled(self) -> bool:
        """Whether resolution runs on generated code yet (see ``ServiceCollection.build``)."""
        return self._is_compiled

    # -- resolving --------------------------------------------------------------------------
    def get(self, service: type[T] | Callable[..., T], key: str | None = None) -> T:
        """A singleton (or a transient that needs no scope) from the root."""
        lookup = service if key is None else (service, key)
        v = self._done.get(lookup, NOT_GIVEN)
        if v is not NOT_GIVEN:
            found: T = v
            return found
        try:
            fn: Callable[[Any], Any] = self._rget[lookup]
        except KeyError:
            raise self._unknown(self, service, key) from None
        v = fn(self)
        if lookup in self._shared:
            self._done[lookup] = v
        made: T = v
        return made

    async def aget(self, service: type[T] | Callable[..., T], key: str | None = None) -> T:
        """Like :meth:`get`, and also for services whose graph has async factories."""
        lookup = _lookup(service, key)
        fn = self._tables.raget.get(lookup)
        if fn is None:
            return self.get(service, key)
        self._check_open()
        found: T = await fn(self)
        return found

    def get_all(self, service: type[T] | Callable[..., T], key: str | None = None) -> list[T]:
        """Every registration of ``service`` from the root, in registration order."""
        self._check_open()
        return [fns.root_get(self) for fns in self._tables.rall.get(_lookup(service, key), ())]

    async def aget_all(
        self, service: type[T] | Callable[..., T], key: str | None = None
    ) -> list[T]:
        """Every registration of ``service`` from the root, awaiting async factories."""
        self._check_open()
        return [
            await fns.root_aget(self) if fns.root_aget else fns.root_get(self)
            for fns in self._tables.rall.get(_lookup(service, key), ())
        ]

    def create_scope(
        self,
        context: Mapping[Any, Any] | None = None,
        lazy_context: Callable[[Any], Any] | None = None,
    ) -> Scope:
        """A new scope; ``context`` hands in the values declared with ``add_context``.

        ``lazy_context`` makes the context values not in ``context`` when first needed:
        it is called with the declared service (``(service, key)`` for a keyed one) and
        returns its value, kept for the rest of the scope, or raises ``LookupError`` if it
        has none. A value that costs something to make (the HTTP request) is then made
        only for the scopes that use it.
        """
        if self._closed:
            raise ScopeClosedError("the provider is closed; build a new one")
        if not context:
            scope = _new_scope(Scope)
            scope._provider = self
            scope._sget = self._tables.sget
            scope._cache = {}
            scope._ctx = None
            scope._fin = None
            scope._lazy = lazy_context
            return scope
        cache: dict[int, Any] = {}
        keys = self._context_keys
        for service, value in context.items():
            k = keys.get(service)
            if k is None:
                raise DIError(
                    f"{describe(service)} was handed to create_scope(context=...) but is not "
                    f"declared as a context value; declare it with "
                    f"services.add_context({describe(service)})"
                )
            cache[k] = value
        return _init_scope(_new_scope(Scope), self, cache, lazy_context)

    def has(self, service: Any, key: str | None = None) -> bool:
        """Whether ``service`` (with ``key``) is registered."""
        return _lookup(service, key) in self._graph.by_lookup

    def accepts_context(self, service: Any) -> bool:
        """Whether ``service`` is declared with ``add_context`` (so scopes take it)."""
        return service in self._context_keys

    def graph(self) -> DependencyGraph:
        """The dependency graph: every registration and its dependencies."""
        return self._graph.public()

    # -- overrides --------------------------------------------------------------------------
    def override(
        self,
        service: type[T] | Callable[..., T],
        implementation: type[T] | Callable[..., Any] | None = None,
        *,
        instance: Any = NOT_GIVEN,
        factory: Callable[..., Any] | None = None,
        key: str | None = None,
    ) -> Override:
        """Replace a registration while the returned context manager is active."""
        return Override(self, service, implementation, factory=factory, instance=instance, key=key)

    # -- closing ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ScopeClosedError("the provider is closed; build a new one")

    def close(self) -> None:
        """Run the clean-up of singletons and root transients (sync generator factories)."""
        if self._closed:
            return
        with self._lock:
            self._closed = True
        self._rget = _CLOSED_PROVIDER
        self._done.clear()
        if self._fin:
            close_finalizers(self._fin, "provider")

    async def aclose(self) -> None:
        """Run the clean-up of singletons and root transients, sync and async."""
        if self._closed:
            return
        with self._lock:
            self._closed = True
        self._rget = _CLOSED_PROVIDER
        self._done.clear()
        if self._fin:
            await aclose_finalizers(self._fin, "provider")

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ServiceProvider {len(self._graph.nodes)} registrations, {state}>"


class Override:
    """A temporary replacement of one registration in a built provider.

    While active, everything resolved that depends on the replaced service (directly or
    not) is built afresh with the replacement; singletons built that way belong to the
    override and are dropped, with their clean-up run, when it ends.
    """

    def __init__(
        self,
        provider: ServiceProvider,
        service: Any,
        implementation: Any,
        *,
        factory: Any,
        instance: Any,
        key: str | None,
    ) -> None:
        self._provider = provider
        lookup = _lookup(service, key)
        target = provider._graph.default(lookup)
        if target is None:
            raise RegistrationError(
                f"cannot override {describe(service)}"
                + (f" with key {key!r}" if key else "")
                + ": it is not registered in this provider"
            )
        if target.reg.kind is Kind.CONTEXT:
            raise RegistrationError(
                f"cannot override context value {target.label()}: hand a different value "
                "to create_scope(context=...) instead"
            )
        lifetime = Lifetime.SINGLETON if instance is not NOT_GIVEN else target.reg.lifetime
        self._reg = make_registration(
            service,
            implementation,
            factory,
            instance,
            lifetime=lifetime,
            key=key,
            module="<override>",
        )
        self._target = target
        self._saved: list[tuple[dict[Any, Any], Any, Any]] | None = None
        self._saved_state: tuple[
            ResolvedGraph, dict[int, NodeFns], dict[int, int], dict[int, dict[str, Any]]
        ]
        self._owner = _OverlayOwner()

    def __enter__(self) -> Self:
        p = self._provider
        if self._saved is not None:
            raise RegistrationError("this override is already active")
        p._check_open()
        regs = [n.reg for n in p._graph.nodes]
        regs[self._target.index] = self._reg
        graph = ResolvedGraph(regs)  # validates the graph with the replacement in place
        affected = self._dependents(graph, self._target.index)
        nodes = [n for n in graph.nodes if n.index in affected]
        overlay = runtime_helpers(graph, self._owner, p._lock, {}, {})
        keys = {i: (next(_cache_keys) if i in affected else k) for i, k in p._keys.items()}
        runtimes = {i: (overlay if i in affected else r) for i, r in p._runtimes.items()}
        fns = interpret_nodes(graph, nodes, keys=keys, runtimes=runtimes)
        lookups = {n.reg.lookup for n in nodes}
        self._saved = p._tables.snapshot(lookups)
        self._saved_state = (p._graph, p._fns, p._keys, p._runtimes)
        p._graph = graph
        p._fns = {**p._fns, **fns}
        p._keys = keys
        p._runtimes = runtimes
        p._tables.fill(graph, p._fns, lookups)
        p._done.clear()
        p._overrides.append(self)
        return self

    @staticmethod
    def _dependents(graph: ResolvedGraph, index: int) -> set[int]:
        users: dict[int, list[Node]] = {}
        for node in graph.nodes:
            for dep in node.deps:
                users.setdefault(dep.index, []).append(node)
        affected = {index}
        stack = [index]
        while stack:
            for user in users.get(stack.pop(), ()):
                if user.index not in affected:
                    affected.add(user.index)
                    stack.append(user.index)
        return affected

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        p = self._provider
        if self._saved is None:
            raise RegistrationError("this override is not active")
        if not p._overrides or p._overrides[-1] is not self:
            raise RegistrationError("overrides must end in the reverse order they started")
        p._overrides.pop()
        _Tables.restore(self._saved)
        p._graph, p._fns, p._keys, p._runtimes = self._saved_state
        p._done.clear()
        self._saved = None
        self._owner._closed = True
        if self._owner._fin:
            close_finalizers(self._owner._fin, "override")
