"""Providers are found through the ``portside.providers`` entry point group."""

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from portside.config import ConfigError, Provider, ProviderRegistry, load_config


def install_package(root: Path, name: str, entry_points: str, module_source: str) -> None:
    """A minimal installed distribution: a module plus its .dist-info with entry points."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("acme_")]:
        del sys.modules[name]


def test_a_third_party_provider_is_discovered_and_selectable(site: Path) -> None:
    install_package(
        site,
        "acme_cache",
        """
        [portside.providers]
        cache.acme = acme_cache:provider
        """,
        """
        from pydantic import BaseModel, ConfigDict
        from portside.config import Provider
        from portside.di import Module

        class AcmeSettings(BaseModel):
            model_config = ConfigDict(extra="forbid")
            nodes: int = 1

        class AcmeCache:
            pass

        provider = Provider(
            "cache", "acme", lambda s: Module("cache.acme").add_singleton(AcmeCache), AcmeSettings
        )
        """,
    )
    registry = ProviderRegistry.discover()
    assert "acme" in registry.names("cache")
    path = site / "portside.toml"
    path.write_text('[cache]\nprovider = "acme"\nnodes = 3\n')
    config = load_config(path, environ={}, registry=registry)
    choice = config.choices["cache"]
    assert choice.settings.nodes == 3  # type: ignore[attr-defined]
    assert choice.provider.origin == "entry point 'cache.acme' (acme_cache:provider)"


def test_a_provider_that_fails_to_import_is_reported_when_chosen(site: Path) -> None:
    install_package(
        site,
        "acme_broken",
        """
        [portside.providers]
        cache.broken = acme_broken:provider
        """,
        "import acme_driver_that_is_not_installed\n",
    )
    path = site / "portside.toml"
    path.write_text('[cache]\nprovider = "broken"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, registry=ProviderRegistry.discover())
    assert "provider 'broken' for [cache] failed to load (ModuleNotFoundError" in str(info.value)


def test_an_entry_point_that_is_not_a_provider_is_reported(site: Path) -> None:
    install_package(
        site,
        "acme_wrong",
        """
        [portside.providers]
        cache.wrong = acme_wrong:provider
        """,
        "provider = 42\n",
    )
    with pytest.raises(LookupError, match="is a int, not a portside Provider"):
        ProviderRegistry.discover().get("cache", "wrong")


def test_two_packages_claiming_one_provider_name_is_an_error() -> None:
    from portside.di import Module

    first = Provider("cache", "dup", lambda s: Module("a"), origin="package a")
    second = Provider("cache", "dup", lambda s: Module("b"), origin="package b")
    registry = ProviderRegistry([first, second])
    with pytest.raises(
        LookupError,
        match="two packages register provider 'dup' for \\[cache\\]: package a and package b",
    ):
        registry.get("cache", "dup")
