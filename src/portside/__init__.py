"""portside: a service chassis for ports-and-adapters microservices.

``import portside`` imports the dependency-injection container and nothing else;
adapters live in their own subpackages and extras.
"""

from portside.di import (
    AsyncResolutionError,
    CircularDependencyError,
    DependencyGraph,
    DIError,
    Key,
    Lifetime,
    LifetimeError,
    MissingContextError,
    MissingServiceError,
    Module,
    RegistrationError,
    Scope,
    ScopeClosedError,
    ServiceCollection,
    ServiceProvider,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncResolutionError",
    "CircularDependencyError",
    "DIError",
    "DependencyGraph",
    "Key",
    "Lifetime",
    "LifetimeError",
    "MissingContextError",
    "MissingServiceError",
    "Module",
    "RegistrationError",
    "Scope",
    "ScopeClosedError",
    "ServiceCollection",
    "ServiceProvider",
    "__version__",
]
