"""The `portside` command: config show, config check."""

import os
import subprocess
import sys
from pathlib import Path

APPS = Path(__file__).resolve().parent / "host" / "apps"


def portside(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(APPS), **(env or {})}
    environ.pop("PORTSIDE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "portside.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=60,
        check=False,
    )


def test_config_show_prints_values_with_their_origins_and_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "portside.toml").write_text('[logging]\nformat = "json"\n')
    result = portside("config", "show", cwd=tmp_path, env={"PORTSIDE_HOST__STOP_TIMEOUT": "3"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith('format = "json"') and line.endswith("# portside.toml") for line in lines
    )
    assert any(
        line.startswith("stop_timeout = 3.0")
        and line.endswith("# environment variable PORTSIDE_HOST__STOP_TIMEOUT")
        for line in lines
    )
    assert any(
        line.startswith("shutdown_timeout = 25.0") and line.endswith("# default") for line in lines
    )


def test_config_check_validates_services_too(tmp_path: Path) -> None:
    config = tmp_path / "portside.toml"
    config.write_text('[services.graceful]\napp = "signal_app:graceful"\n')
    ok = portside("config", "check", "--config", str(config), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "configuration is valid"
    config.write_text('[services.graceful]\napp = "signal_app:graceful"\nretries = 3\n')
    bad = portside("config", "check", "--config", str(config), cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        "[services.graceful] retries = 3: unknown key: service 'graceful' declares no settings"
        in bad.stderr
    )


def test_config_check_reports_every_problem_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "portside.toml").write_text('[host]\nstop_timeout = 0\n[logging]\nlevel = "LOUD"\n')
    result = portside("config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert "2 problem(s)" in result.stderr
    assert "[host] stop_timeout = 0" in result.stderr
    assert '[logging] level = "LOUD"' in result.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "portside"
    assert script.exists()
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "config" in result.stdout
    assert "run" in result.stdout
