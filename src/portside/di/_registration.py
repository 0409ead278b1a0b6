"""One registration: a service, how to make it, and for how long it lives."""

from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass, field
from typing import Any

from ._errors import RegistrationError
from ._markers import Lifetime

__all__ = ["MISSING", "Kind", "Registration", "check_service", "describe", "make_registration"]


class Kind(enum.Enum):
    CLASS = "class"
    FACTORY = "factory"
    INSTANCE = "instance"
    CONTEXT = "context"


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(eq=False, slots=True)
class Registration:
    service: Any
    key: str | None
    lifetime: Lifetime
    kind: Kind
    target: Any
    module: str
    is_async: bool = False
    is_generator: bool = False
    origin: str = field(default="")

    @property
    def lookup(self) -> Any:
        """The key under which ``get`` finds this registration."""
        return self.service if self.key is None else (self.service, self.key)

    def label(self) -> str:
        name = describe(self.service)
        return name if self.key is None else f"{name}[key={self.key!r}]"


def describe(tp: Any) -> str:
    """A short readable name for a type or callable (no ``<locals>`` noise)."""
    if isinstance(tp, type) or (callable(tp) and not hasattr(tp, "__origin__")):
        name = getattr(tp, "__qualname__", None)
        if isinstance(name, str):
            return name.rpartition("<locals>.")[2]
    return repr(tp).replace("typing.", "").replace("collections.abc.", "")


def describe_service(service: Any, key: str | None = None) -> str:
    """``service`` as error messages name it, with its key when it has one."""
    return describe(service) if key is None else f"{describe(service)} with key {key!r}"


def _is_protocol(tp: type) -> bool:
    return bool(getattr(tp, "_is_protocol", False))


def _check_implementation(service: Any, implementation: Any) -> None:
    if not isinstance(implementation, type):
        if not callable(implementation):
            raise RegistrationError(
                f"cannot register {describe(service)}: the implementation {implementation!r} "
                "is neither a class nor a callable"
            )
        return
    if inspect.isabstract(implementation) or _is_protocol(implementation):
        raise RegistrationError(
            f"cannot register {describe(service)}: {describe(implementation)} is abstract "
            "(a Protocol or an ABC with abstract methods) and cannot be constructed; "
            "give a concrete implementation class or a factory"
        )
    if isinstance(service, type) and not _is_protocol(service):
        try:
            compatible = issubclass(implementation, service)
        except TypeError:  # service types that refuse issubclass checks
            compatible = True
        if not compatible:
            raise RegistrationError(
                f"cannot register {describe(service)} with implementation "
                f"{describe(implementation)}: it is not a subclass of {describe(service)}; "
                "register a subclass, or use factory= for a callable that returns one"
            )


def check_service(service: Any) -> None:
    if service is None or isinstance(service, str | int | float | bool):
        raise RegistrationError(
            f"the service must be a type (a class, Protocol or generic alias), got {service!r}"
        )


def _callable_flavour(fn: Any) -> tuple[bool, bool]:
    """(is_async, is_generator) of a factory."""
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    if inspect.isasyncgenfunction(target):
        return True, True
    if inspect.isgeneratorfunction(target):
        return False, True
    if inspect.iscoroutinefunction(target):
        return True, False
    return False, False


def make_registration(
    service: Any,
    implementation: Any,
    factory: Any,
    instance: Any,
    *,
    lifetime: Lifetime,
    key: str | None,
    module: str,
) -> Registration:
    check_service(service)
    if key is not None and (not isinstance(key, str) or not key):
        raise RegistrationError(
            f"cannot register {describe(service)}: key must be a non-empty string, got {key!r}"
        )
    given = [
        name
        for name, value in (
            ("implementation", implementation),
            ("factory", factory),
            ("instance", instance),
        )
        if value is not (MISSING if name == "instance" else None)
    ]
    if len(given) > 1:
        raise RegistrationError(
            f"cannot register {describe(service)}: give at most one of implementation, factory "
            f"and instance (got {', '.join(given)})"
        )
    if instance is not MISSING:
        if lifetime is not Lifetime.SINGLETON:
            raise RegistrationError(
                f"cannot register {describe(service)} with instance= as {lifetime}: an instance "
                "is shared by everyone, so only add_singleton(..., instance=...) accepts one; "
                "use factory= to make a new value per scope or per request"
            )
        if isinstance(service, type) and not _is_protocol(service):
            try:
                matches = isinstance(instance, service)
            except TypeError:  # service types that refuse isinstance checks
                matches = True
            if not matches:
                raise RegistrationError(
                    f"cannot register {describe(service)} with this instance: it is a "
                    f"{describe(type(instance))}, not a {describe(service)}"
                )
        return Registration(service, key, lifetime, Kind.INSTANCE, instance, module)
    if factory is not None:
        if not callable(factory) or isinstance(factory, type):
            raise RegistrationError(
                f"cannot register {describe(service)}: factory= takes a function "
                f"(plain, async, generator or async generator), got {factory!r}; "
                "pass a class as the implementation instead"
            )
        is_async, is_gen = _callable_flavour(factory)
        return Registration(service, key, lifetime, Kind.FACTORY, factory, module, is_async, is_gen)
    target = service if implementation is None else implementation
    if not isinstance(service, type) and implementation is None:
        raise RegistrationError(
            f"cannot register {describe(service)} without an implementation: it is not a class; "
            "give an implementation class or factory="
        )
    _check_implementation(service, target)
    if isinstance(target, type):
        return Registration(service, key, lifetime, Kind.CLASS, target, module)
    is_async, is_gen = _callable_flavour(target)
    return Registration(service, key, lifetime, Kind.FACTORY, target, module, is_async, is_gen)
