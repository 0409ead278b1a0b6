"""``Inject[T]``: a parameter of a gRPC servicer method or a message handler, resolved from
the DI scope of the call or delivery it runs for.

```python
class UserServicer:
    async def GetUser(self, request, context, get: Inject[GetUser]) -> pb.User:
        return to_message(await get(request.id))

async def send_welcome(event: UserRegistered, mailer: Inject[Mailer]) -> None:
    await mailer.welcome(event.user_id)
```

The entry adapters read a function's ``Inject`` parameters once, with :func:`injections`,
and pass the services by name on every call. HTTP routes use ``portside.http.Inject``,
which is also a FastAPI dependency.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_origin

from ._errors import MissingContextError, MissingServiceError
from ._markers import service_key
from ._registration import describe_service

__all__ = ["Inject", "Injection", "injections", "require_injections"]

T = TypeVar("T")


class _Injected:
    """The mark ``Inject[T]`` puts in the annotation's metadata."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Inject"


_MARK = _Injected()


if TYPE_CHECKING:
    Inject = Annotated[T, "resolved from the DI scope of the call or delivery"]
else:

    class Inject:
        """``Inject[T]``: resolve ``T`` from the DI scope of the call or delivery;
        ``Inject[Annotated[T, Key("name")]]`` for a keyed registration."""

        __slots__ = ()

        def __class_getitem__(cls, service: Any) -> Any:
            return Annotated[service, _MARK]


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected parameter: its name, and the service (with its key) it receives."""

    name: str
    service: Any
    key: str | None = None


_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _injection(parameter: inspect.Parameter, where: str) -> Injection | None:
    annotation = parameter.annotation
    if get_origin(annotation) is not Annotated or not any(
        m is _MARK for m in annotation.__metadata__
    ):
        return None
    if parameter.kind not in _BY_KEYWORD:  # injected services are passed by name
        raise TypeError(f"{where} injects {parameter.name}, which cannot be passed by name")
    return Injection(parameter.name, *service_key(annotation))


def injections(function: Callable[..., Any], where: str) -> tuple[Injection, ...]:
    """The ``Inject`` parameters of ``function``; ``where`` names it in errors.

    ``TypeError`` when its annotations cannot be read (a name they use is not defined),
    or when an injected parameter cannot be passed by name.
    """
    try:
        signature = inspect.signature(function, eval_str=True)
    except (NameError, TypeError, ValueError) as exc:
        raise TypeError(f"the annotations of {where} cannot be read: {exc}") from exc
    found = (_injection(p, where) for p in signature.parameters.values())
    return tuple(i for i in found if i is not None)


def require_injections(
    provider: Any, where: str, injected: Iterable[Injection], context: Collection[Any] = ()
) -> None:
    """Raise :class:`MissingServiceError` when ``provider`` (a ``ServiceProvider``) has no
    registration for a service ``where`` injects, and :class:`MissingContextError` when it
    injects a context value other than those in ``context``, the ones its scopes are given.
    Entry adapters call this when they start, so that a wrong injection fails there rather
    than on every call."""
    for i in injected:
        what = f"{where} injects {i.name}: {describe_service(i.service, i.key)}"
        if not provider.has(i.service, i.key):
            raise MissingServiceError(f"{what} is not registered", service=i.service)
        if i.key is None and i.service not in context and provider.accepts_context(i.service):
            given = ", ".join(describe_service(c) for c in context) or "none"
            raise MissingContextError(
                f"{what} is a context value, which its scope is not given "
                f"(the context values given: {given})",
                service=i.service,
            )
