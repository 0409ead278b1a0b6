"""The validated configuration: host and logging settings, the provider chosen for each
concern, and the services to run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from portside.di import Module

from ._errors import ConfigError, Problem
from ._registry import Provider, ProviderRegistry
from ._secrets import shown
from ._sources import Origin, RawConfig, key_label, read_sources

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "Choice",
    "Config",
    "HostSettings",
    "LoggingSettings",
    "ServiceConfig",
    "load_config",
]

DEFAULT_CONFIG_FILE = "portside.toml"
CONFIG_ENV = "PORTSIDE_CONFIG"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Seconds = Annotated[float, Field(gt=0)]


class HostSettings(BaseModel):
    """``[host]``: how services start and stop."""

    model_config = ConfigDict(extra="forbid")

    shutdown_timeout: Seconds = 25.0
    """Seconds in-flight work may take to drain after a stop signal."""
    stop_timeout: Seconds = 10.0
    """Seconds each stop hook may take."""
    start_timeout: Seconds = 60.0
    """Seconds each start hook may take."""
    check_timeout: Seconds = 2.0
    """Seconds each readiness check may take."""


class LoggingSettings(BaseModel):
    """``[logging]``: standard-library logging."""

    model_config = ConfigDict(extra="forbid")

    level: LogLevel = "INFO"
    format: Literal["text", "json"] = "text"
    levels: dict[str, LogLevel] = Field(default_factory=dict)
    """Levels per logger name, e.g. ``{"sqlalchemy.engine" = "WARNING"}``."""
    color: Literal["auto", "always", "never"] = "auto"


FIXED_SECTIONS: dict[str, type[BaseModel]] = {"host": HostSettings, "logging": LoggingSettings}


@dataclass(frozen=True)
class Choice:
    """The provider chosen for one concern, with its validated settings."""

    concern: str
    provider: Provider
    settings: BaseModel

    def module(self) -> Module:
        return self.provider.module(self.settings)


@dataclass(frozen=True)
class ServiceConfig:
    """What one service gets from the configuration."""

    name: str
    settings: BaseModel | None
    choices: dict[str, Choice]


def _validation_problems(
    exc: ValidationError, raw: RawConfig, base: tuple[str, ...], *, skip: int = 0
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"][skip:])
        path = (*base, *loc)
        value = None
        if error["type"] not in ("missing",) and "input" in error:
            value = shown(path[-1], error["input"], secret=path in raw.secrets)
        reason = error["msg"]
        if error["type"] == "extra_forbidden":
            reason = "unknown key"
        problems.append(Problem(str(raw.origin(path)), key_label(path), reason, value))
    return problems


def _unknown_key_hint(problems: list[Problem], model: type[BaseModel]) -> list[Problem]:
    known = ", ".join(sorted(model.model_fields))
    return [
        Problem(p.where, p.key, f"{p.reason} (known keys: {known or 'none'})", p.value)
        if p.reason == "unknown key"
        else p
        for p in problems
    ]


@dataclass(frozen=True)
class Config:
    """The whole validated configuration of a deployment."""

    host: HostSettings
    logging: LoggingSettings
    choices: dict[str, Choice]
    services: dict[str, dict[str, Any]]
    raw: RawConfig
    registry: ProviderRegistry = field(repr=False)

    @property
    def file(self) -> Path | None:
        return self.raw.file

    def origin(self, *path: str) -> Origin:
        return self.raw.origin(path)

    def for_service(
        self,
        name: str,
        *,
        settings: type[BaseModel] | None = None,
        requires: Iterable[str] = (),
    ) -> ServiceConfig:
        """Validate ``[services.<name>]`` and pick the providers the service uses.

        Concern tables inside the service's table (``[services.users.storage]``) override the
        global ones key by key; a concern the service ``requires`` but nobody configured
        falls back to its default provider.
        """
        table = self.raw.section("services", name)
        base = ("services", name)
        problems: list[Problem] = []
        concerns = set(self.registry.concerns())
        own = {k: v for k, v in table.items() if k not in concerns and k != "app"}
        overrides = {k: v for k, v in table.items() if k in concerns}
        validated: BaseModel | None = None
        if settings is not None:
            try:
                validated = settings.model_validate(own)
            except ValidationError as exc:
                problems += _unknown_key_hint(_validation_problems(exc, self.raw, base), settings)
        elif own:
            for key, value in own.items():
                problems.append(
                    Problem(
                        str(self.raw.origin((*base, key))),
                        key_label((*base, key)),
                        f"unknown key: service {name!r} declares no settings"
                        + (f"; concerns are {', '.join(sorted(concerns))}" if concerns else ""),
                        shown(key, value, secret=(*base, key) in self.raw.secrets),
                    )
                )
        choices = dict(self.choices)
        for concern, override in overrides.items():
            merged = {
                **self.raw.section(concern),
                **(override if isinstance(override, Mapping) else {}),
            }
            choice, found = _choose(concern, merged, self.raw, self.registry, (*base, concern))
            problems += found
            if choice is not None:
                choices[concern] = choice
        for concern in requires:
            if concern in choices:
                continue
            choice, found = _choose(concern, {}, self.raw, self.registry, (concern,))
            problems += found
            if choice is not None:
                choices[concern] = choice
        if problems:
            raise ConfigError(problems, source=str(self.raw.file or "environment"))
        return ServiceConfig(name, validated, choices)


def _choose(
    concern: str,
    table: Mapping[str, Any],
    raw: RawConfig,
    registry: ProviderRegistry,
    base: tuple[str, ...],
) -> tuple[Choice | None, list[Problem]]:
    where = str(raw.origin((*base, "provider")))
    name = table.get("provider")
    if name is None:
        default = registry.default(concern)
        if default is None:
            known = registry.names(concern)
            return None, [
                Problem(
                    where,
                    key_label((*base, "provider")),
                    "no provider chosen; set provider = one of "
                    + (", ".join(repr(k) for k in known) if known else "(none installed)"),
                )
            ]
        name = default.name
    if not isinstance(name, str):
        return None, [
            Problem(where, key_label((*base, "provider")), "must be a string", repr(name))
        ]
    try:
        provider = registry.get(concern, name)
    except LookupError as exc:
        return None, [Problem(where, key_label((*base, "provider")), str(exc), f'"{name}"')]
    rest = {k: v for k, v in table.items() if k != "provider"}
    try:
        settings = provider.settings.model_validate(rest)
    except ValidationError as exc:
        problems = _validation_problems(exc, raw, base)
        return None, _unknown_key_hint(problems, provider.settings)
    return Choice(concern, provider, settings), []


def config_path(path: str | Path | None) -> tuple[Path, bool]:
    """The file to read and whether it must exist (it must when named explicitly)."""
    if path is not None:
        return Path(path), True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env), True
    return Path(DEFAULT_CONFIG_FILE), False


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    registry: ProviderRegistry | None = None,
) -> Config:
    """Read, merge and validate the configuration; raise :class:`ConfigError` listing every
    problem (file, section and key, the value, and why it is wrong)."""
    registry = ProviderRegistry.discover() if registry is None else registry
    file, required = config_path(path)
    concerns = registry.concerns()
    sections = [*FIXED_SECTIONS, "services", *concerns]
    raw, problems = read_sources(file, sections=sections, environ=environ, required=required)
    values: dict[str, BaseModel] = {}
    for section, model in FIXED_SECTIONS.items():
        try:
            values[section] = model.model_validate(raw.section(section))
        except ValidationError as exc:
            problems += _unknown_key_hint(_validation_problems(exc, raw, (section,)), model)
    choices: dict[str, Choice] = {}
    for section, table in raw.data.items():
        if section in FIXED_SECTIONS or section == "services":
            continue
        if section not in concerns:
            problems.append(
                Problem(
                    str(raw.origin((section,))),
                    f"[{section}]",
                    "unknown section; known sections: " + ", ".join(sorted(sections)),
                )
            )
            continue
        if not isinstance(table, Mapping):
            problems.append(Problem(str(raw.origin((section,))), f"[{section}]", "must be a table"))
            continue
        choice, found = _choose(section, table, raw, registry, (section,))
        problems += found
        if choice is not None:
            choices[section] = choice
    services: dict[str, dict[str, Any]] = {}
    for name, table in raw.section("services").items():
        service_path = ("services", name)
        if not isinstance(table, Mapping):
            problems.append(
                Problem(str(raw.origin(service_path)), key_label(service_path), "must be a table")
            )
            continue
        app = table.get("app")
        if not isinstance(app, str) or ":" not in app:
            problems.append(
                Problem(
                    str(raw.origin((*service_path, "app"))),
                    key_label((*service_path, "app")),
                    "required: the service to run, as 'package.module:attribute'",
                    None if app is None else shown("app", app),
                )
            )
            continue
        services[name] = dict(table)
    if problems:
        raise ConfigError(problems, source=str(file))
    host = cast("HostSettings", values["host"])
    logging = cast("LoggingSettings", values["logging"])
    return Config(host, logging, choices, services, raw, registry)
