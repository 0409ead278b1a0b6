"""The generated code of the examples' protos is committed; it must match its .proto."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = "examples/users/contract/proto/users.proto"
GENERATED = ("users_pb2.py", "users_pb2.pyi", "users_pb2_grpc.py", "users_pb2_grpc.pyi")
# The generator stamps its own release into the code (the oldest grpcio it runs on): a
# newer grpcio-tools than the one that made the committed code says only that.
_STAMP = re.compile(rb"^GRPC_GENERATED_VERSION = '[^']*'$", re.MULTILINE)


def _content(path: Path) -> bytes:
    """The generated code without the generator's release stamp."""
    return _STAMP.sub(b"GRPC_GENERATED_VERSION = ...", path.read_bytes())


def test_the_generated_users_code_matches_users_proto(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    # The command of `make protos`, writing into tmp_path instead of examples/.
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        "examples",
        f"--python_out={tmp_path}",
        f"--grpc_python_out={tmp_path}",
        f"--mypy_out={tmp_path}",
        f"--mypy_grpc_out={tmp_path}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        PROTO,
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    fresh_dir = tmp_path / "users" / "contract" / "proto"
    committed_dir = ROOT / "examples" / "users" / "contract" / "proto"
    stale = [
        name
        for name in GENERATED
        if not (committed_dir / name).is_file()
        or _content(committed_dir / name) != _content(fresh_dir / name)
    ]
    assert not stale, f"{', '.join(stale)} do not match {PROTO}: run `make protos`"
