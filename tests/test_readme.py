"""The README's tour is executable documentation: every Python block runs, in order."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_tour():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "readme_tour", ROOT / "examples" / "readme_tour.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_has_a_tour() -> None:
    tour = load_tour()
    assert len(tour.blocks((ROOT / "README.md").read_text())) >= 4


def test_the_readme_tour_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace = load_tour().run()
    out = capsys.readouterr().out
    assert "hello, user-7" in out
    assert "chain: SignUp -> Greeter -> UserPort" in out
    assert "['Email: /signup', 'Sms: /signup']" in out
    assert "flowchart TD" in out
    assert "consumer started\nconsumer stopped" in out
    assert "[('UserRenamed', 'u1', 'Ada Lovelace')]" in out
    assert "User 'nobody' does not exist" in out
    assert "shipping got o-1 correlation" in out
    assert "provider" in namespace
