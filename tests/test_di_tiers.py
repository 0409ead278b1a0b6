"""The default provider walks the graph first, then compiles it once it is in real use."""

from collections.abc import Iterator

from portside.di import ServiceCollection
from portside.di._provider import COMPILE_AFTER


class Config:
    pass


class Session:
    def __init__(self, config: Config) -> None:
        self.config = config


class Repo:
    def __init__(self, session: Session) -> None:
        self.session = session


def collection(log: list[str]) -> ServiceCollection:
    def session(config: Config) -> Iterator[Session]:
        yield Session(config)
        log.append("closed")

    s = ServiceCollection().add_singleton(Config)
    return s.add_scoped(Session, factory=session).add_scoped(Repo)


def test_a_provider_compiles_after_a_few_resolutions_and_keeps_its_instances() -> None:
    log: list[str] = []
    provider = collection(log).build()
    config = provider.get(Config)
    assert not provider.compiled
    scope = provider.create_scope()
    session = scope.get(Session)  # served by the graph-walking tier
    for _ in range(COMPILE_AFTER):
        with provider.create_scope() as other:
            other.get(Repo)
    assert provider.compiled
    repo = scope.get(Repo)  # served by generated code, in the same scope
    assert repo.session is session
    assert repo.session.config is config is provider.get(Config)
    scope.close()
    assert log.count("closed") == COMPILE_AFTER + 1


def test_compiled_and_never_compiled_providers_can_be_chosen() -> None:
    assert collection([]).build(compiled=True).compiled
    never = collection([]).build(compiled=False)
    for _ in range(COMPILE_AFTER * 2):
        with never.create_scope() as scope:
            scope.get(Repo)
    assert not never.compiled


def test_a_provider_does_not_compile_while_an_override_is_active() -> None:
    provider = collection([]).build()
    fake = Config()
    with provider.override(Config, instance=fake):
        for _ in range(COMPILE_AFTER * 2):
            with provider.create_scope() as scope:
                assert scope.get(Repo).session.config is fake
        assert not provider.compiled
    for _ in range(COMPILE_AFTER):
        with provider.create_scope() as scope:
            assert scope.get(Repo).session.config is not fake
    assert provider.compiled
