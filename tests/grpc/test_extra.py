"""Without the ``grpc`` extra the provider still loads (the registry loads every installed
provider) and says what to install; the names backed by grpcio say it too."""

import subprocess
import sys
import textwrap

# Runs in a fresh interpreter where the grpc packages cannot be imported.
SCRIPT = textwrap.dedent(
    """
    import sys

    for name in ("grpc", "grpc_health", "grpc_reflection", "grpc_status"):
        sys.modules[name] = None  # importing it raises ImportError

    from portside.config import ProviderRegistry
    from portside.grpc import GrpcService, GrpcSettings
    from portside.grpc._provider import provider

    assert GrpcSettings().port == 50051 and GrpcService.__name__ == "GrpcService"
    try:
        ProviderRegistry([provider]).get("grpc", "grpcio")
    except LookupError as exc:
        assert "pip install 'portside[grpc]'" in str(exc), exc
    else:
        raise AssertionError("the registry did not notice grpcio is missing")
    try:
        from portside.grpc import GrpcServer
    except ImportError as exc:
        message = str(exc)
        assert message.startswith("portside.grpc needs the grpc extra ("), message
        assert message.endswith("is not installed): pip install 'portside[grpc]'"), message
    else:
        raise AssertionError("GrpcServer imported without grpcio")
    """
)


def test_without_grpcio_the_provider_loads_and_every_message_names_the_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_declaring_services_does_not_import_grpcio() -> None:
    script = "import sys, portside.grpc; assert 'grpc' not in sys.modules, 'grpc was imported'"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
