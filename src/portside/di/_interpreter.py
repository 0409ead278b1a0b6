"""Resolution by walking the graph: the first tier, used before the graph is compiled.

A provider starts on these functions, so that building it and serving its first requests
costs no code generation. After a few resolutions the provider compiles the graph (see
:mod:`portside.di._compiler`) and switches to the generated code. Both tiers share the same
caches, cache keys and creation guards, so a scope may be served by one and then the other;
the test suite runs the container's rules against both.

Overrides always run on this tier: they are short-lived and mostly used in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._analysis import All, Const, Ref
from ._compiler import NodeFns
from ._graph import Node, ResolvedGraph
from ._markers import Lifetime
from ._registration import Kind
from ._runtime import MISSING, guarded

__all__ = ["interpret_nodes"]


@dataclass(frozen=True, slots=True)
class _Arg:
    positional: bool
    name: str
    const: Any = MISSING
    one: Node | None = None
    many: tuple[Node, ...] | None = None


def interpret_nodes(
    graph: ResolvedGraph,
    nodes: list[Node],
    *,
    keys: Mapping[int, int],
    runtimes: Mapping[int, dict[str, Any]],
    on_call: Callable[[], None] | None = None,
) -> dict[int, NodeFns]:
    """Functions that resolve ``nodes`` by walking the graph.

    ``keys`` gives every node's cache key; ``runtimes`` the helpers (see
    :func:`portside.di._runtime.runtime_helpers`) that own each singleton node's cache.
    ``on_call`` runs on every resolution that enters through a getter.
    """
    plans: dict[int, list[_Arg]] = {}
    for node in graph.nodes:
        plan = []
        for p in node.params:
            dep = p.dep
            if isinstance(dep, Const):
                plan.append(_Arg(p.positional, p.name, const=dep.value))
            elif isinstance(dep, Ref):
                plan.append(_Arg(p.positional, p.name, one=graph.by_lookup[dep.lookup][-1]))
            elif isinstance(dep, All):
                many = tuple(graph.by_lookup.get(dep.lookup, ()))
                plan.append(_Arg(p.positional, p.name, many=many))
        plans[node.index] = plan
    creators: dict[int, Callable[[Any, Any], Any]] = {}
    acreators: dict[int, Callable[[Any, Any], Any]] = {}

    def fetch(node: Node, o: Any, c: Any) -> Any:
        reg = node.reg
        if reg.kind is Kind.INSTANCE:
            return reg.target
        k = keys[node.index]
        if reg.kind is Kind.CONTEXT:
            v = o._ctx.get(k, MISSING) if o._ctx else MISSING
            return runtimes[node.index]["mc"](node, o, k) if v is MISSING else v
        if reg.lifetime is Lifetime.SINGLETON:
            rt = runtimes[node.index]
            v = rt["S"].get(k, MISSING)
            return rt["sg"](k, creators[node.index]) if v is MISSING else v
        if reg.lifetime is Lifetime.SCOPED:
            v = c.get(k, MISSING)
            return creators[node.index](o, c) if v is MISSING else v
        return creators[node.index](o, c)

    async def afetch(node: Node, o: Any, c: Any) -> Any:
        if not node.needs_async:
            return fetch(node, o, c)
        reg = node.reg
        k = keys[node.index]
        rt = runtimes[node.index]
        if reg.lifetime is Lifetime.SINGLETON:
            v = rt["S"].get(k, MISSING)
            return (await rt["asg"](k, acreators[node.index])) if v is MISSING else v
        if reg.lifetime is Lifetime.SCOPED:
            v = c.get(k, MISSING)
            return (await rt["asc"](o, c, k, acreators[node.index])) if v is MISSING else v
        return await acreators[node.index](o, c)

    def arguments(node: Node, o: Any, c: Any) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for a in plans[node.index]:
            if a.one is not None:
                value = fetch(a.one, o, c)
            elif a.many is not None:
                value = [fetch(n, o, c) for n in a.many]
            else:
                value = a.const
            if a.positional:
                args.append(value)
            else:
                kwargs[a.name] = value
        return args, kwargs

    async def aarguments(node: Node, o: Any, c: Any) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for a in plans[node.index]:
            if a.one is not None:
                value = await afetch(a.one, o, c)
            elif a.many is not None:
                value = [await afetch(n, o, c) for n in a.many]
            else:
                value = a.const
            if a.positional:
                args.append(value)
            else:
                kwargs[a.name] = value
        return args, kwargs

    def remember(node: Node, o: Any, c: Any, v: Any) -> Any:
        if node.reg.lifetime is Lifetime.SCOPED:
            c[keys[node.index]] = v
        return v

    def own(o: Any, g: Any) -> None:
        if o._fin is None:
            o._fin = [g]
        else:
            o._fin.append(g)

    def make_creator(node: Node) -> Callable[[Any, Any], Any]:
        reg = node.reg
        rt = runtimes[node.index]
        if reg.kind is Kind.INSTANCE or reg.kind is Kind.CONTEXT:
            return lambda o, c: fetch(node, o, c)
        if node.needs_async:
            return lambda o, c: rt["asyncerr"](node)

        def create(o: Any, c: Any) -> Any:
            args, kwargs = arguments(node, o, c)
            if reg.is_generator:
                g = reg.target(*args, **kwargs)
                v = next(g, MISSING)
                if v is MISSING:
                    rt["nostart"](node)
                own(o, g)
            else:
                v = reg.target(*args, **kwargs)
            return remember(node, o, c, v)

        return create

    def make_acreator(node: Node) -> Callable[[Any, Any], Any]:
        reg = node.reg
        rt = runtimes[node.index]

        async def acreate(o: Any, c: Any) -> Any:
            args, kwargs = await aarguments(node, o, c)
            if reg.is_generator:
                g = reg.target(*args, **kwargs)
                v = (await anext(g, MISSING)) if reg.is_async else next(g, MISSING)
                if v is MISSING:
                    rt["nostart"](node)
                own(o, g)
            elif reg.is_async:
                v = await reg.target(*args, **kwargs)
            else:
                v = reg.target(*args, **kwargs)
            return remember(node, o, c, v)

        return acreate

    for node in nodes:
        creators[node.index] = make_creator(node)
        if node.needs_async:
            acreators[node.index] = make_acreator(node)
    for node in graph.nodes:  # dependencies outside ``nodes`` resolve on this tier too
        if node.index not in creators:
            creators[node.index] = make_creator(node)
            if node.needs_async:
                acreators[node.index] = make_acreator(node)

    tick = on_call or (lambda: None)
    result: dict[int, NodeFns] = {}
    for node in nodes:
        result[node.index] = _getters(
            node,
            keys[node.index],
            runtimes[node.index],
            creators=creators,
            acreators=acreators,
            fetch=fetch,
            afetch=afetch,
            tick=tick,
        )
    return result


def _getters(
    node: Node,
    k: int,
    rt: dict[str, Any],
    *,
    creators: dict[int, Callable[[Any, Any], Any]],
    acreators: dict[int, Callable[[Any, Any], Any]],
    fetch: Callable[[Node, Any, Any], Any],
    afetch: Callable[[Node, Any, Any], Any],
    tick: Callable[[], None],
) -> NodeFns:
    reg = node.reg
    create = creators[node.index]
    scoped = reg.lifetime is Lifetime.SCOPED and reg.kind is not Kind.CONTEXT

    def scope_get(s: Any) -> Any:
        tick()
        if node.needs_async:
            rt["asyncerr"](node)
        if scoped:
            c = s._cache
            v = c.get(k, MISSING)
            return guarded(s, c, k, create) if v is MISSING else v
        if reg.lifetime is Lifetime.TRANSIENT and node.needs_scope:
            return guarded(s, s._cache, None, create)
        return fetch(node, s, s._cache)

    def root_get(p: Any) -> Any:
        tick()
        if node.needs_async:
            rt["asyncerr"](node)
        if node.needs_scope:
            rt["scopeerr"](node)
        return fetch(node, p, None)

    async def scope_aget(s: Any) -> Any:
        tick()
        return await afetch(node, s, s._cache)

    async def root_aget(p: Any) -> Any:
        tick()
        if node.needs_scope:
            rt["scopeerr"](node)
        return await afetch(node, p, None)

    return NodeFns(
        key=k,
        create=create,
        acreate=acreators.get(node.index),
        scope_get=scope_get,
        root_get=root_get,
        scope_aget=scope_aget if node.needs_async else None,
        root_aget=root_aget if node.needs_async else None,
    )
