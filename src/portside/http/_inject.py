"""``Inject[T]``: a route parameter resolved from the request's DI scope.

```python
@router.get("/users/{user_id}")
async def get_user(user_id: str, get: Inject[GetUser]) -> UserOut: ...
```

``Inject[T]`` is ``Annotated[T, Depends(resolver)]`` with one resolver per type, made once,
so it works in any FastAPI app. ``build_app`` goes further: it serves each handler through
:func:`direct_injection`, which takes the ``Inject`` parameters out of the signature FastAPI
sees and resolves them itself, so a request runs ``scope.aget(T)`` per service and none of
FastAPI's per-request dependency solving. Signatures are read once, when the app is built.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args, get_origin

from fastapi import Depends, params
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.routing import BaseRoute

from portside.di import Injection, Scope, ServiceProvider, require_injections, service_key

__all__ = ["SCOPE_KEY", "Inject", "check_injections", "direct_injection", "request_scope"]

T = TypeVar("T")

#: Where the middleware keeps the request's DI scope in the ASGI scope.
SCOPE_KEY = "portside.scope"


def request_scope(connection: HTTPConnection) -> Scope:
    """The DI scope of the request being served."""
    try:
        scope: Scope = connection.scope[SCOPE_KEY]
    except KeyError:
        raise RuntimeError(
            "no DI scope on this request: the app must be built with portside.http.build_app"
        ) from None
    return scope


_resolvers: dict[Any, Callable[[HTTPConnection], Awaitable[Any]]] = {}
#: Each resolver's service and key (``Inject[Annotated[T, Key("name")]]`` names a key).
_services: dict[Callable[[HTTPConnection], Awaitable[Any]], tuple[Any, str | None]] = {}


def _resolver(annotation: Any) -> Callable[[HTTPConnection], Awaitable[Any]]:
    resolver = _resolvers.get(annotation)
    if resolver is None:
        service, key = service_key(annotation)

        async def resolve(connection: HTTPConnection) -> Any:
            return await request_scope(connection).aget(service, key)

        resolve.__name__ = f"inject_{getattr(service, '__name__', 'service')}"
        resolver = _resolvers.setdefault(annotation, resolve)
        _services[resolver] = (service, key)
    return resolver


_NOT_INJECTED = object()
#: The parameter through which a rewritten handler receives the request, when the
#: handler itself takes none.
_REQUEST = "_portside_request"
_UNSUPPORTED_KINDS = frozenset(
    {
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    }
)


def _injected(annotation: Any) -> Any:
    """The service and key an ``Inject[T]`` annotation names, else ``_NOT_INJECTED``."""
    if get_origin(annotation) is not Annotated:
        return _NOT_INJECTED
    for marker in get_args(annotation)[1:]:
        if isinstance(marker, params.Depends) and marker.dependency in _services:
            return _services[marker.dependency]
    return _NOT_INJECTED


def _is_request(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Request)


def direct_injection(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` with its ``Inject[T]`` parameters resolved from the request's DI scope
    by a wrapper, instead of by FastAPI's dependency solving.

    The wrapper's signature is ``endpoint``'s without those parameters, plus the request
    when ``endpoint`` takes none, so FastAPI validates and documents the same request
    parameters. A synchronous ``endpoint`` still runs in the thread pool. Anything this
    cannot rewrite faithfully (no ``Inject`` parameter, a generator, a callable object,
    positional-only or variadic parameters, annotations that do not resolve) is returned
    unchanged, and its ``Inject`` parameters are resolved by FastAPI as dependencies.
    """
    if not inspect.isfunction(endpoint) or (
        inspect.isgeneratorfunction(endpoint) or inspect.isasyncgenfunction(endpoint)
    ):
        return endpoint
    try:
        signature = inspect.signature(endpoint, eval_str=True)
    except (NameError, TypeError, ValueError):
        return endpoint
    services: list[tuple[str, Any, str | None]] = []
    kept: list[inspect.Parameter] = []
    request_name: str | None = None
    for parameter in signature.parameters.values():
        if parameter.kind in _UNSUPPORTED_KINDS:
            return endpoint
        injected = _injected(parameter.annotation)
        if injected is not _NOT_INJECTED:
            services.append((parameter.name, *injected))
            continue
        if request_name is None and _is_request(parameter.annotation):
            request_name = parameter.name
        kept.append(parameter)
    if not services:
        return endpoint
    own_request = request_name is None
    if own_request:
        request_name = _REQUEST
        kept.append(inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    wrapper = _wrapper(endpoint, tuple(services), str(request_name), pop=own_request)
    functools.update_wrapper(wrapper, endpoint)
    wrapper.__portside_services__ = tuple(services)  # type: ignore[attr-defined]
    # FastAPI looks through __wrapped__ in places; it must see the wrapper, which is async.
    del wrapper.__wrapped__  # type: ignore[attr-defined]
    wrapper.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    return wrapper


def _injections(route: APIRoute) -> Iterator[tuple[str, Any, str | None]]:
    """The ``Inject`` parameters of ``route``: (parameter, service, key), those its served
    handler resolves and those FastAPI resolves as dependencies."""
    yield from getattr(route.endpoint, "__portside_services__", ())
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call in _services:
            yield (str(dependency.name), *_services[dependency.call])
        pending.extend(dependency.dependencies)


def check_injections(routes: Iterable[BaseRoute], provider: ServiceProvider) -> None:
    """Raise :class:`~portside.di.MissingServiceError`, naming the route and the
    parameter, when a route injects a service ``provider`` does not have, and
    :class:`~portside.di.MissingContextError` when it injects a context value the request's
    scope is not given (any but the Request): at start-up, not on every request to it
    (see :func:`portside.di.require_injections`).

    Routes of included routers are checked too where FastAPI keeps the router included
    (``original_router``); a FastAPI that copies them in has them among ``routes``.
    """
    pending = list(routes)
    while pending:
        route = pending.pop(0)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
        if not isinstance(route, APIRoute):
            continue
        where = f"{' '.join(sorted(route.methods or ()))} {route.path}"
        found = (Injection(name, service, key) for name, service, key in _injections(route))
        require_injections(provider, where, found, context=(Request,))


def _wrapper(
    endpoint: Callable[..., Any],
    services: tuple[tuple[str, Any, str | None], ...],
    request: str,
    *,
    pop: bool,
) -> Callable[..., Awaitable[Any]]:
    is_async = inspect.iscoroutinefunction(endpoint)

    async def with_services(**kwargs: Any) -> Any:
        connection = kwargs.pop(request) if pop else kwargs[request]
        scope = connection.scope.get(SCOPE_KEY) or request_scope(connection)
        for name, service, key in services:
            kwargs[name] = await scope.aget(service, key)
        if is_async:
            return await endpoint(**kwargs)
        return await run_in_threadpool(endpoint, **kwargs)

    return with_services


if TYPE_CHECKING:
    Inject = Annotated[T, "resolved from the request's DI scope"]
else:

    class Inject:
        """``Inject[T]``: resolve ``T`` from the request's DI scope."""

        __slots__ = ()

        def __class_getitem__(cls, service: Any) -> Any:
            return Annotated[service, Depends(_resolver(service))]
