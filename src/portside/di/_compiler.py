"""Turning the validated graph into straight-line Python, once, at build time.

For every node the compiler writes small functions into one generated module:

``c<i>(o, c)``
    builds one value of node ``i``. ``o`` owns any clean-up (a scope, or the provider for
    singletons) and ``c`` is the scope's cache. Dependencies are fetched inline: a singleton
    is a lookup in the singleton cache, a scoped service a lookup in the scope's cache
    (built inline on a miss), a transient is built inline.
``gs<i>(s)`` / ``gr<i>(p)``
    what ``scope.get`` and ``provider.get`` call; they pick the path and guard creation.
    For a scoped node, ``gs<i>`` has a *fresh path*: in a scope that has created nothing
    yet (the first ``get`` of a request, the common case) it builds node ``i`` and every
    scoped service below it in dependency order with no cache lookups at all, then stores
    them in the cache in one step.
``ac<i>``, ``ags<i>``, ``agr<i>``
    async versions, for nodes with an async factory somewhere below them. Dependencies that
    need no ``await`` keep the synchronous code. A scoped service that awaits is built
    inline as well, inside what ``asc()`` does for one creation, written out: the
    creation is registered in the scope, so a task of the scope that comes for it meanwhile
    waits for it and gets its value or its error, and one that finds it registered by
    another task waits through ``asc()``. So a request's whole graph is one coroutine.

Nothing inspects a signature after build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._analysis import All, Const, Param, Ref
from ._graph import Node, ResolvedGraph
from ._markers import Lifetime
from ._registration import Kind

__all__ = ["NodeFns", "compile_nodes"]

INLINE_BUDGET = 24
"""Largest subtree (in constructions) written out inline in a parent's creator."""


@dataclass(slots=True)
class NodeFns:
    """What the provider needs of one compiled node."""

    key: int
    create: Callable[..., Any]
    acreate: Callable[..., Any] | None
    scope_get: Callable[[Any], Any]
    root_get: Callable[[Any], Any]
    scope_aget: Callable[[Any], Any] | None
    root_aget: Callable[[Any], Any] | None


def _built_inline(node: Node) -> bool:
    """Nodes whose construction can be written into a parent's code."""
    reg = node.reg
    return reg.kind in (Kind.CLASS, Kind.FACTORY) and reg.lifetime is not Lifetime.SINGLETON


def _is_scoped(node: Node) -> bool:
    return node.reg.lifetime is Lifetime.SCOPED and node.reg.kind is not Kind.CONTEXT


def _fresh_plan(node: Node) -> tuple[list[Node], list[Node]]:
    """The scoped services of ``node``'s subtree in dependency order (``node`` last), and
    the singletons they use (instances excepted: those are constants)."""
    order: list[Node] = []
    singletons: list[Node] = []
    seen: set[int] = {node.index}

    def visit(n: Node) -> None:
        for d in n.deps:
            if d.index in seen:
                continue
            seen.add(d.index)
            if d.reg.lifetime is Lifetime.SINGLETON:
                if d.reg.kind is not Kind.INSTANCE:
                    singletons.append(d)
            elif _built_inline(d):
                visit(d)
        if _is_scoped(n):
            order.append(n)

    visit(node)
    return order, singletons


def _async_only_through_singletons(node: Node) -> bool:
    """Whether every ``await`` in building ``node`` is the creation of a singleton: no
    service of its subtree below the singletons has an async factory."""
    seen: set[int] = set()

    def sync(n: Node) -> bool:
        if n.index in seen:
            return True
        seen.add(n.index)
        reg = n.reg
        if reg.lifetime is Lifetime.SINGLETON or reg.kind in (Kind.INSTANCE, Kind.CONTEXT):
            return True
        return _built_inline(n) and not reg.is_async and all(sync(d) for d in n.deps)

    return sync(node)


class _Emitter:
    def __init__(
        self,
        graph: ResolvedGraph,
        nodes: Sequence[Node],
        keys: Mapping[int, int],
        namespace: dict[str, Any],
    ) -> None:
        self.graph = graph
        self.compiled = {n.index for n in nodes}
        self.ns = namespace
        self.keys = keys
        self.lines: list[str] = []
        self.counter = 0
        self.sizes: dict[int, int] = {}
        self.pending: str | None = None  # the variable holding key -2's dict, where set

    # -- names ------------------------------------------------------------------------------
    def _const(self, name: str, value: Any) -> str:
        self.ns[name] = value
        return name

    def _var(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def _size(self, node: Node) -> int:
        """How many constructions inlining ``node`` writes out (shared nodes counted again)."""
        found = self.sizes.get(node.index)
        if found is None:
            found = 1 + sum(self._size(d) for d in node.deps if _built_inline(d))
            self.sizes[node.index] = found
        return found

    def _inline(self, node: Node, *, in_async: bool, fresh: bool) -> bool:
        if fresh:  # fresh code builds every node of its subtree itself, in order
            return _built_inline(node)
        if not _built_inline(node):
            return False
        return self._size(node) <= INLINE_BUDGET

    # -- fetching a dependency --------------------------------------------------------------
    def value(
        self, dep: Node, indent: str, env: dict[int, str], *, in_async: bool, fresh: bool = False
    ) -> str:
        """Emit the lines that fetch ``dep``; return the expression holding it.

        ``env`` maps the nodes already fetched in this block to their variables; ``fresh``
        code has every scoped node of its subtree in ``env`` already.
        """
        out = self.lines.append
        reg = dep.reg
        if reg.kind is Kind.INSTANCE:
            return self._const(f"I{dep.index}", reg.target)
        if dep.index in env:
            return env[dep.index]
        k = self.keys[dep.index]
        awaits = in_async and dep.needs_async
        var = self._var()
        if reg.kind is Kind.CONTEXT:
            self.ns[f"N{dep.index}"] = dep
            out(f"{indent}{var} = o._ctx.get({k}, M) if o._ctx else M")
            out(f"{indent}if {var} is M: {var} = mc(N{dep.index}, o, {k})")
        elif reg.lifetime is Lifetime.SINGLETON:
            out(f"{indent}{var} = S.get({k}, M)")
            if awaits:
                out(f"{indent}if {var} is M: {var} = await asg({k}, ac{dep.index})")
            else:
                out(f"{indent}if {var} is M: {var} = sg({k}, c{dep.index})")
        elif reg.lifetime is Lifetime.SCOPED:
            out(f"{indent}{var} = c.get({k}, M)")
            if self._inline(dep, in_async=in_async, fresh=False):
                out(f"{indent}if {var} is M:")
                if awaits:
                    self.single_flight(dep, var, indent + "    ", env)
                else:
                    self.construct(dep, var, indent + "    ", dict(env), in_async=in_async)
                    out(f"{indent}    c[{k}] = {var}")
            elif awaits:
                out(f"{indent}if {var} is M: {var} = await asc(o, c, {k}, ac{dep.index})")
            else:
                out(f"{indent}if {var} is M: {var} = c{dep.index}(o, c)")
        elif self._inline(dep, in_async=in_async, fresh=fresh):
            self.construct(dep, var, indent, env, in_async=in_async, fresh=fresh)
        elif awaits:
            out(f"{indent}{var} = await ac{dep.index}(o, c)")
        else:
            out(f"{indent}{var} = c{dep.index}(o, c)")
        if reg.lifetime is not Lifetime.TRANSIENT:
            env[dep.index] = var
        return var

    def single_flight(self, dep: Node, var: str, indent: str, env: dict[int, str]) -> None:
        """Emit what ``asc()`` does for the scoped ``dep``, written out inline: build it into
        ``var`` unless another task of the scope is building it (then wait for that one);
        tasks that come for it meanwhile get its value, or its error."""
        out = self.lines.append
        k = self.keys[dep.index]
        enclosing, waiters = self.pending, self._var()
        pending = enclosing or self._var()
        if enclosing is None:  # a creation nested in another one has the dict already
            out(f"{indent}{pending} = c.get(-2)")
            out(f"{indent}if {pending} is None: {pending} = c[-2] = {{}}")
        out(f"{indent}if {k} in {pending}: {var} = await asc(o, c, {k}, ac{dep.index})")
        out(f"{indent}else:")
        out(f"{indent}    {pending}[{k}] = {waiters} = []")
        out(f"{indent}    try:")
        self.pending = pending
        try:
            self.construct(dep, var, indent + "        ", dict(env), in_async=True)
        finally:
            self.pending = enclosing
        out(f"{indent}        c[{k}] = {var}")
        out(f"{indent}    except BaseException as e:")
        out(f"{indent}        if {waiters}: fail({waiters}, e)")
        out(f"{indent}        raise")
        out(f"{indent}    finally:")
        out(f"{indent}        del {pending}[{k}]")
        out(f"{indent}    if {waiters}: settle({waiters}, {var})")

    def argument(
        self,
        node: Node,
        j: int,
        param: Param,
        indent: str,
        env: dict[int, str],
        *,
        in_async: bool,
        fresh: bool,
    ) -> str:
        dep = param.dep
        if isinstance(dep, Const):
            return self._const(f"C{node.index}_{j}", dep.value)
        if isinstance(dep, Ref):
            target = self.graph.by_lookup[dep.lookup][-1]
            return self.value(target, indent, env, in_async=in_async, fresh=fresh)
        if isinstance(dep, All):
            items = [
                self.value(target, indent, env, in_async=in_async, fresh=fresh)
                for target in self.graph.by_lookup.get(dep.lookup, ())
            ]
            return f"[{', '.join(items)}]"
        raise AssertionError(f"unvalidated parameter {param!r}")  # pragma: no cover

    def construct(
        self,
        node: Node,
        var: str,
        indent: str,
        env: dict[int, str],
        *,
        in_async: bool,
        fresh: bool = False,
    ) -> None:
        """Emit the construction of ``node`` (not its caching) into ``var``."""
        i = node.index
        reg = node.reg
        out = self.lines.append
        args = []
        for j, param in enumerate(node.params):
            value = self.argument(node, j, param, indent, env, in_async=in_async, fresh=fresh)
            args.append(value if param.positional else f"{param.name}={value}")
        call = f"{self._const(f'T{i}', reg.target)}({', '.join(args)})"
        if reg.is_generator:
            self.ns[f"N{i}"] = node
            out(f"{indent}g = {call}")
            step = "await anext(g, M)" if reg.is_async else "next(g, M)"
            out(f"{indent}{var} = {step}")
            out(f"{indent}if {var} is M: nostart(N{i})")
            out(f"{indent}if o._fin is None: o._fin = [g]")
            out(f"{indent}else: o._fin.append(g)")
        elif reg.is_async:
            out(f"{indent}{var} = await {call}")
        else:
            out(f"{indent}{var} = {call}")

    # -- creators ---------------------------------------------------------------------------
    def creator(self, node: Node, *, in_async: bool) -> None:
        i = node.index
        reg = node.reg
        out = self.lines.append
        out(f"{'async ' if in_async else ''}def {'ac' if in_async else 'c'}{i}(o, c):")
        if reg.kind is Kind.INSTANCE:
            out(f"    return {self._const(f'I{i}', reg.target)}")
            return
        if reg.kind is Kind.CONTEXT:
            self.ns[f"N{i}"] = node
            out(f"    v = o._ctx.get({self.keys[i]}, M) if o._ctx else M")
            out(f"    return mc(N{i}, o, {self.keys[i]}) if v is M else v")
            return
        if node.needs_async and not in_async:
            self.ns[f"N{i}"] = node
            out(f"    asyncerr(N{i})")
            return
        self.construct(node, "v", "    ", {}, in_async=in_async)
        if reg.lifetime is Lifetime.SCOPED:
            out(f"    c[{self.keys[i]}] = v")
        out("    return v")

    def fresh_body(self, node: Node, indent: str) -> list[str]:
        """Lines that build ``node`` and every scoped service below it into an empty cache.

        Returns the lines of a helper (``sn<i>``) to emit after the enclosing function.
        """
        return self._fresh(node, indent, awaits=False)

    def async_fresh_body(self, node: Node, indent: str) -> list[str]:
        """The fresh path's body in ``ags<i>``, for a node that awaits nothing but
        singletons: once those exist, it builds as ``gs<i>`` does, with no ``await`` (so no
        other task can see the services half made, and no single-flight is needed); else
        it falls through to the awaiting path. Returns the lines of a helper (``asn<i>``)
        to emit after the enclosing function."""
        return self._fresh(node, indent, awaits=True)

    def _fresh(self, node: Node, indent: str, *, awaits: bool) -> list[str]:
        i = node.index
        order, singletons = _fresh_plan(node)
        out = self.lines.append
        env: dict[int, str] = {}
        if not singletons:
            self._build_fresh(node, order, env, indent)
            return []
        # The singletons this subtree needs, fetched once and then kept as one tuple. Where
        # one of them awaits its creation, the helper gives None until they all exist, and
        # the resolution falls through to the awaiting path (which creates them).
        helper_name, kept = ("asn", f"ASN{i}") if awaits else ("sn", f"SN{i}")
        names = [self._var() for _ in singletons]
        for d, name in zip(singletons, names, strict=True):
            env[d.index] = name
        self.ns[kept] = None
        out(f"{indent}t = {kept}")
        out(f"{indent}if t is None: t = {helper_name}{i}()")
        if awaits:
            out(f"{indent}if t is not None:")
            indent += "    "
        out(f"{indent}{', '.join(names)}, = t")
        self._build_fresh(node, order, env, indent)
        saved, self.lines = self.lines, []
        out = self.lines.append
        out(f"def {helper_name}{i}():")
        out(f"    global {kept}")
        if awaits:
            fetched = names
            for d, name in zip(singletons, names, strict=True):
                out(f"    {name} = S.get({self.keys[d.index]}, M)")
                out(f"    if {name} is M: return None")
        else:
            fetched = [self.value(d, "    ", {}, in_async=False) for d in singletons]
        out(f"    {kept} = ({', '.join(fetched)},)")
        out(f"    return {kept}")
        helper, self.lines = self.lines, saved
        return helper

    def _build_fresh(self, node: Node, order: list[Node], env: dict[int, str], indent: str) -> None:
        """Build ``order`` (the scoped services of ``node``'s subtree, ``node`` last) with
        ``env`` holding its singletons, store them in the cache in one step, return ``node``."""
        out = self.lines.append
        for n in order:
            var = self._var()
            self.construct(n, var, indent, env, in_async=False, fresh=True)
            env[n.index] = var
        for n in order:
            out(f"{indent}c[{self.keys[n.index]}] = {env[n.index]}")
        out(f"{indent}return {env[node.index]}")

    def fresh_path(self, node: Node, body: Callable[[Node, str], list[str]]) -> list[str]:
        """In a scope that has created nothing yet (guarded against another thread doing
        the same), the lines ``body`` writes; returns the helper lines ``body`` returned."""
        out = self.lines.append
        out("    if not c:")
        out("        me = gid()")
        out("        if c.setdefault(0, me) == me:")
        out("            o = s")
        out("            try:")
        helper = body(node, "                ")
        out("            finally:")
        out("                del c[0]")
        out("                if -1 in c: wake(c)")
        return helper

    # -- getters ----------------------------------------------------------------------------
    def getters(self, node: Node) -> None:
        i = node.index
        k = self.keys[i]
        reg = node.reg
        out = self.lines.append
        self.ns[f"N{i}"] = node
        # from a scope, synchronously
        out(f"def gs{i}(s):")
        if node.needs_async:
            out(f"    asyncerr(N{i})")
        elif reg.kind is Kind.INSTANCE:
            out(f"    return I{i}")
        elif reg.lifetime is Lifetime.SINGLETON:
            out(f"    v = S.get({k}, M)")
            out(f"    return sg({k}, c{i}) if v is M else v")
        elif reg.kind is Kind.CONTEXT:
            out(f"    v = s._ctx.get({k}, M) if s._ctx else M")
            out(f"    return mc(N{i}, s, {k}) if v is M else v")
        elif reg.lifetime is Lifetime.SCOPED:
            out("    c = s._cache")
            helper = self.fresh_path(node, self.fresh_body)
            out(f"    v = c.get({k}, M)")
            out(f"    return guarded(s, c, {k}, c{i}) if v is M else v")
            self.lines.extend(helper)
        elif node.needs_scope:
            out(f"    return guarded(s, s._cache, None, c{i})")
        else:
            out(f"    return c{i}(s, s._cache)")
        # from the root provider, synchronously
        out(f"def gr{i}(p):")
        if node.needs_async:
            out(f"    asyncerr(N{i})")
        elif node.needs_scope:
            out(f"    scopeerr(N{i})")
        elif reg.lifetime is Lifetime.TRANSIENT:
            out(f"    return c{i}(p, None)")
        else:
            out(f"    return gs{i}(p)")
        if not node.needs_async:
            return
        out(f"async def ags{i}(s):")
        if reg.lifetime is Lifetime.SINGLETON:
            out(f"    v = S.get({k}, M)")
            out(f"    return (await asg({k}, ac{i})) if v is M else v")
        elif reg.lifetime is Lifetime.SCOPED:
            out("    c = s._cache")
            async_helper: list[str] = []
            if _async_only_through_singletons(node):
                async_helper = self.fresh_path(node, self.async_fresh_body)
            out(f"    v = c.get({k}, M)")
            out("    if v is not M: return v")
            out("    o = s")
            self.single_flight(node, "v", "    ", {})
            out("    return v")
            self.lines.extend(async_helper)
        else:
            out(f"    return await ac{i}(s, s._cache)")
        out(f"async def agr{i}(p):")
        if node.needs_scope:
            out(f"    scopeerr(N{i})")
        elif reg.lifetime is Lifetime.TRANSIENT:
            out(f"    return await ac{i}(p, None)")
        else:
            out(f"    return await ags{i}(p)")


def compile_nodes(
    graph: ResolvedGraph,
    nodes: Iterable[Node],
    *,
    keys: Mapping[int, int],
    runtime: dict[str, Any],
    filename: str = "<portside.di>",
) -> dict[int, NodeFns]:
    """Generate and compile the functions of ``nodes`` (every node their code reaches).

    ``keys`` gives each node's cache key; ``runtime`` supplies the helpers the generated
    code calls (see :func:`portside.di._runtime.runtime_helpers`).
    """
    todo = list(nodes)
    namespace: dict[str, Any] = dict(runtime)
    emitter = _Emitter(graph, todo, keys, namespace)
    for node in todo:
        emitter.creator(node, in_async=False)
        if node.needs_async:
            emitter.creator(node, in_async=True)
        emitter.getters(node)
    source = "\n".join(emitter.lines) + "\n"
    exec(compile(source, filename, "exec"), namespace)
    namespace["__source__"] = source
    return {
        node.index: NodeFns(
            key=emitter.keys[node.index],
            create=namespace[f"c{node.index}"],
            acreate=namespace.get(f"ac{node.index}"),
            scope_get=namespace[f"gs{node.index}"],
            root_get=namespace[f"gr{node.index}"],
            scope_aget=namespace.get(f"ags{node.index}"),
            root_aget=namespace.get(f"agr{node.index}"),
        )
        for node in todo
    }
