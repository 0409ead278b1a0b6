"""Dependency injection: lifetimes, modules, auto-wiring from type hints, scopes.

```python
services = ServiceCollection()
services.add_singleton(Config)
services.add_scoped(Session, factory=open_session)
provider = services.build()          # validates the whole graph
with provider.create_scope() as scope:
    scope.get(OrderService)
```

The graph is validated and compiled once, at :meth:`ServiceCollection.build`; resolving
a service afterwards runs generated straight-line code and inspects nothing.
"""

from ._collection import Module, ServiceCollection
from ._errors import (
    AsyncResolutionError,
    CircularDependencyError,
    DIError,
    LifetimeError,
    MissingContextError,
    MissingServiceError,
    RegistrationError,
    ScopeClosedError,
)
from ._graph import DependencyGraph, GraphNode
from ._inject import Inject, Injection, injections, require_injections
from ._markers import Key, Lifetime, service_key
from ._provider import Override, Scope, ServiceProvider
from ._registration import describe_service

__all__ = [
    "AsyncResolutionError",
    "CircularDependencyError",
    "DIError",
    "DependencyGraph",
    "GraphNode",
    "Inject",
    "Injection",
    "Key",
    "Lifetime",
    "LifetimeError",
    "MissingContextError",
    "MissingServiceError",
    "Module",
    "Override",
    "RegistrationError",
    "Scope",
    "ScopeClosedError",
    "ServiceCollection",
    "ServiceProvider",
    "describe_service",
    "injections",
    "require_injections",
    "service_key",
]
