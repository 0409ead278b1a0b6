"""Side-by-side benchmark of portside's DI container against its peers and hand-written code.

Scenarios (one process, contenders interleaved round-robin):

  a  enter a scope, resolve the root of a 10-class graph (4 singletons, 6 scoped, depth 5,
     one scoped ``Session`` shared by several consumers), exit the scope
  b  the same, with ``Session`` made by a generator factory whose clean-up runs on scope exit
  c  resolve an already-created singleton (``Mailer``) from the root container
  d  cold start: build the container from scratch, then serve the first request (as in a)
  e  (b) in an event loop: ``Session`` made by an async generator factory, the scope entered
     with ``async with``, the root resolved with ``await``, the clean-up awaited on exit
     (the libraries that resolve asynchronously: dishka, wireup, svcs)

Every contender passes a correctness check before it is timed. Run::

    .venv/bin/python benchmarks/di_bench.py               # full run, writes results/di.md
    .venv/bin/python benchmarks/di_bench.py --quick       # smoke run, writes results/di-quick.md
    .venv/bin/python benchmarks/di_bench.py --scenario a,c

The script reports and never asserts: it exits 0 whatever the numbers say.
"""

import argparse
import asyncio
import contextvars
import datetime
import functools
import gc
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BASELINE = "hand-written"
PORTSIDE = "portside"
TARGET_RATIO = 2.0  # portside within this factor of hand-written on (a) and (b)
TARGET_COLD_US = 1000.0  # portside build + first request under 1 ms on (d)
WARMUP_MIN_CALLS = 50
WARMUP_CALLS = 2000

SCENARIOS = {
    "a": "scoped resolve: enter scope, resolve Checkout (10-class graph, depth 5), exit",
    "b": "scoped resolve with a generator-factory Session, clean-up on scope exit",
    "c": "singleton (Mailer, already created) from the root container",
    "d": "cold start: build the container + first request (enter scope, resolve, exit)",
    "e": "async scoped resolve: async-generator Session, `async with` scope, awaited clean-up",
}


# -- the graph -----------------------------------------------------------------------------
# singletons: Config, Clock, Cache, Mailer; scoped: Session and its five consumers.
# Depth: Checkout -> OrderService -> UserService -> UserRepo -> Session.


class Config:
    pass


class Clock:
    pass


class Cache:
    def __init__(self, config: Config) -> None:
        self.config = config


class Mailer:
    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock


class Session:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.closed = False


class UserRepo:
    def __init__(self, session: Session, cache: Cache) -> None:
        self.session = session
        self.cache = cache


class OrderRepo:
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock


class UserService:
    def __init__(self, users: UserRepo, mailer: Mailer) -> None:
        self.users = users
        self.mailer = mailer


class OrderService:
    def __init__(self, orders: OrderRepo, users: UserService, session: Session) -> None:
        self.orders = orders
        self.users = users
        self.session = session


class Checkout:
    def __init__(self, orders: OrderService, users: UserService, session: Session) -> None:
        self.orders = orders
        self.users = users
        self.session = session


def make_session(config: Config) -> Iterator[Session]:
    s = Session(config)
    yield s
    s.closed = True


async def amake_session(config: Config) -> AsyncIterator[Session]:
    s = Session(config)
    yield s
    s.closed = True


SINGLETONS: tuple[type, ...] = (Config, Clock, Cache, Mailer)  # in dependency order
CONSUMERS: tuple[type, ...] = (UserRepo, OrderRepo, UserService, OrderService, Checkout)
SCOPED: tuple[type, ...] = (Session, *CONSUMERS)

# A scoped op enters a scope, resolves Checkout, calls ``hook`` (if any) while the scope is
# still open, exits the scope and returns the Checkout. The hook exists for the correctness
# check; timed loops call ``op()`` and pay one ``is not None`` test, like every contender.
Hook = Callable[[Checkout], None] | None
ScopedOp = Callable[..., Checkout]
Op = Callable[[], Any]


class NotExpressible(Exception):
    """The library has no faithful way to express the scenario."""


def unsupported(reason: str) -> Callable[[], Op]:
    def setup() -> Op:
        raise NotExpressible(reason)

    return setup


# -- hand-written baseline: constructors called directly, singletons built once up front --


def _hand_singletons() -> tuple[Config, Clock, Cache, Mailer]:
    config = Config()
    clock = Clock()
    return config, clock, Cache(config), Mailer(config, clock)


def _hand_scoped_op() -> ScopedOp:
    config, clock, cache, mailer = _hand_singletons()

    def op(hook: Hook = None) -> Checkout:
        session = Session(config)
        users = UserService(UserRepo(session, cache), mailer)
        checkout = Checkout(OrderService(OrderRepo(session, clock), users, session), users, session)
        if hook is not None:
            hook(checkout)
        return checkout

    return op


def hand_a() -> ScopedOp:
    return _hand_scoped_op()


def hand_b() -> ScopedOp:
    config, clock, cache, mailer = _hand_singletons()

    def op(hook: Hook = None) -> Checkout:
        gen = make_session(config)
        session = next(gen)
        try:
            users = UserService(UserRepo(session, cache), mailer)
            orders = OrderService(OrderRepo(session, clock), users, session)
            checkout = Checkout(orders, users, session)
            if hook is not None:
                hook(checkout)
        finally:
            next(gen, None)
        return checkout

    return op


def hand_c() -> Op:
    mailer = _hand_singletons()[3]

    def op() -> Mailer:
        return mailer

    return op


def hand_d() -> Op:
    def op() -> Checkout:
        return _hand_scoped_op()()

    return op


# -- portside --------------------------------------------------------------------------------


def _portside_provider(*, generator: bool) -> Any:
    from portside.di import ServiceCollection

    services = ServiceCollection()
    for cls in SINGLETONS:
        services.add_singleton(cls)
    if generator:
        services.add_scoped(Session, factory=make_session)
    else:
        services.add_scoped(Session)
    for cls in CONSUMERS:
        services.add_scoped(cls)
    return services.build()


def _portside_scoped_op(provider: Any) -> ScopedOp:
    def op(hook: Hook = None) -> Checkout:
        with provider.create_scope() as scope:
            checkout = scope.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def portside_a() -> ScopedOp:
    return _portside_scoped_op(_portside_provider(generator=False))


def portside_b() -> ScopedOp:
    return _portside_scoped_op(_portside_provider(generator=True))


def portside_c() -> Op:
    provider = _portside_provider(generator=False)
    provider.get(Mailer)

    def op() -> Mailer:
        return provider.get(Mailer)

    return op


def portside_d() -> Op:
    def op() -> Checkout:
        provider = _portside_provider(generator=False)
        with provider.create_scope() as scope:
            return scope.get(Checkout)

    return op


# -- dishka: Provider with Scope.APP / Scope.REQUEST, request scope entered via container() --


def _dishka_container(*, generator: bool) -> Any:
    import dishka

    provider = dishka.Provider()
    provider.provide_all(*SINGLETONS, scope=dishka.Scope.APP)
    provider.provide(make_session if generator else Session, scope=dishka.Scope.REQUEST)
    provider.provide_all(*CONSUMERS, scope=dishka.Scope.REQUEST)
    return dishka.make_container(provider)


def _dishka_scoped_op(container: Any) -> ScopedOp:
    def op(hook: Hook = None) -> Checkout:
        with container() as request:
            checkout = request.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def dishka_a() -> ScopedOp:
    return _dishka_scoped_op(_dishka_container(generator=False))


def dishka_b() -> ScopedOp:
    return _dishka_scoped_op(_dishka_container(generator=True))


def dishka_c() -> Op:
    container = _dishka_container(generator=False)
    container.get(Mailer)

    def op() -> Mailer:
        return container.get(Mailer)

    return op


def dishka_d() -> Op:
    def op() -> Checkout:
        with _dishka_container(generator=False)() as request:
            return request.get(Checkout)

    return op


# -- wireup: @injectable (applied at registration), create_sync_container, enter_scope() -------


def _wireup_container(*, generator: bool) -> Any:
    import wireup

    session = (
        wireup.injectable(make_session, lifetime="scoped")
        if generator
        else wireup.injectable(Session, lifetime="scoped")
    )
    injectables = [wireup.injectable(cls) for cls in SINGLETONS]
    injectables.append(session)
    injectables.extend(wireup.injectable(cls, lifetime="scoped") for cls in CONSUMERS)
    return wireup.create_sync_container(injectables=injectables)


def _wireup_scoped_op(container: Any) -> ScopedOp:
    def op(hook: Hook = None) -> Checkout:
        with container.enter_scope() as scope:
            checkout = scope.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def wireup_a() -> ScopedOp:
    return _wireup_scoped_op(_wireup_container(generator=False))


def wireup_b() -> ScopedOp:
    return _wireup_scoped_op(_wireup_container(generator=True))


def wireup_c() -> Op:
    container = _wireup_container(generator=False)
    container.get(Mailer)

    def op() -> Mailer:
        return container.get(Mailer)

    return op


def wireup_d() -> Op:
    def op() -> Checkout:
        with _wireup_container(generator=False).enter_scope() as scope:
            return scope.get(Checkout)

    return op


# -- rodi: Container.add_singleton / add_scoped, build_provider(), ActivationScope ----------


def _rodi_provider() -> Any:
    import rodi

    container = rodi.Container()
    for cls in SINGLETONS:
        container.add_singleton(cls)
    for cls in SCOPED:
        container.add_scoped(cls)
    return container.build_provider()


def _rodi_scoped_op(provider: Any) -> ScopedOp:
    def op(hook: Hook = None) -> Checkout:
        with provider.create_scope() as scope:
            checkout = provider.get(Checkout, scope)
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def rodi_a() -> ScopedOp:
    return _rodi_scoped_op(_rodi_provider())


def rodi_c() -> Op:
    provider = _rodi_provider()
    provider.get(Mailer)

    def op() -> Mailer:
        return provider.get(Mailer)

    return op


def rodi_d() -> Op:
    def op() -> Checkout:
        provider = _rodi_provider()
        with provider.create_scope() as scope:
            return provider.get(Checkout, scope)

    return op


# -- svcs: Registry + one Container per scope; container.close() (via `with`) runs clean-up --
# svcs has no singleton lifetime and no auto-wiring by default: app-lifetime objects are built
# up front and registered with register_value, scoped services get small factories that take
# the container (svcs caches each service per Container, which gives per-scope sharing).


def _svcs_session(svcs_container: Any) -> Session:
    return Session(svcs_container.get(Config))


def _svcs_session_gen(svcs_container: Any) -> Iterator[Session]:
    yield from make_session(svcs_container.get(Config))


def _svcs_user_repo(svcs_container: Any) -> UserRepo:
    return UserRepo(*svcs_container.get(Session, Cache))


def _svcs_order_repo(svcs_container: Any) -> OrderRepo:
    return OrderRepo(*svcs_container.get(Session, Clock))


def _svcs_user_service(svcs_container: Any) -> UserService:
    return UserService(*svcs_container.get(UserRepo, Mailer))


def _svcs_order_service(svcs_container: Any) -> OrderService:
    return OrderService(*svcs_container.get(OrderRepo, UserService, Session))


def _svcs_checkout(svcs_container: Any) -> Checkout:
    return Checkout(*svcs_container.get(OrderService, UserService, Session))


def _svcs_registry(*, generator: bool) -> Any:
    import svcs

    registry = svcs.Registry()
    for cls, value in zip(SINGLETONS, _hand_singletons(), strict=True):
        registry.register_value(cls, value)
    registry.register_factory(Session, _svcs_session_gen if generator else _svcs_session)
    registry.register_factory(UserRepo, _svcs_user_repo)
    registry.register_factory(OrderRepo, _svcs_order_repo)
    registry.register_factory(UserService, _svcs_user_service)
    registry.register_factory(OrderService, _svcs_order_service)
    registry.register_factory(Checkout, _svcs_checkout)
    return registry


def _svcs_scoped_op(registry: Any) -> ScopedOp:
    from svcs import Container

    def op(hook: Hook = None) -> Checkout:
        with Container(registry) as container:
            checkout = container.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def svcs_a() -> ScopedOp:
    return _svcs_scoped_op(_svcs_registry(generator=False))


def svcs_b() -> ScopedOp:
    return _svcs_scoped_op(_svcs_registry(generator=True))


def svcs_c() -> Op:
    # svcs has no root container: this is one long-lived Container that already holds Mailer.
    import svcs

    container = svcs.Container(_svcs_registry(generator=False))
    container.get(Mailer)

    def op() -> Mailer:
        return container.get(Mailer)

    return op


def svcs_d() -> Op:
    import svcs

    def op() -> Checkout:
        with svcs.Container(_svcs_registry(generator=False)) as container:
            return container.get(Checkout)

    return op


# -- dependency-injector: DeclarativeContainer; Singleton for singletons, ContextLocalSingleton
# (and ContextLocalResource for the generator Session) for scoped services. A scope is one
# fresh contextvars.Context: context-local providers start empty in it, so each scope gets its
# own instances; on scope exit the Session resource is shut down (runs the generator's rest).


def _di_container(*, generator: bool) -> Any:
    from dependency_injector import containers, providers

    scoped = providers.ContextLocalSingleton

    class Container(containers.DeclarativeContainer):
        config = providers.Singleton(Config)
        clock = providers.Singleton(Clock)
        cache = providers.Singleton(Cache, config=config)
        mailer = providers.Singleton(Mailer, config=config, clock=clock)
        session = (
            providers.ContextLocalResource(make_session, config=config)
            if generator
            else scoped(Session, config=config)
        )
        user_repo = scoped(UserRepo, session=session, cache=cache)
        order_repo = scoped(OrderRepo, session=session, clock=clock)
        user_service = scoped(UserService, users=user_repo, mailer=mailer)
        order_service = scoped(OrderService, orders=order_repo, users=user_service, session=session)
        checkout = scoped(Checkout, orders=order_service, users=user_service, session=session)

    return Container()


def di_a() -> ScopedOp:
    container = _di_container(generator=False)
    new_context = contextvars.Context

    def in_scope(hook: Hook) -> Checkout:
        checkout = container.checkout()
        if hook is not None:
            hook(checkout)
        return checkout

    def op(hook: Hook = None) -> Checkout:
        return new_context().run(in_scope, hook)

    return op


def di_b() -> ScopedOp:
    container = _di_container(generator=True)
    new_context = contextvars.Context

    def in_scope(hook: Hook) -> Checkout:
        try:
            checkout = container.checkout()
            if hook is not None:
                hook(checkout)
        finally:
            container.session.shutdown()
        return checkout

    def op(hook: Hook = None) -> Checkout:
        return new_context().run(in_scope, hook)

    return op


def di_c() -> Op:
    container = _di_container(generator=False)
    container.mailer()

    def op() -> Mailer:
        return container.mailer()

    return op


def di_d() -> Op:
    def op() -> Checkout:
        container = _di_container(generator=False)
        return contextvars.Context().run(container.checkout)

    return op


# -- lagom: root Container with Singleton definitions. A scope is a clone of the root with the
# scoped types defined as Singleton in the clone (so they are shared within it); for (b) the
# clone comes from a ContextContainer with Session as a context singleton, whose exit runs the
# generator's clean-up. The documented temporary_singletons() is listed as a separate variant:
# it resolves each listed type through the *parent* container, so nested scoped dependencies
# are not shared.


def _lagom_root() -> Any:
    from lagom import Container, Singleton

    root = Container()
    for cls in SINGLETONS:
        root[cls] = Singleton(cls)
    return root


def _lagom_scope(root: Any) -> Any:
    from lagom import Singleton

    scope = root.clone()
    for cls in SCOPED:
        scope[cls] = Singleton(cls)
    return scope


def lagom_a() -> ScopedOp:
    root = _lagom_root()

    def op(hook: Hook = None) -> Checkout:
        checkout = _lagom_scope(root)[Checkout]
        if hook is not None:
            hook(checkout)
        return checkout

    return op


def _lagom_session(container: Any) -> Iterator[Session]:
    yield from make_session(container[Config])


def lagom_b() -> ScopedOp:
    from lagom import ContextContainer, Singleton, context_dependency_definition

    root = _lagom_root()
    context_dependency_definition(root)(_lagom_session)

    def op(hook: Hook = None) -> Checkout:
        with ContextContainer(root, context_types=(), context_singletons=(Session,)) as scope:
            for cls in CONSUMERS:
                scope[cls] = Singleton(cls)
            checkout = scope[Checkout]
            if hook is not None:
                hook(checkout)
        return checkout

    return op


def lagom_c() -> Op:
    root = _lagom_root()
    root[Mailer]

    def op() -> Mailer:
        return root[Mailer]

    return op


def lagom_d() -> Op:
    def op() -> Checkout:
        return _lagom_scope(_lagom_root())[Checkout]

    return op


def lagom_temporary_a() -> ScopedOp:
    root = _lagom_root()

    def op(hook: Hook = None) -> Checkout:
        with root.temporary_singletons(list(SCOPED)) as scope:
            checkout = scope[Checkout]
            if hook is not None:
                hook(checkout)
        return checkout

    return op


# -- punq: no scopes (transient and singleton only). Emulation: singletons are created up front
# (container.instantiate) and registered as instances; scoped types are registered at the root
# with Scope.singleton, and each scope is a new Container over the root's registrations, whose
# own singleton cache makes those per-scope. (punq's child() shares the parent's singleton cache,
# so it cannot give per-scope instances.)


def _punq_root() -> Any:
    import punq

    root = punq.Container()
    for cls in SINGLETONS:
        root.register(cls, instance=root.instantiate(cls))
    for cls in SCOPED:
        root.register(cls, scope=punq.Scope.singleton)
    return root


def punq_a() -> ScopedOp:
    from punq import Container

    registrations = _punq_root().registrations

    def op(hook: Hook = None) -> Checkout:
        checkout = Container(registrations).resolve(Checkout)
        if hook is not None:
            hook(checkout)
        return checkout

    return op


def punq_c() -> Op:
    root = _punq_root()

    def op() -> Mailer:
        return root.resolve(Mailer)

    return op


def punq_d() -> Op:
    from punq import Container

    def op() -> Checkout:
        return Container(_punq_root().registrations).resolve(Checkout)

    return op


# -- injector: @inject on the classes (applied at registration), singletons bound in
# `singleton` scope, scoped classes in a custom request Scope (injector's extension point for
# lifetimes, as flask_injector does): entering the scope starts an empty cache, exiting drops
# it. The scope object is per Injector, so scopes must not overlap (one at a time).


@functools.cache
def _injector_request_scope() -> type:
    import injector

    class RequestScope(injector.Scope):
        def configure(self) -> None:
            self._cache: dict[Any, Any] | None = None

        def enter(self) -> None:
            self._cache = {}

        def exit(self) -> None:
            self._cache = None

        def get(self, key: Any, provider: Any) -> Any:
            cache = self._cache
            if cache is None:
                raise RuntimeError("no request scope is active")
            try:
                return cache[key]
            except KeyError:
                cache[key] = found = injector.InstanceProvider(provider.get(self.injector))
                return found

    return RequestScope


def _injector_injector() -> Any:
    import injector

    request_scope = _injector_request_scope()
    for cls in (*SINGLETONS, *SCOPED):
        if "__init__" in vars(cls):
            injector.inject(cls)

    def configure(binder: Any) -> None:
        for cls in SINGLETONS:
            binder.bind(cls, scope=injector.singleton)
        for cls in SCOPED:
            binder.bind(cls, scope=request_scope)

    return injector.Injector([configure])


def _injector_scoped_op(inj: Any) -> ScopedOp:
    scope = inj.get(_injector_request_scope())

    def op(hook: Hook = None) -> Checkout:
        scope.enter()
        try:
            checkout = inj.get(Checkout)
            if hook is not None:
                hook(checkout)
        finally:
            scope.exit()
        return checkout

    return op


def injector_a() -> ScopedOp:
    return _injector_scoped_op(_injector_injector())


def injector_c() -> Op:
    inj = _injector_injector()
    inj.get(Mailer)

    def op() -> Mailer:
        return inj.get(Mailer)

    return op


def injector_d() -> Op:
    def op() -> Checkout:
        return _injector_scoped_op(_injector_injector())()

    return op


# -- (e): the graph of (b) resolved in an event loop -------------------------------------------
# An async op runs on one event loop that lives as long as the process: the checks and the
# warm-up call it one loop run at a time; a timed batch awaits it n times inside one
# coroutine, so the loop's own start and stop are outside the time.

_LOOP: asyncio.AbstractEventLoop | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    global _LOOP  # noqa: PLW0603 - one loop for every async op of the run
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP


def close_event_loop() -> None:
    """Close the async ops' event loop, if one was made (a later op makes a new one)."""
    global _LOOP  # noqa: PLW0603
    if _LOOP is not None:
        _LOOP.close()
        _LOOP = None


@dataclass(frozen=True)
class AsyncOp:
    """A scoped op that awaits: ``run(hook)`` enters a scope, resolves Checkout, calls
    ``hook`` inside it, exits the scope and returns the Checkout."""

    run: Callable[[Hook], Awaitable[Checkout]]

    def __call__(self, hook: Hook = None) -> Checkout:
        return _event_loop().run_until_complete(self.run(hook))

    async def timed(self, n: int) -> int:
        run = self.run
        start = time.perf_counter_ns()
        for _ in repeat(None, n):
            await run(None)
        return time.perf_counter_ns() - start


def hand_e() -> AsyncOp:
    config, clock, cache, mailer = _hand_singletons()

    async def run(hook: Hook = None) -> Checkout:
        gen = amake_session(config)
        session = await anext(gen)
        try:
            users = UserService(UserRepo(session, cache), mailer)
            orders = OrderService(OrderRepo(session, clock), users, session)
            checkout = Checkout(orders, users, session)
            if hook is not None:
                hook(checkout)
        finally:
            await anext(gen, None)
        return checkout

    return AsyncOp(run)


def portside_e() -> AsyncOp:
    from portside.di import ServiceCollection

    services = ServiceCollection()
    for cls in SINGLETONS:
        services.add_singleton(cls)
    services.add_scoped(Session, factory=amake_session)
    for cls in CONSUMERS:
        services.add_scoped(cls)
    provider = services.build()

    async def run(hook: Hook = None) -> Checkout:
        async with provider.create_scope() as scope:
            checkout = await scope.aget(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return AsyncOp(run)


def dishka_e() -> AsyncOp:
    import dishka

    provider = dishka.Provider()
    provider.provide_all(*SINGLETONS, scope=dishka.Scope.APP)
    provider.provide(amake_session, scope=dishka.Scope.REQUEST)
    provider.provide_all(*CONSUMERS, scope=dishka.Scope.REQUEST)
    container = dishka.make_async_container(provider)

    async def run(hook: Hook = None) -> Checkout:
        async with container() as request:
            checkout = await request.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return AsyncOp(run)


def wireup_e() -> AsyncOp:
    import wireup

    injectables = [wireup.injectable(cls) for cls in SINGLETONS]
    injectables.append(wireup.injectable(amake_session, lifetime="scoped"))
    injectables.extend(wireup.injectable(cls, lifetime="scoped") for cls in CONSUMERS)
    container = wireup.create_async_container(injectables=injectables)

    async def run(hook: Hook = None) -> Checkout:
        async with container.enter_scope() as scope:
            checkout = await scope.get(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return AsyncOp(run)


async def _svcs_asession(svcs_container: Any) -> AsyncIterator[Session]:
    async for session in amake_session(svcs_container.get(Config)):
        yield session


async def _svcs_auser_repo(svcs_container: Any) -> UserRepo:
    return UserRepo(await svcs_container.aget(Session), svcs_container.get(Cache))


async def _svcs_aorder_repo(svcs_container: Any) -> OrderRepo:
    return OrderRepo(await svcs_container.aget(Session), svcs_container.get(Clock))


async def _svcs_auser_service(svcs_container: Any) -> UserService:
    return UserService(await svcs_container.aget(UserRepo), svcs_container.get(Mailer))


async def _svcs_aorder_service(svcs_container: Any) -> OrderService:
    return OrderService(*await svcs_container.aget(OrderRepo, UserService, Session))


async def _svcs_acheckout(svcs_container: Any) -> Checkout:
    return Checkout(*await svcs_container.aget(OrderService, UserService, Session))


def svcs_e() -> AsyncOp:
    import svcs

    registry = svcs.Registry()
    for cls, value in zip(SINGLETONS, _hand_singletons(), strict=True):
        registry.register_value(cls, value)
    registry.register_factory(Session, _svcs_asession)
    registry.register_factory(UserRepo, _svcs_auser_repo)
    registry.register_factory(OrderRepo, _svcs_aorder_repo)
    registry.register_factory(UserService, _svcs_auser_service)
    registry.register_factory(OrderService, _svcs_aorder_service)
    registry.register_factory(Checkout, _svcs_acheckout)

    async def run(hook: Hook = None) -> Checkout:
        async with svcs.Container(registry) as container:
            checkout = await container.aget(Checkout)
            if hook is not None:
                hook(checkout)
        return checkout

    return AsyncOp(run)


# -- the contenders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    dist: str | None  # distribution name for the version; None for the hand-written baseline
    setups: dict[str, Callable[[], Op]]  # scenario -> set-up returning the op to time
    how: str  # how scopes (and clean-up) are expressed


NO_FINALIZERS = "no finalizers"
CONTENDERS: tuple[Contender, ...] = (
    Contender(
        BASELINE,
        None,
        {"a": hand_a, "b": hand_b, "c": hand_c, "d": hand_d, "e": hand_e},
        "constructors called directly; singletons built once up front; (b) drives the "
        "generator by hand, (e) the async generator",
    ),
    Contender(
        PORTSIDE,
        "portside",
        {"a": portside_a, "b": portside_b, "c": portside_c, "d": portside_d, "e": portside_e},
        "ServiceCollection add_singleton/add_scoped, provider.create_scope() as a context "
        "manager; (b) add_scoped(Session, factory=make_session); (e) the async factory, "
        "`async with provider.create_scope()`, `await scope.aget(Checkout)`",
    ),
    Contender(
        "dishka",
        "dishka",
        {"a": dishka_a, "b": dishka_b, "c": dishka_c, "d": dishka_d, "e": dishka_e},
        "Provider with Scope.APP / Scope.REQUEST, make_container, `with container()`; "
        "(b) provide(make_session); (e) make_async_container, `async with container()`",
    ),
    Contender(
        "wireup",
        "wireup",
        {"a": wireup_a, "b": wireup_b, "c": wireup_c, "d": wireup_d, "e": wireup_e},
        'injectable(lifetime="scoped"), create_sync_container, `with container.enter_scope()`; '
        "(b) generator factory; (e) create_async_container, `async with container.enter_scope()`",
    ),
    Contender(
        "rodi",
        "rodi",
        {
            "a": rodi_a,
            "b": unsupported(
                f"{NO_FINALIZERS}: ActivationScope.dispose() only drops the scoped instances; "
                "factories cannot be generators"
            ),
            "c": rodi_c,
            "d": rodi_d,
        },
        "Container add_singleton/add_scoped, build_provider(), `with provider.create_scope()`",
    ),
    Contender(
        "svcs",
        "svcs",
        {"a": svcs_a, "b": svcs_b, "c": svcs_c, "d": svcs_d, "e": svcs_e},
        "Registry; singletons built up front (register_value); one Container per scope, "
        "closed by `with`; hand-written factories; (c) from one long-lived Container; "
        "(e) async factories awaiting `aget`, `async with Container(registry)`",
    ),
    Contender(
        "dependency-injector",
        "dependency-injector",
        {"a": di_a, "b": di_b, "c": di_c, "d": di_d},
        "DeclarativeContainer; Singleton + ContextLocalSingleton, scope = a fresh "
        "contextvars.Context; (b) ContextLocalResource, shutdown() on scope exit",
    ),
    Contender(
        "lagom",
        "lagom",
        {"a": lagom_a, "b": lagom_b, "c": lagom_c, "d": lagom_d},
        "Singleton definitions; scope = root.clone() with the scoped types as Singleton; "
        "(b) ContextContainer with Session as a context singleton",
    ),
    Contender(
        "lagom (temporary_singletons)",
        "lagom",
        {"a": lagom_temporary_a},
        "the documented `with container.temporary_singletons([...])` per scope",
    ),
    Contender(
        "punq",
        "punq",
        {
            "a": punq_a,
            "b": unsupported(
                f"{NO_FINALIZERS}: factories are plain callables and containers have no "
                "close/dispose"
            ),
            "c": punq_c,
            "d": punq_d,
        },
        "emulated scope: a new Container over the root's registrations per scope, scoped types "
        "registered as Scope.singleton; singletons pre-built and registered as instances",
    ),
    Contender(
        "injector",
        "injector",
        {
            "a": injector_a,
            "b": unsupported(
                f"{NO_FINALIZERS}: providers return plain objects and scopes have no exit hook "
                "to run clean-up"
            ),
            "c": injector_c,
            "d": injector_d,
        },
        "@inject; singleton scope + a custom request Scope entered/exited around each request",
    ),
)


# -- correctness -----------------------------------------------------------------------------


class CheckFailed(Exception):
    pass


def _require(condition: object, reason: str) -> None:
    if not condition:
        raise CheckFailed(reason)


def _check_graph(checkout: Any) -> None:
    _require(isinstance(checkout, Checkout), f"resolved {type(checkout).__name__}, not Checkout")
    session = checkout.session
    _require(isinstance(session, Session), "Checkout.session is not a Session")
    _require(checkout.orders.session is session, "OrderService.session is another Session")
    _require(checkout.users.users.session is session, "UserRepo.session is another Session")
    _require(checkout.orders.orders.session is session, "OrderRepo.session is another Session")
    _require(checkout.orders.users is checkout.users, "UserService not shared within the scope")


def check_scoped(op: ScopedOp, *, finalizer: bool) -> None:
    inside: list[bool] = []
    first = op(lambda c: inside.append(c.session.closed))
    second = op()
    _check_graph(first)
    _check_graph(second)
    _require(first.session is not second.session, "two scopes share one Session")
    _require(first.session.config is second.session.config, "Config differs across scopes")
    _require(first.users.mailer is second.users.mailer, "Mailer differs across scopes")
    _require(inside == [False], "Session already closed inside the scope")
    if finalizer:
        _require(first.session.closed, "Session clean-up did not run on scope exit")


def check_singleton(op: Op) -> None:
    first = op()
    _require(isinstance(first, Mailer), f"resolved {type(first).__name__}, not Mailer")
    _require(op() is first, "Mailer is not a singleton")


def check_cold(op: Op) -> None:
    first = op()
    second = op()
    _check_graph(first)
    _check_graph(second)
    _require(first.session.config is not second.session.config, "container was not rebuilt")


CHECKS: dict[str, Callable[[Any], None]] = {
    "a": functools.partial(check_scoped, finalizer=False),
    "b": functools.partial(check_scoped, finalizer=True),
    "c": check_singleton,
    "d": check_cold,
    "e": functools.partial(check_scoped, finalizer=True),
}


# -- timing ----------------------------------------------------------------------------------


def timed_batch(op: Op, n: int) -> int:
    """Nanoseconds for ``n`` calls of ``op``, with the garbage collector off."""
    gc.collect()
    gc.disable()
    try:
        if isinstance(op, AsyncOp):
            return _event_loop().run_until_complete(op.timed(n))
        start = time.perf_counter_ns()
        for _ in repeat(None, n):
            op()
        return time.perf_counter_ns() - start
    finally:
        gc.enable()


def warm_up(op: Op, target_ns: int) -> None:
    """Run ``op`` until it is warm: libraries that compile lazily get there first.

    At least ``WARMUP_MIN_CALLS`` calls, then until ``WARMUP_CALLS`` calls or twice the
    round time, whichever comes first.
    """
    deadline = time.perf_counter_ns() + 2 * target_ns
    calls = 0
    while True:
        op()
        calls += 1
        if calls >= WARMUP_MIN_CALLS and (
            calls >= WARMUP_CALLS or time.perf_counter_ns() >= deadline
        ):
            return


def calibrate(op: Op, target_ns: int) -> int:
    """Warm ``op`` up and return how many calls take about ``target_ns``."""
    warm_up(op, target_ns)
    n = 1
    while True:
        elapsed = timed_batch(op, n)
        if elapsed >= target_ns // 4 or n >= 1 << 24:
            break
        n *= 4 if elapsed < target_ns // 40 else 2
    n = max(1, round(n * target_ns / max(elapsed, 1)))
    timed_batch(op, n)  # one more full batch at the final size before the rounds
    return n


def _empty_op(hook: Hook = None) -> None:
    return None


@dataclass
class Outcome:
    contender: Contender
    version: str
    status: str = "ok"  # ok | n/a | failed check
    reason: str = ""
    op: Op | None = None
    n: int = 0
    samples: list[float] = field(default_factory=list)  # ns per op, one per round

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def version_of(contender: Contender) -> str:
    if contender.dist is None:
        return "-"
    try:
        return importlib.metadata.version(contender.dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def prepare(contender: Contender, scenario: str, target_ns: int) -> Outcome:
    outcome = Outcome(contender, version_of(contender))
    try:
        op = contender.setups[scenario]()
        CHECKS[scenario](op)  # on first use
        n = calibrate(op, target_ns)
        CHECKS[scenario](op)  # again once warm: lazily compiling containers have switched
    except NotExpressible as e:
        outcome.status, outcome.reason = "n/a", str(e)
    except ImportError as e:
        outcome.status, outcome.reason = "n/a", f"not installed ({e.name})"
    except CheckFailed as e:
        outcome.status, outcome.reason = "failed check", str(e)
    except Exception as e:  # noqa: BLE001 - a library that breaks is reported, not raised
        outcome.status, outcome.reason = "failed check", f"{type(e).__name__}: {e}"
    else:
        outcome.op, outcome.n = op, n
    return outcome


def run_scenario(scenario: str, rounds: int, target_ns: int) -> list[Outcome]:
    outcomes = [prepare(c, scenario, target_ns) for c in CONTENDERS if scenario in c.setups]
    timed = [(o, o.op) for o in outcomes if o.op is not None]
    for r in range(rounds):
        shift = r % max(len(timed), 1)  # rotate the order so no contender always goes first
        for outcome, op in timed[shift:] + timed[:shift]:
            outcome.samples.append(timed_batch(op, outcome.n) / outcome.n)
    return outcomes


def harness_overhead_ns(target_ns: int) -> float:
    n = calibrate(_empty_op, target_ns)
    return min(timed_batch(_empty_op, n) / n for _ in range(5))


# -- reporting -------------------------------------------------------------------------------

HEADERS = ("library", "version", "ops/s (best)", "µs/op (best)", "µs/op (median)", "vs hand")


def _us(ns: float) -> str:
    us = ns / 1000
    if us < 10:
        return f"{us:.3f}"
    if us < 100:
        return f"{us:.2f}"
    return f"{us:.1f}"


def table_rows(outcomes: list[Outcome], *, markdown: bool) -> list[tuple[str, ...]]:
    timed = sorted((o for o in outcomes if o.samples), key=lambda o: o.best)
    baseline = next((o for o in timed if o.contender.name == BASELINE), None)
    rows = []
    for o in timed:
        name = o.contender.name
        if name == PORTSIDE:
            name = f"**{name}**" if markdown else f">> {name}"
        ratio = f"{o.best / baseline.best:.2f}x" if baseline else "-"
        ops = f"{1e9 / o.best:,.0f}"
        rows.append((name, o.version, ops, _us(o.best), _us(o.median), ratio))
    for o in outcomes:
        if not o.samples:
            rows.append((o.contender.name, o.version, o.status, "-", "-", "-"))
    return rows


def untimed_notes(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.contender.name}: {o.status}: {o.reason}" for o in outcomes if not o.samples]


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (HEADERS, *rows)) for i in range(len(HEADERS))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0])] + [c.rjust(w) for c, w in zip(rest, widths[1:])])

    return "\n".join([line(HEADERS), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    lines.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def targets(results: dict[str, list[Outcome]]) -> list[str]:
    def timed(scenario: str) -> dict[str, Outcome]:
        return {o.contender.name: o for o in results.get(scenario, []) if o.samples}

    lines = []
    for scenario in ("a", "b", "e"):
        if scenario not in results:
            lines.append(f"({scenario}) not run")
            continue
        found = timed(scenario)
        ours, hand = found.get(PORTSIDE), found.get(BASELINE)
        if ours is None:
            lines.append(f"({scenario}) portside was not timed")
            continue
        peers = [o for name, o in found.items() if name not in (PORTSIDE, BASELINE)]
        fastest = min(peers, key=lambda o: o.best, default=None)
        if fastest is None:
            lines.append(f"({scenario}) faster than every peer: no peer was timed")
        else:
            verdict = "yes" if ours.best < fastest.best else "NO"
            lines.append(
                f"({scenario}) faster than every peer: {verdict} (portside {_us(ours.best)} µs, "
                f"fastest peer {fastest.contender.name} {_us(fastest.best)} µs)"
            )
        if hand is not None and scenario != "e":  # (e) has no target against hand-written
            ratio = ours.best / hand.best
            verdict = "yes" if ratio <= TARGET_RATIO else "NO"
            lines.append(
                f"({scenario}) within {TARGET_RATIO:.1f}x of hand-written: {verdict} "
                f"({ratio:.2f}x: {_us(ours.best)} vs {_us(hand.best)} µs; "
                f"median/median {ours.median / hand.median:.2f}x)"
            )
    if "d" not in results:
        lines.append("(d) not run")
    elif (ours := timed("d").get(PORTSIDE)) is None:
        lines.append("(d) portside was not timed")
    else:
        verdict = "yes" if ours.best / 1000 < TARGET_COLD_US else "NO"
        lines.append(
            f"(d) build + first request under {TARGET_COLD_US / 1000:g} ms: {verdict} "
            f"({_us(ours.best)} µs best, {_us(ours.median)} µs median)"
        )
    return lines


def method_lines(rounds: int, target_ms: float, overhead_ns: float) -> list[str]:
    return [
        (
            f"{rounds} interleaved rounds (order rotated each round), each running every "
            f"contender for ~{target_ms:g} ms; gc off inside timed loops; each op warmed up "
            f"first (at least {WARMUP_MIN_CALLS} calls, so lazily compiling containers are "
            "timed compiled)."
        ),
        "best = fastest round, median = median round; vs hand = best / hand-written best.",
        "On a noisy machine the median drifts well above the best; compare the best figures.",
        f"Every op includes the harness's own call, ~{overhead_ns:.0f} ns (an empty function).",
        "(d) is measured in a warm process: module-level caches in any library stay warm.",
    ]


def write_markdown(
    path: Path,
    results: dict[str, list[Outcome]],
    lines_of_method: list[str],
    *,
    quick: bool,
) -> None:
    versions = {c.dist: version_of(c) for c in CONTENDERS if c.dist is not None}
    out = [
        "# DI container benchmark" + (" (quick smoke run, not for comparison)" if quick else ""),
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- platform: {platform.platform()}",
        (
            f"- processor: {platform.processor() or 'unknown'}; CPU: {cpu_model()}; "
            f"{os.cpu_count()} logical CPUs"
        ),
        "- versions: " + ", ".join(f"{dist} {v}" for dist, v in versions.items()),
        "",
        *(f"{line}" for line in lines_of_method),
        "",
    ]
    for scenario, outcomes in results.items():
        out += [
            f"## ({scenario}) {SCENARIOS[scenario]}",
            "",
            markdown_table(table_rows(outcomes, markdown=True)),
        ]
        notes = untimed_notes(outcomes)
        if notes:
            out += ["", *(f"- {note}" for note in notes)]
        out.append("")
    out += ["## How each contender is set up", ""]
    out += [f"- **{c.name}**: {c.how}" for c in CONTENDERS]
    out += ["", "## Targets", "", *(f"- {line}" for line in targets(results)), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark portside's DI container against peers.")
    parser.add_argument("--quick", action="store_true", help="few short rounds: a smoke run")
    parser.add_argument(
        "--scenario",
        default="abcde",
        help="scenarios to run, e.g. 'a', 'a,c' or 'bd' (default: all)",
    )
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 15, quick 3)")
    parser.add_argument(
        "--round-ms", type=float, help="time per contender per round (default 25, quick 3)"
    )
    parser.add_argument("--output", type=Path, help="Markdown file to write")
    args = parser.parse_args(argv)
    wanted = [s for s in args.scenario.lower() if s.isalnum()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {''.join(SCENARIOS)}")
    args.scenarios = [s for s in SCENARIOS if s in wanted]
    if not args.scenarios:
        parser.error(f"no scenario given; choose from {''.join(SCENARIOS)}")
    args.rounds = args.rounds or (3 if args.quick else 15)
    args.round_ms = args.round_ms or (3.0 if args.quick else 25.0)
    args.output = args.output or RESULTS_DIR / ("di-quick.md" if args.quick else "di.md")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    target_ns = int(args.round_ms * 1_000_000)
    overhead = harness_overhead_ns(target_ns)
    method = method_lines(args.rounds, args.round_ms, overhead)
    print(f"Python {platform.python_version()} on {platform.platform()}; CPU: {cpu_model()}")
    print(*method, sep="\n")
    results: dict[str, list[Outcome]] = {}
    try:
        for scenario in args.scenarios:
            outcomes = run_scenario(scenario, args.rounds, target_ns)
            results[scenario] = outcomes
            print(f"\n({scenario}) {SCENARIOS[scenario]}")
            print(text_table(table_rows(outcomes, markdown=False)))
            for note in untimed_notes(outcomes):
                print(f"  {note}")
    finally:
        close_event_loop()
    print("\ntargets")
    for line in targets(results):
        print(f"  {line}")
    write_markdown(args.output, results, method, quick=args.quick)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
