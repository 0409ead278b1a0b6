"""``portside config show``: the effective configuration, secrets masked, each value with
where it came from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from ._model import FIXED_SECTIONS, Config
from ._secrets import shown

__all__ = ["render"]


def _lines(
    config: Config, path: tuple[str, ...], values: Mapping[str, Any]
) -> Iterable[tuple[str, str]]:
    for key, value in values.items():
        leaf = (*path, key)
        if isinstance(value, Mapping) and value:
            for sub_key, sub_value in value.items():
                sub = (*leaf, str(sub_key))
                text = shown(str(sub_key), sub_value, secret=sub in config.raw.secrets)
                yield f"{key}.{sub_key} = {text}", str(config.raw.origins.get(sub, "default"))
            continue
        text = shown(key, value, secret=leaf in config.raw.secrets)
        yield f"{key} = {text}", str(config.raw.origins.get(leaf, "default"))


def _section(config: Config, title: str, path: tuple[str, ...], values: Mapping[str, Any]) -> str:
    rows = list(_lines(config, path, values))
    width = max((len(text) for text, _ in rows), default=0)
    body = "\n".join(f"{text.ljust(width)}  # {origin}" for text, origin in rows)
    return f"[{title}]\n{body}".rstrip()


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="python")


def render(config: Config) -> str:
    """The effective configuration as TOML-like text with an origin comment per value."""
    source = str(config.file) if config.file and config.file.exists() else "(no file)"
    parts = [f"# configuration file: {source}"]
    parts.extend(
        _section(config, section, (section,), _dump(getattr(config, section)))
        for section in FIXED_SECTIONS
    )
    for concern, choice in sorted(config.choices.items()):
        values = {"provider": choice.provider.name, **_dump(choice.settings)}
        parts.append(_section(config, concern, (concern,), values))
    for name, table in sorted(config.services.items()):
        parts.append(_section(config, f"services.{name}", ("services", name), table))
    return "\n\n".join(parts) + "\n"
