"""`portside run` in a real process: signals, drain, exit codes, configuration errors."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent / "apps"


def start(tmp_path: Path, toml: str) -> subprocess.Popen[str]:
    config = tmp_path / "portside.toml"
    config.write_text(toml)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(APPS), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PORTSIDE_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "portside.cli", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def read_until(process: subprocess.Popen[str], line: str) -> list[str]:
    assert process.stdout is not None
    seen = []
    for raw in process.stdout:
        seen.append(raw.rstrip("\n"))
        if seen[-1] == line:
            return seen
    raise AssertionError(f"the process ended before printing {line!r}; it printed {seen}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_in_flight_work_then_runs_stop_hooks_and_exits_0(
    tmp_path: Path, sig: signal.Signals
) -> None:
    process = start(tmp_path, '[services.graceful]\napp = "signal_app:graceful"\n')
    try:
        read_until(process, "work begun")
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.splitlines() == [
        "readiness during drain: down",
        "work done",
        "stop hook ran; in flight: 0",
    ]
    assert "graceful ready in" in err
    assert "shutting down: readiness is now false" in err


def test_a_second_signal_forces_the_exit(tmp_path: Path) -> None:
    process = start(tmp_path, '[services.stubborn]\napp = "signal_app:stubborn"\n')
    try:
        read_until(process, "stubborn started")
        process.send_signal(signal.SIGTERM)
        read_until(process, "stubborn stop hook entered")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "second stop signal: exiting now" in err


def test_a_failed_start_rolls_back_and_exits_non_zero(tmp_path: Path) -> None:
    process = start(tmp_path, '[services.failing]\napp = "signal_app:failing"\n')
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "start hook 'fails' failed: RuntimeError('cannot reach the database')" in err
    assert out.splitlines() == []  # its own stop hook does not run: it never started


def test_invalid_configuration_fails_at_start_up_naming_file_and_key(tmp_path: Path) -> None:
    process = start(
        tmp_path,
        '[host]\nshutdown_timeout = "later"\n[services.graceful]\napp = "signal_app:graceful"\n',
    )
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f'{tmp_path / "portside.toml"}: [host] shutdown_timeout = "later"' in err


def test_an_app_that_cannot_be_imported_is_a_configuration_error(tmp_path: Path) -> None:
    process = start(tmp_path, '[services.users]\napp = "no_such_module:service"\n')
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "[services.users] app" in err
    assert "No module named 'no_such_module'" in err
