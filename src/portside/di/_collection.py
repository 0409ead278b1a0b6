"""Registering services: ``ServiceCollection`` and ``Module`` share one set of ``add_*`` methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ._errors import RegistrationError
from ._markers import Lifetime
from ._registration import MISSING, Kind, Registration, check_service, make_registration

if TYPE_CHECKING:
    from ._provider import ServiceProvider

__all__ = ["Module", "ServiceCollection"]

T = TypeVar("T")

ROOT_MODULE = "root"


class _Registrar:
    """The ``add_*`` methods shared by :class:`ServiceCollection` and :class:`Module`."""

    _module_name: str

    def __init__(self) -> None:
        self._registrations: list[Registration] = []
        self._module_names: set[str] = set()

    @property
    def registrations(self) -> list[Registration]:
        """Every registration so far, in order (a copy)."""
        return list(self._registrations)

    def _add(
        self,
        lifetime: Lifetime,
        service: Any,
        implementation: Any,
        *,
        factory: Any,
        instance: Any,
        key: str | None,
    ) -> Self:
        self._registrations.append(
            make_registration(
                service,
                implementation,
                factory,
                instance,
                lifetime=lifetime,
                key=key,
                module=self._module_name,
            )
        )
        return self

    def add_singleton(
        self,
        service: type[T] | Callable[..., T],
        implementation: type[T] | Callable[..., Any] | None = None,
        *,
        factory: Callable[..., Any] | None = None,
        instance: Any = MISSING,
        key: str | None = None,
    ) -> Self:
        """Register ``service``, created once per provider and shared by every scope."""
        return self._add(
            Lifetime.SINGLETON, service, implementation, factory=factory, instance=instance, key=key
        )

    def add_scoped(
        self,
        service: type[T] | Callable[..., T],
        implementation: type[T] | Callable[..., Any] | None = None,
        *,
        factory: Callable[..., Any] | None = None,
        key: str | None = None,
    ) -> Self:
        """Register ``service``, created once per scope."""
        return self._add(
            Lifetime.SCOPED, service, implementation, factory=factory, instance=MISSING, key=key
        )

    def add_transient(
        self,
        service: type[T] | Callable[..., T],
        implementation: type[T] | Callable[..., Any] | None = None,
        *,
        factory: Callable[..., Any] | None = None,
        key: str | None = None,
    ) -> Self:
        """Register ``service``, created anew every time it is needed."""
        return self._add(
            Lifetime.TRANSIENT, service, implementation, factory=factory, instance=MISSING, key=key
        )

    def add_context(self, service: type[T] | Callable[..., T], *, key: str | None = None) -> Self:
        """Declare a value handed in when a scope is created: ``create_scope(context={T: v})``."""
        check_service(service)
        self._registrations.append(
            Registration(service, key, Lifetime.SCOPED, Kind.CONTEXT, None, self._module_name)
        )
        return self

    def add_module(self, module: Module) -> Self:
        """Add every registration of ``module``, remembering which module made each."""
        if not isinstance(module, Module):
            raise RegistrationError(f"add_module takes a Module, got {module!r}")
        if module is self:
            raise RegistrationError(f"module {module.name!r} cannot be added to itself")
        if module.name in self._module_names:
            raise RegistrationError(
                f"module {module.name!r} was already added; a module's registrations are "
                "added once (give distinct modules distinct names)"
            )
        self._module_names.add(module.name)
        self._module_names.update(module._module_names)
        self._registrations.extend(module._registrations)
        return self


class Module(_Registrar):
    """A named group of registrations, added to a collection with ``add_module``.

    ``Module("users")`` has the same ``add_*`` methods as :class:`ServiceCollection`;
    errors name the module that registered each service.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"a Module needs a non-empty name, got {name!r}")
        super().__init__()
        self.name = name
        self._module_name = name

    def __repr__(self) -> str:
        return f"Module({self.name!r}, {len(self._registrations)} registrations)"


class ServiceCollection(_Registrar):
    """Collects registrations; :meth:`build` validates them and returns a provider."""

    _module_name = ROOT_MODULE

    def __repr__(self) -> str:
        return f"ServiceCollection({len(self._registrations)} registrations)"

    def build(self, *, compiled: bool | None = None) -> ServiceProvider:
        """Validate the whole graph and return a :class:`ServiceProvider`.

        Raises :class:`MissingServiceError`, :class:`CircularDependencyError` or
        :class:`LifetimeError` before anything is constructed.

        Resolution has two tiers with the same behaviour: a provider starts by walking the
        graph, and after a few resolutions compiles it into generated code (a one-off cost
        of a few milliseconds) and runs that from then on. ``compiled=True`` compiles at
        build; ``compiled=False`` never compiles (cheapest for a provider used a handful
        of times, as in many tests).
        """
        from ._provider import ServiceProvider

        return ServiceProvider._build(list(self._registrations), compiled=compiled)
