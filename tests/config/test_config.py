"""Configuration: precedence, secret files, provider choice, and every error path."""

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from portside.config import ConfigError, ProviderRegistry, load_config, render

from .conftest import Engine, SqlSettings

Write = Callable[..., Path]


def test_a_named_file_that_does_not_exist_is_an_error(
    tmp_path: Path, registry: ProviderRegistry
) -> None:
    missing = tmp_path / "portside.toml"
    with pytest.raises(
        ConfigError, match=r"portside\.toml: \(file\): the configuration file does not exist"
    ):
        load_config(missing, environ={}, registry=registry)


def test_the_default_file_may_be_absent(
    tmp_path: Path, registry: ProviderRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORTSIDE_CONFIG", raising=False)
    config = load_config(environ={}, registry=registry)
    assert config.host.shutdown_timeout == 25.0
    assert config.logging.format == "text"
    assert config.choices == {}
    assert str(config.origin("host", "shutdown_timeout")) == "default"


def test_precedence_is_default_then_file_then_environment(
    write: Write, registry: ProviderRegistry
) -> None:
    path = write(
        """
[host]
shutdown_timeout = 5
stop_timeout = 3

[storage]
provider = "sql"
url = "postgresql://app@db/shop"
pool_size = 10
"""
    )
    env = {"PORTSIDE_HOST__STOP_TIMEOUT": "7", "PORTSIDE_STORAGE__POOL_SIZE": "20"}
    config = load_config(path, environ=env, registry=registry)
    assert config.host.shutdown_timeout == 5  # file
    assert config.host.stop_timeout == 7  # env beats file
    assert config.host.check_timeout == 2.0  # default
    storage = config.choices["storage"]
    assert storage.provider.name == "sql"
    assert isinstance(storage.settings, SqlSettings)
    assert storage.settings.pool_size == 20
    assert storage.settings.url == "postgresql://app@db/shop"
    assert (
        str(config.origin("host", "stop_timeout"))
        == "environment variable PORTSIDE_HOST__STOP_TIMEOUT"
    )
    assert str(config.origin("host", "shutdown_timeout")) == str(path)


def test_environment_alone_can_choose_a_provider(write: Write, registry: ProviderRegistry) -> None:
    config = load_config(
        write(""), environ={"PORTSIDE_STORAGE__PROVIDER": "memory"}, registry=registry
    )
    assert config.choices["storage"].provider.name == "memory"


def test_variables_without_a_section_delimiter_are_not_configuration(
    write: Write, registry: ProviderRegistry
) -> None:
    env = {"PORTSIDE_REQUIRE_SERVICES": "1", "PORTSIDE_CONFIG": "elsewhere.toml"}
    config = load_config(write(""), environ=env, registry=registry)
    assert config.choices == {}


def test_the_chosen_providers_module_registers_its_adapters(
    write: Write, registry: ProviderRegistry
) -> None:
    config = load_config(write('[storage]\nprovider = "sql"\n'), environ={}, registry=registry)
    from portside.di import ServiceCollection

    choice = config.choices["storage"]
    services = ServiceCollection().add_singleton(SqlSettings, instance=choice.settings)
    provider = services.add_module(choice.module()).build()
    assert provider.get(Engine).settings.url.startswith("sqlite")


def test_a_secret_is_read_from_a_file_and_never_shown(
    write: Write, registry: ProviderRegistry, tmp_path: Path
) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("hunter2\n")
    path = write(f'[storage]\nprovider = "sql"\npassword_file = "{secret}"\n')
    config = load_config(path, environ={}, registry=registry)
    settings = config.choices["storage"].settings
    assert isinstance(settings, SqlSettings)
    assert settings.password is not None
    assert settings.password.get_secret_value() == "hunter2"
    shown = render(config)
    assert "hunter2" not in shown
    assert 'password = "********"' in shown
    assert str(secret) in shown  # where it came from


def test_a_secret_file_may_be_named_in_the_environment(
    write: Write, registry: ProviderRegistry, tmp_path: Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    env = {"PORTSIDE_STORAGE__PASSWORD_FILE": str(secret)}
    config = load_config(write('[storage]\nprovider = "sql"\n'), environ=env, registry=registry)
    settings = config.choices["storage"].settings
    assert isinstance(settings, SqlSettings)
    assert settings.password is not None
    assert settings.password.get_secret_value() == "s3cret"


def test_a_missing_secret_file_is_an_error_naming_the_key(
    write: Write, registry: ProviderRegistry
) -> None:
    path = write('[storage]\nprovider = "sql"\npassword_file = "/nonexistent/pw"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, registry=registry)
    message = str(info.value)
    assert "[storage] password_file" in message
    assert "/nonexistent/pw" in message
    assert "cannot read the secret file" in message


def test_passwords_in_urls_are_masked_in_show(write: Write, registry: ProviderRegistry) -> None:
    path = write('[storage]\nprovider = "sql"\nurl = "postgresql://app:topsecret@db/shop"\n')
    shown = render(load_config(path, environ={}, registry=registry))
    assert "topsecret" not in shown
    assert "postgresql://app:********@db/shop" in shown


def test_show_names_the_origin_of_every_value(write: Write, registry: ProviderRegistry) -> None:
    path = write('[logging]\nformat = "json"\n')
    env = {"PORTSIDE_LOGGING__LEVEL": "DEBUG"}
    shown = render(load_config(path, environ=env, registry=registry))
    lines = {line.split("=")[0].strip(): line for line in shown.splitlines() if "=" in line}
    assert lines["format"].endswith(f"# {path}")
    assert lines["level"].endswith("# environment variable PORTSIDE_LOGGING__LEVEL")
    assert lines["color"].endswith("# default")


# -- errors ---------------------------------------------------------------------------------


def problems_of(
    path: Path, registry: ProviderRegistry, environ: dict[str, str] | None = None
) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {}, registry=registry)
    return str(info.value)


def test_an_unknown_provider_lists_the_known_ones_and_the_nearest(
    write: Write, registry: ProviderRegistry
) -> None:
    message = problems_of(write('[storage]\nprovider = "sqll"\n'), registry)
    assert "[storage] provider" in message
    assert "unknown provider 'sqll' for [storage]; known: 'memory', 'sql'" in message
    assert "did you mean 'sql'?" in message


def test_a_provider_whose_extra_is_missing_names_the_extra(
    write: Write, registry: ProviderRegistry
) -> None:
    message = problems_of(write('[messaging]\nprovider = "rabbitmq"\n'), registry)
    assert "needs portside_test_missing_driver" in message
    assert "pip install 'portside[rabbitmq]'" in message


def test_an_invalid_value_names_file_section_key_value_and_reason(
    write: Write, registry: ProviderRegistry
) -> None:
    path = write('[storage]\nprovider = "sql"\npool_size = "many"\n')
    message = problems_of(path, registry)
    assert f'{path}: [storage] pool_size = "many": Input should be a valid integer' in message


def test_an_invalid_environment_value_names_the_variable(
    write: Write, registry: ProviderRegistry
) -> None:
    env = {"PORTSIDE_HOST__SHUTDOWN_TIMEOUT": "-1"}
    message = problems_of(write(""), registry, env)
    assert (
        "environment variable PORTSIDE_HOST__SHUTDOWN_TIMEOUT: [host] shutdown_timeout" in message
    )
    assert "greater than 0" in message


def test_unknown_keys_and_sections_are_errors(write: Write, registry: ProviderRegistry) -> None:
    path = write(
        '[logging]\ncolour = "always"\n\n[storrage]\nprovider = "sql"\n\n'
        '[storage]\nprovider = "sql"\npoolsize = 3\n'
    )
    message = problems_of(path, registry, {"PORTSIDE_HOSTT__X": "1"})
    assert "[logging] colour" in message
    assert "unknown key (known keys: color, format, level, levels)" in message
    assert "[storrage]: unknown section; known sections:" in message
    assert "[storage] poolsize" in message
    assert "environment variable PORTSIDE_HOSTT__X: [hostt]: unknown section" in message


def test_every_problem_is_reported_at_once(write: Write, registry: ProviderRegistry) -> None:
    path = write(
        '[host]\nstop_timeout = "soon"\n[storage]\nprovider = "nope"\n[logging]\nformat = "xml"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={}, registry=registry)
    keys = sorted(p.key for p in info.value.problems)
    assert keys == ["[host] stop_timeout", "[logging] format", "[storage] provider"]


def test_a_secret_value_never_appears_in_an_error(
    write: Write, registry: ProviderRegistry, tmp_path: Path
) -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        api_token: int = 0

    from portside.config import Provider
    from portside.di import Module

    registry.add(Provider("metrics", "strict", lambda s: Module("m"), Strict))
    path = write('[metrics]\nprovider = "strict"\napi_token = "tok-abc123"\n')
    message = problems_of(path, registry)
    assert "tok-abc123" not in message
    assert '[metrics] api_token = "********"' in message


def test_malformed_toml_names_the_file_and_position(
    write: Write, registry: ProviderRegistry
) -> None:
    path = write("[storage\nprovider = 1\n")
    message = problems_of(path, registry)
    assert str(path) in message
    assert "not valid TOML" in message
    assert "line 1" in message


def test_a_service_table_needs_an_app(write: Write, registry: ProviderRegistry) -> None:
    message = problems_of(write("[services.users]\nfoo = 1\n"), registry)
    assert "[services.users] app" in message
    assert "package.module:attribute" in message


class UsersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_size: int = 20


def test_service_settings_and_per_service_provider_overrides(
    write: Write, registry: ProviderRegistry
) -> None:
    path = write(
        """
[storage]
provider = "sql"
url = "postgresql://db/shared"

[services.users]
app = "users.app:service"
page_size = 50

[services.users.storage]
url = "postgresql://db/users"
"""
    )
    config = load_config(path, environ={}, registry=registry)
    users = config.for_service("users", settings=UsersSettings, requires=["storage"])
    assert isinstance(users.settings, UsersSettings)
    assert users.settings.page_size == 50
    storage = users.choices["storage"].settings
    assert isinstance(storage, SqlSettings)
    assert storage.url == "postgresql://db/users"
    assert config.choices["storage"].settings.url == "postgresql://db/shared"  # type: ignore[attr-defined]
    # a required concern that nobody configured takes its default provider ...
    assert (
        config.for_service("other", requires=["storage"]).choices["storage"].provider.name == "sql"
    )


def test_a_required_concern_without_configuration_or_default_is_an_error(
    write: Write, registry: ProviderRegistry
) -> None:
    config = load_config(write(""), environ={}, registry=registry)
    with pytest.raises(ConfigError) as info:
        config.for_service("users", requires=["messaging"])
    message = str(info.value)
    assert (
        "[messaging] provider: no provider chosen; set provider = one of 'memory', 'rabbitmq'"
        in message
    )


def test_unknown_service_keys_are_errors(write: Write, registry: ProviderRegistry) -> None:
    path = write('[services.users]\napp = "a:b"\npage_sise = 5\n')
    config = load_config(path, environ={}, registry=registry)
    with pytest.raises(
        ConfigError,
        match=r"\[services\.users\] page_sise = 5: unknown key \(known keys: page_size\)",
    ):
        config.for_service("users", settings=UsersSettings)
    with pytest.raises(ConfigError, match="service 'users' declares no settings"):
        config.for_service("users")
