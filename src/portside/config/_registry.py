"""Providers: the adapters a configuration section can choose, found through entry points.

A provider package declares, in its own metadata::

    [project.entry-points."portside.providers"]
    "storage.sql" = "portside.storage.sql:provider"

where ``provider`` is a :class:`Provider`. Loading the entry point imports only the module
that defines it, so that module must not import its driver at the top: the ``module``
factory does that, when the provider is selected.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from portside.di import Module

__all__ = ["ENTRY_POINT_GROUP", "NoSettings", "Provider", "ProviderRegistry"]

ENTRY_POINT_GROUP = "portside.providers"


class NoSettings(BaseModel):
    """The settings of a provider that takes none: any key is an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Provider:
    """An adapter choice for one concern (``storage``, ``messaging``, ``cache`` ...).

    ``module(settings)`` returns the DI module that registers the adapter against the
    concern's ports; ``settings`` validates the section's other keys (``extra="forbid"``
    is expected). ``requires`` names importable modules the provider needs, and
    ``extra`` the portside extra that installs them.
    """

    concern: str
    name: str
    module: Callable[[Any], Module]
    settings: type[BaseModel] = NoSettings
    extra: str | None = None
    requires: tuple[str, ...] = ()
    default: bool = False
    description: str = ""
    origin: str = field(default="", compare=False)

    def missing_requirements(self) -> list[str]:
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def install_hint(self) -> str:
        if self.extra:
            return f"pip install 'portside[{self.extra}]'"
        return "pip install " + " ".join(self.missing_requirements())


@dataclass(frozen=True)
class _Broken:
    name: str
    reason: str


class ProviderRegistry:
    """The known providers, by concern and name."""

    def __init__(self, providers: Iterable[Provider] = ()) -> None:
        self._providers: dict[tuple[str, str], Provider] = {}
        self._broken: dict[tuple[str, str], _Broken] = {}
        self._conflicts: dict[tuple[str, str], list[str]] = {}
        for provider in providers:
            self.add(provider)

    @classmethod
    def discover(cls, extra: Iterable[Provider] = ()) -> ProviderRegistry:
        """Every provider installed here (entry point group ``portside.providers``)."""
        registry = cls()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            origin = f"entry point {ep.name!r} ({ep.value})"
            concern, _, name = ep.name.partition(".")
            try:
                provider = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported when chosen
                registry._broken[(concern, name)] = _Broken(ep.name, f"{type(exc).__name__}: {exc}")
                continue
            if not isinstance(provider, Provider):
                registry._broken[(concern, name)] = _Broken(
                    ep.name, f"{ep.value} is a {type(provider).__name__}, not a portside Provider"
                )
                continue
            registry.add(provider, origin=origin)
        for provider in extra:
            registry.add(provider)
        return registry

    def add(self, provider: Provider, *, origin: str = "") -> None:
        key = (provider.concern, provider.name)
        if origin and not provider.origin:
            object.__setattr__(provider, "origin", origin)
        existing = self._providers.get(key)
        if existing is not None and existing is not provider:
            self._conflicts.setdefault(key, [existing.origin or "code"]).append(
                provider.origin or "code"
            )
            return
        self._providers[key] = provider

    def concerns(self) -> list[str]:
        return sorted({c for c, _ in self._providers} | {c for c, _ in self._broken})

    def names(self, concern: str) -> list[str]:
        return sorted(n for c, n in self._providers if c == concern)

    def default(self, concern: str) -> Provider | None:
        defaults = [p for (c, _), p in self._providers.items() if c == concern and p.default]
        return defaults[0] if len(defaults) == 1 else None

    def get(self, concern: str, name: str) -> Provider:
        """The provider, or ``LookupError`` with a message that says what to do."""
        key = (concern, name)
        if key in self._conflicts:
            raise LookupError(
                f"two packages register provider {name!r} for [{concern}]: "
                + " and ".join(self._conflicts[key])
                + "; uninstall one of them"
            )
        if key in self._broken:
            broken = self._broken[key]
            raise LookupError(f"provider {name!r} for [{concern}] failed to load ({broken.reason})")
        provider = self._providers.get(key)
        if provider is None:
            known = self.names(concern)
            close = difflib.get_close_matches(name, known, n=1)
            raise LookupError(
                f"unknown provider {name!r} for [{concern}]; known: "
                + (", ".join(repr(k) for k in known) if known else "none installed")
                + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        missing = provider.missing_requirements()
        if missing:
            raise LookupError(
                f"provider {name!r} for [{concern}] needs {', '.join(missing)}, which is not "
                f"installed: {provider.install_hint()}"
            )
        return provider
