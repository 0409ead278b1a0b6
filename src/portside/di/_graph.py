"""The dependency graph: built once, validated before anything is constructed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._analysis import All, Missing, Param, Ref, analyze
from ._errors import CircularDependencyError, LifetimeError, MissingServiceError
from ._markers import Lifetime
from ._registration import Kind, Registration, describe

__all__ = ["DependencyGraph", "GraphNode", "Node", "ResolvedGraph", "chain_text"]


@dataclass(eq=False)
class Node:
    """A registration with its dependencies worked out."""

    reg: Registration
    index: int
    params: list[Param] = field(default_factory=list)
    deps: list[Node] = field(default_factory=list)
    needs_scope: bool = False
    needs_async: bool = False

    @property
    def lifetime_label(self) -> str:
        if self.reg.kind is Kind.CONTEXT:
            return "context"
        return str(self.reg.lifetime)

    def label(self) -> str:
        return self.reg.label()

    def step(self) -> str:
        return f"{self.label()} ({self.lifetime_label}, module {self.reg.module!r})"

    def param_nodes(self, param: Param, graph: ResolvedGraph) -> list[Node]:
        dep = param.dep
        if isinstance(dep, Ref):
            return [graph.by_lookup[dep.lookup][-1]]
        if isinstance(dep, All):
            return list(graph.by_lookup.get(dep.lookup, ()))
        return []


def chain_text(nodes: Iterable[Node], tail: str | None = None) -> str:
    labels = [n.label() for n in nodes]
    if tail is not None:
        labels.append(tail)
    return " -> ".join(labels)


def _steps(nodes: Sequence[Node]) -> str:
    return "\n".join(f"    {'-> ' if i else ''}{n.step()}" for i, n in enumerate(nodes))


class ResolvedGraph:
    """Every registration as a node, with edges; raises on the first invalid path."""

    def __init__(self, registrations: Sequence[Registration]) -> None:
        self.by_lookup: dict[Any, list[Node]] = {}
        self.nodes: list[Node] = []
        for index, reg in enumerate(registrations):
            node = Node(reg, index)
            self.nodes.append(node)
            self.by_lookup.setdefault(reg.lookup, []).append(node)
        localns = self._names(registrations)
        for node in self.nodes:
            node.params = analyze(node.reg, self.by_lookup, localns)
            seen: dict[int, Node] = {}
            for param in node.params:
                for dep in node.param_nodes(param, self):
                    seen.setdefault(id(dep), dep)
            node.deps = list(seen.values())
        self._validate()
        self._mark()

    @staticmethod
    def _names(registrations: Sequence[Registration]) -> dict[str, Any]:
        names: dict[str, Any] = {}
        for reg in registrations:
            for obj in (reg.service, reg.target):
                if isinstance(obj, type):
                    names.setdefault(obj.__name__, obj)
        return names

    def default(self, lookup: Any) -> Node | None:
        found = self.by_lookup.get(lookup)
        return found[-1] if found else None

    # -- validation -------------------------------------------------------------------------
    def _validate(self) -> None:
        dependents: set[int] = {id(d) for n in self.nodes for d in n.deps}
        roots = [n for n in self.nodes if id(n) not in dependents]
        rest = [n for n in self.nodes if id(n) in dependents]
        state: dict[int, int] = {}
        for node in roots + rest:
            if id(node) not in state:
                self._visit(node, [], state)
        for node in self.nodes:
            if node.reg.lifetime is Lifetime.SINGLETON:
                self._check_captive(node, [node])

    def _visit(self, node: Node, path: list[Node], state: dict[int, int]) -> None:
        state[id(node)] = 1
        path.append(node)
        for param in node.params:
            if isinstance(param.dep, Missing):
                raise self._missing(path, param, param.dep)
            for dep in node.param_nodes(param, self):
                seen = state.get(id(dep), 0)
                if seen == 1:
                    start = next(i for i, n in enumerate(path) if n is dep)
                    raise self._cycle([*path[start:], dep])
                if seen == 0:
                    self._visit(dep, path, state)
        path.pop()
        state[id(node)] = 2

    def _missing(self, path: list[Node], param: Param, missing: Missing) -> MissingServiceError:
        node = path[-1]
        root = path[0]
        if missing.wanted is None:
            problem = missing.reason
            tail = f"{param.name}: <no type hint>"
            advice = (
                f"annotate parameter {param.name!r} of {describe(node.reg.target)} with the "
                "service type it needs, or give it a default value"
            )
        else:
            wanted = missing.wanted if isinstance(missing.wanted, str) else describe(missing.wanted)
            problem = (
                f"{node.label()} needs {wanted} for parameter {param.name!r}, "
                f"which is {missing.reason}"
            )
            tail = wanted
            if "builtin" in missing.reason:
                advice = (
                    f"builtin values are not services: put {param.name!r} in a settings class "
                    "registered with add_singleton(Settings, instance=...), or give the "
                    "parameter a default value"
                )
            else:
                advice = (
                    f"register {wanted} (e.g. services.add_scoped({wanted}, ...)), give "
                    f"parameter {param.name!r} a default value, or annotate it "
                    f"`{wanted} | None = None`"
                )
                close = difflib.get_close_matches(
                    wanted, sorted({n.label() for n in self.nodes}), n=3, cutoff=0.6
                )
                if close:
                    advice += f"; did you mean {' or '.join(close)}?"
        message = (
            f"cannot resolve {root.label()}: {problem}.\n"
            f"  chain: {chain_text(path, tail)}\n{_steps(path)}\n"
            f"    -> {tail} (missing)\n"
            f"  suggestion: {advice}"
        )
        return MissingServiceError(
            message, service=root.reg.service, chain=[n.reg.service for n in path]
        )

    def _cycle(self, cycle: list[Node]) -> CircularDependencyError:
        message = (
            f"circular dependency: {chain_text(cycle)}\n{_steps(cycle[:-1])}\n"
            "  suggestion: break the cycle - move what both sides need into a third service, "
            "or have one side depend on a narrower port"
        )
        return CircularDependencyError(
            message, service=cycle[0].reg.service, chain=[n.reg.service for n in cycle]
        )

    def _check_captive(self, node: Node, path: list[Node]) -> None:
        for dep in path[-1].deps:
            if dep.reg.kind is Kind.CONTEXT or dep.reg.lifetime is Lifetime.SCOPED:
                chain = [*path, dep]
                what = "context value" if dep.reg.kind is Kind.CONTEXT else "scoped service"
                message = (
                    f"captive dependency: singleton {node.label()} depends on {what} "
                    f"{dep.label()}.\n  chain: {chain_text(chain)}\n{_steps(chain)}\n"
                    f"  a singleton outlives every scope, so it would keep the first scope's "
                    f"{dep.label()} forever.\n"
                    f"  suggestion: register {node.label()} as scoped (or transient), or make "
                    f"{dep.label()} a singleton if it is safe to share"
                )
                raise LifetimeError(
                    message, service=node.reg.service, chain=[n.reg.service for n in chain]
                )
            if dep.reg.lifetime is Lifetime.TRANSIENT:
                self._check_captive(node, [*path, dep])

    def _mark(self) -> None:
        done: set[int] = set()

        def visit(node: Node) -> None:
            if id(node) in done:
                return
            for dep in node.deps:
                visit(dep)
            reg = node.reg
            node.needs_async = reg.is_async or any(d.needs_async for d in node.deps)
            node.needs_scope = (
                reg.kind is Kind.CONTEXT
                or reg.lifetime is Lifetime.SCOPED
                or (reg.lifetime is Lifetime.TRANSIENT and any(d.needs_scope for d in node.deps))
            )
            done.add(id(node))

        for node in self.nodes:
            visit(node)

    def async_chain(self, node: Node) -> list[Node]:
        """The path from ``node`` to the async factory that makes it need ``aget``."""
        path = [node]
        while not path[-1].reg.is_async:
            path.append(next(d for d in path[-1].deps if d.needs_async))
        return path

    def scope_chain(self, node: Node) -> list[Node]:
        """The path from ``node`` to the scoped service or context value it needs."""
        path = [node]
        while path[-1].reg.lifetime is Lifetime.TRANSIENT and path[-1].reg.kind is not Kind.CONTEXT:
            path.append(next(d for d in path[-1].deps if d.needs_scope))
        return path

    def public(self) -> DependencyGraph:
        ids = {id(n): f"n{n.index}" for n in self.nodes}
        nodes = tuple(
            GraphNode(
                id=ids[id(n)],
                service=n.reg.service,
                key=n.reg.key,
                lifetime=n.lifetime_label,
                module=n.reg.module,
                implementation=_impl_label(n.reg),
            )
            for n in self.nodes
        )
        edges = tuple((ids[id(n)], ids[id(d)]) for n in self.nodes for d in n.deps)
        return DependencyGraph(nodes, edges)


def _impl_label(reg: Registration) -> str:
    if reg.kind is Kind.INSTANCE:
        return "instance"
    if reg.kind is Kind.CONTEXT:
        return "context"
    return describe(reg.target)


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One registration in :class:`DependencyGraph`."""

    id: str
    service: Any
    key: str | None
    lifetime: str
    module: str
    implementation: str

    @property
    def label(self) -> str:
        name = describe(self.service)
        return name if self.key is None else f"{name}[{self.key}]"


@dataclass(frozen=True, slots=True)
class DependencyGraph:
    """The registrations of a provider and who depends on whom (``edges``: from -> to)."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[str, str], ...]

    def node(self, service: Any, key: str | None = None) -> GraphNode:
        """The node ``get(service, key)`` resolves (the last registration)."""
        found = [n for n in self.nodes if n.service == service and n.key == key]
        if not found:
            raise KeyError(service)
        return found[-1]

    def dependencies(self, node: GraphNode) -> list[GraphNode]:
        by_id = {n.id: n for n in self.nodes}
        return [by_id[b] for a, b in self.edges if a == node.id]

    def to_mermaid(self) -> str:
        """A Mermaid flowchart; each node shows its service, lifetime and module."""
        lines = ["flowchart TD"]
        for n in self.nodes:
            text = f"{n.label}<br/>{n.lifetime} · {n.module}".replace('"', "'")
            lines.append(f'    {n.id}["{text}"]')
        lines.extend(f"    {a} --> {b}" for a, b in self.edges)
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """A Graphviz digraph; each node shows its service, lifetime and module."""
        lines = ["digraph services {", "    node [shape=box];"]
        for n in self.nodes:
            text = f"{n.label}\\n{n.lifetime} · {n.module}".replace('"', "'")
            lines.append(f'    {n.id} [label="{text}"];')
        lines.extend(f"    {a} -> {b};" for a, b in self.edges)
        lines.append("}")
        return "\n".join(lines) + "\n"
