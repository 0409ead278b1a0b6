"""``Inject[T]``: a servicer method's parameter resolved from the call's DI scope.

```python
class UserServicer:
    async def GetUser(self, request, context, get: Inject[GetUser]) -> pb.User:
        return to_message(await get(request.id))

module.add_singleton(UserServicer)
```

A servicer whose methods inject what they use can be a singleton: a call then resolves
only what its method names, not every dependency of every method. The signatures are read
when the server starts, which also checks that the container can give each service. Such
a servicer need not subclass the generated ``*Servicer`` base (whose methods take fewer
parameters, so a type checker would call the override incompatible): the server checks
that it has a method for every RPC. This module imports no gRPC package.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_origin

from portside.di import service_key

__all__ = ["Inject", "Injection", "injections"]

T = TypeVar("T")


class _Injected:
    """The mark ``Inject[T]`` puts in the annotation's metadata."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Inject"


_MARK = _Injected()


if TYPE_CHECKING:
    Inject = Annotated[T, "resolved from the call's DI scope"]
else:

    class Inject:
        """``Inject[T]``: resolve ``T`` from the call's DI scope;
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


def injections(method: Callable[..., Any], where: str) -> tuple[Injection, ...]:
    """The ``Inject`` parameters of ``method``; ``where`` names it in errors.

    ``TypeError`` when its annotations cannot be read (a name they use is not defined),
    or when an injected parameter cannot be passed by name.
    """
    try:
        signature = inspect.signature(method, eval_str=True)
    except (NameError, TypeError, ValueError) as exc:
        raise TypeError(f"the annotations of {where} cannot be read: {exc}") from exc
    found = (_injection(p, where) for p in signature.parameters.values())
    return tuple(i for i in found if i is not None)
