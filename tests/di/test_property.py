"""Random acyclic graphs: portside shares exactly what building them by hand would share."""

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portside.di import LifetimeError, ServiceCollection

LIFETIMES = ("singleton", "scoped", "transient")


@dataclass(frozen=True)
class Spec:
    lifetimes: tuple[str, ...]
    deps: tuple[tuple[int, ...], ...]  # node i depends on nodes < i
    requests: tuple[tuple[int, ...], ...]  # per scope, the nodes asked for in order


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(1, 10))
    lifetimes = tuple(draw(st.sampled_from(LIFETIMES)) for _ in range(n))
    deps = tuple(
        tuple(draw(st.lists(st.integers(0, i - 1), max_size=4))) if i else () for i in range(n)
    )
    requests = tuple(
        tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
        for _ in range(draw(st.integers(1, 3)))
    )
    return Spec(lifetimes, deps, requests)


def make_classes(spec: Spec) -> list[type]:
    classes: list[type] = []
    for i, deps in enumerate(spec.deps):
        namespace: dict[str, Any] = {f"T{j}": classes[j] for j in set(deps)}
        params = "".join(f", d{k}: T{j}" for k, j in enumerate(deps))
        args = ", ".join(f"d{k}" for k in range(len(deps)))
        source = (
            f"def __init__(self{params}) -> None:\n    self.deps = ({args}{',' if deps else ''})\n"
        )
        exec(source, namespace)
        classes.append(type(f"N{i}", (), {"__init__": namespace["__init__"]}))
    return classes


def captive(spec: Spec) -> bool:
    """Does a singleton reach a scoped node through transients?"""

    def reaches_scoped(i: int) -> bool:
        return any(
            spec.lifetimes[j] == "scoped"
            or (spec.lifetimes[j] == "transient" and reaches_scoped(j))
            for j in spec.deps[i]
        )

    return any(lt == "singleton" and reaches_scoped(i) for i, lt in enumerate(spec.lifetimes))


class ByHand:
    """The reference: the same graph built with plain constructor calls and dicts."""

    def __init__(self, spec: Spec, classes: list[type]) -> None:
        self.spec, self.classes = spec, classes
        self.singletons: dict[int, Any] = {}

    def get(self, i: int, scope: dict[int, Any]) -> Any:
        lifetime = self.spec.lifetimes[i]
        cache = self.singletons if lifetime == "singleton" else scope
        if lifetime != "transient" and i in cache:
            return cache[i]
        value = self.classes[i](*(self.get(j, scope) for j in self.spec.deps[i]))
        if lifetime != "transient":
            cache[i] = value
        return value


def shape(roots: list[Any]) -> list[tuple[str, int]]:
    """Each object reached, in visit order, as (class name, first-seen number)."""
    seen: dict[int, int] = {}
    out: list[tuple[str, int]] = []

    def visit(obj: Any) -> None:
        new = id(obj) not in seen
        number = seen.setdefault(id(obj), len(seen))
        out.append((type(obj).__name__, number))
        if new:
            for dep in obj.deps:
                visit(dep)

    for root in roots:
        visit(root)
    return out


@settings(max_examples=300, deadline=None)
@given(specs())
def test_resolution_has_the_sharing_structure_of_building_by_hand(spec: Spec) -> None:
    classes = make_classes(spec)
    services = ServiceCollection()
    for cls, lifetime in zip(classes, spec.lifetimes, strict=True):
        getattr(services, f"add_{lifetime}")(cls)
    if captive(spec):
        with pytest.raises(LifetimeError):
            services.build()
        return
    provider = services.build()
    ours: list[Any] = []
    for requests in spec.requests:
        with provider.create_scope() as scope:
            ours.extend(scope.get(classes[i]) for i in requests)
    by_hand = ByHand(spec, classes)
    theirs: list[Any] = []
    for requests in spec.requests:
        scope_cache: dict[int, Any] = {}
        theirs.extend(by_hand.get(i, scope_cache) for i in requests)
    assert shape(ours) == shape(theirs)
