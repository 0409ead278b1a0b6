"""Reading configuration: one TOML file plus ``PORTSIDE_<SECTION>__<KEY>`` environment
variables (which win), with secrets read from ``*_file`` paths, remembering where every
value came from."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, TomlConfigSettingsSource

from ._errors import Problem

__all__ = ["ENV_PREFIX", "Origin", "RawConfig", "key_label", "read_sources"]

ENV_PREFIX = "PORTSIDE_"
ENV_DELIMITER = "__"
SECRET_FILE_SUFFIX = "_file"  # noqa: S105 - a key suffix, not a password

Path_ = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    kind: str  # "default", "file", "env", "secret file"
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "env":
            return f"environment variable {self.detail}"
        if self.kind in ("file", "secret file"):
            return self.detail
        return self.kind


DEFAULT = Origin("default")


@dataclass
class RawConfig:
    """The merged, unvalidated configuration and where each leaf came from."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[Path_, Origin] = field(default_factory=dict)
    secrets: set[Path_] = field(default_factory=set)
    file: Path | None = None

    def origin(self, path: Path_) -> Origin:
        """Where the value at ``path`` (or its nearest parent) came from."""
        while path:
            found = self.origins.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return DEFAULT

    def record(self, path: Path_, origin: Origin) -> None:
        """``path`` came from ``origin``; its enclosing tables too, unless already known."""
        self.origins[path] = origin
        for end in range(1, len(path)):
            self.origins.setdefault(path[:end], origin)

    def section(self, *path: str) -> dict[str, Any]:
        node: Any = self.data
        for part in path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return dict(node) if isinstance(node, dict) else {}


def _leaves(data: Mapping[str, Any], prefix: Path_ = ()) -> Iterable[tuple[Path_, Any]]:
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _set(data: dict[str, Any], path: Path_, value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _decode(value: Any) -> Any:
    """Environment values holding JSON lists or tables (``'{"a": "DEBUG"}'``) are decoded."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _settings_class(sections: Iterable[str]) -> type[BaseSettings]:
    fields: dict[str, Any] = {name: (dict[str, Any], {}) for name in sections}
    return create_model("PortsideSources", __base__=BaseSettings, **fields)


def read_sources(
    path: Path | None,
    *,
    sections: Iterable[str],
    environ: Mapping[str, str] | None = None,
    required: bool = False,
) -> tuple[RawConfig, list[Problem]]:
    """Read the file and the environment into one :class:`RawConfig`.

    ``sections`` are the top-level tables the environment may set (pydantic-settings reads
    only declared fields); an environment variable naming any other section is a problem,
    as is a missing file when ``required``.
    """
    known = sorted(set(sections))
    settings_cls = _settings_class(known)
    raw = RawConfig(file=path)
    problems: list[Problem] = []
    if path is not None:
        if path.is_file():
            try:
                from_file = TomlConfigSettingsSource(settings_cls, toml_file=path).toml_data
            except tomllib.TOMLDecodeError as exc:
                problems.append(Problem(str(path), "(file)", f"not valid TOML: {exc}"))
                from_file = {}
            for leaf, value in _leaves(from_file):
                _set(raw.data, leaf, value)
                raw.record(leaf, Origin("file", str(path)))
        elif required:
            problems.append(Problem(str(path), "(file)", "the configuration file does not exist"))
    env = dict(os.environ if environ is None else environ)
    source = EnvSettingsSource(
        settings_cls,
        case_sensitive=False,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
    )
    source.env_vars = {k.lower(): v for k, v in env.items()}
    for leaf, value in _leaves(source()):
        _set(raw.data, leaf, _decode(value))
        raw.record(leaf, Origin("env", ENV_PREFIX + ENV_DELIMITER.join(leaf).upper()))
    for name in env:
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and ENV_DELIMITER in upper:
            section = upper[len(ENV_PREFIX) :].split(ENV_DELIMITER, 1)[0].lower()
            if section not in known:
                problems.append(
                    Problem(
                        f"environment variable {name}",
                        f"[{section}]",
                        "unknown section; known sections: " + ", ".join(known),
                    )
                )
    problems.extend(_read_secret_files(raw))
    return raw, problems


def _read_secret_files(raw: RawConfig) -> list[Problem]:
    problems: list[Problem] = []
    for leaf, value in list(_leaves(raw.data)):
        if not leaf[-1].endswith(SECRET_FILE_SUFFIX) or len(leaf[-1]) <= len(SECRET_FILE_SUFFIX):
            continue
        target = (*leaf[:-1], leaf[-1][: -len(SECRET_FILE_SUFFIX)])
        where = str(raw.origin(leaf))
        key = key_label(leaf)
        if _get(raw.data, target) is not None:
            problems.append(
                Problem(where, key, f"give either {target[-1]} or {leaf[-1]}, not both")
            )
            continue
        try:
            secret = Path(str(value)).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            problems.append(
                Problem(where, key, f"cannot read the secret file: {exc.strerror}", f'"{value}"')
            )
            continue
        _delete(raw.data, leaf)
        raw.origins.pop(leaf, None)
        _set(raw.data, target, secret)
        raw.record(target, Origin("secret file", f"{value} (from {leaf[-1]}, {where})"))
        raw.secrets.add(target)
    return problems


def _get(data: Mapping[str, Any], path: Path_) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _delete(data: dict[str, Any], path: Path_) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


def key_label(path: Path_) -> str:
    """``("storage", "pool", "size")`` -> ``[storage] pool.size``."""
    if len(path) == 1:
        return f"[{path[0]}]"
    if path[0] == "services" and len(path) > 2:
        return f"[services.{path[1]}] " + ".".join(path[2:])
    return f"[{path[0]}] " + ".".join(path[1:])
