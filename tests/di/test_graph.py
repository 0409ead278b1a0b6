"""provider.graph(): nodes, edges, and Mermaid / Graphviz renderings."""

from portside.di import Module, ServiceCollection


class Config:
    pass


class Session:
    def __init__(self, config: Config) -> None:
        pass


class Repo:
    def __init__(self, session: Session) -> None:
        pass


def provider_graph():  # type: ignore[no-untyped-def]
    data = Module("data").add_scoped(Session).add_scoped(Repo)
    return ServiceCollection().add_singleton(Config).add_module(data).build().graph()


def test_the_graph_lists_every_registration_and_dependency() -> None:
    graph = provider_graph()
    assert [n.label for n in graph.nodes] == ["Config", "Session", "Repo"]
    repo, session, config = graph.node(Repo), graph.node(Session), graph.node(Config)
    assert graph.dependencies(repo) == [session]
    assert graph.dependencies(session) == [config]
    assert (session.lifetime, session.module) == ("scoped", "data")


def test_mermaid_shows_service_lifetime_and_module() -> None:
    text = provider_graph().to_mermaid()
    assert text.startswith("flowchart TD\n")
    assert 'n1["Session<br/>scoped · data"]' in text
    assert 'n0["Config<br/>singleton · root"]' in text
    assert "n2 --> n1" in text
    assert "n1 --> n0" in text


def test_dot_shows_service_lifetime_and_module() -> None:
    text = provider_graph().to_dot()
    assert text.startswith("digraph services {")
    assert 'n2 [label="Repo\\nscoped · data"];' in text
    assert "n2 -> n1;" in text
    assert text.rstrip().endswith("}")
