"""Reading a registration's dependencies from type hints, once, at build time."""

from __future__ import annotations

import builtins
import collections.abc
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from ._errors import MissingServiceError
from ._markers import service_key
from ._registration import Kind, Registration, describe

__all__ = ["All", "Const", "Missing", "Param", "Ref", "analyze"]

_SEQUENCE_ORIGINS = (list, collections.abc.Sequence)
_BUILTIN_TYPES = frozenset(v for v in vars(builtins).values() if isinstance(v, type))


@dataclass(frozen=True, slots=True)
class Ref:
    """One registration: the last one made for ``lookup``."""

    lookup: Any


@dataclass(frozen=True, slots=True)
class All:
    """Every registration for ``lookup``, in registration order (a list)."""

    lookup: Any


@dataclass(frozen=True, slots=True)
class Const:
    """A fixed value (``None`` for an optional service that is not registered)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Missing:
    """A parameter the container cannot fill."""

    wanted: Any
    reason: str


Dep = Ref | All | Const | Missing


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    positional: bool
    dep: Dep


def _lookup(tp: Any, key: str | None) -> Any:
    return tp if key is None else (tp, key)


def _callable_for_hints(reg: Registration) -> tuple[Any, bool] | None:
    """The function whose signature lists the dependencies, and whether to drop ``self``."""
    target = reg.target
    if reg.kind is Kind.CLASS:
        init = target.__init__
        if init is object.__init__:
            new = target.__new__
            if new is object.__new__:
                return None
            return new, True
        return init, True
    if inspect.isfunction(target) or inspect.ismethod(target):
        return target, False
    call = getattr(type(target), "__call__", None)  # noqa: B004 - callable objects
    if call is not None and inspect.isfunction(call):
        return call, True
    return target, False


def _hints(fn: Any, localns: dict[str, Any], owner: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, localns=localns, include_extras=True)
    except NameError as exc:
        raise MissingServiceError(
            f"cannot read the type hints of {owner}: {exc}. The name must be importable "
            "from the module that defines it (or be a registered service)"
        ) from exc
    except TypeError:  # builtins and C callables have no hints
        return {}


def _interpret(hint: Any, *, has_default: bool, by_lookup: dict[Any, Any]) -> Dep | None:
    """What to inject for a hinted parameter; ``None`` means "leave it to its default"."""
    hint, key = service_key(hint)
    lookup = _lookup(hint, key)
    if lookup in by_lookup:
        return Ref(lookup)
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is Union or origin is types.UnionType:
        present = [a for a in args if a is not type(None)]
        if len(present) == 1 and len(present) < len(args):
            inner = _lookup(present[0], key)
            if inner in by_lookup:
                return Ref(inner)
            if has_default:
                return None
            return Const(None)
    if origin in _SEQUENCE_ORIGINS and len(args) == 1:
        item = args[0]
        item_lookup = _lookup(item, key)
        if item_lookup in by_lookup:
            return All(item_lookup)
        if has_default:
            return None
        if item not in _BUILTIN_TYPES:
            return All(item_lookup)
    if has_default:
        return None
    wanted = hint if key is None else f"{describe(hint)} with Key({key!r})"
    if hint in _BUILTIN_TYPES:
        return Missing(wanted, f"a builtin type ({describe(hint)}) that is not registered")
    return Missing(wanted, "not registered")


def analyze(reg: Registration, by_lookup: dict[Any, Any], localns: dict[str, Any]) -> list[Param]:
    """The parameters of ``reg``'s constructor or factory, each with what to inject."""
    if reg.kind in (Kind.INSTANCE, Kind.CONTEXT):
        return []
    found = _callable_for_hints(reg)
    if found is None:
        return []
    fn, drop_first = found
    owner = describe(reg.target) + (".__init__" if reg.kind is Kind.CLASS else "")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature: C callables take no injected arguments
        return []
    hints = _hints(fn, localns, owner)
    parameters = list(signature.parameters.values())
    if drop_first and parameters:
        parameters = parameters[1:]
    params: list[Param] = []
    positional = True
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        has_default = p.default is not p.empty
        if p.name not in hints:
            dep: Dep | None = (
                None
                if has_default
                else Missing(None, f"parameter {p.name!r} of {owner} has no type hint")
            )
        else:
            dep = _interpret(hints[p.name], has_default=has_default, by_lookup=by_lookup)
        if dep is None:
            if p.kind is p.POSITIONAL_ONLY:
                dep = Const(p.default)  # later positional-only parameters need this slot filled
            else:
                positional = False
                continue
        params.append(Param(p.name, positional and p.kind is not p.KEYWORD_ONLY, dep))
    return params
