"""The benchmarks keep working: portside and the baseline pass their correctness checks.

Timing is never asserted here; ``make bench`` reports it.
"""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from portside.di._provider import COMPILE_AFTER

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def di_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("di_bench", ROOT / "benchmarks" / "di_bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["di_bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("scenario", ["a", "b", "c", "d"])
@pytest.mark.parametrize("name", ["portside", "hand-written"])
def test_contender_passes_the_correctness_check(
    di_bench: ModuleType, name: str, scenario: str
) -> None:
    contender = next(c for c in di_bench.CONTENDERS if c.name == name)
    op = contender.setups[scenario]()
    di_bench.CHECKS[scenario](op)
    for _ in range(COMPILE_AFTER + 1):  # past the switch to compiled code
        op()
    di_bench.CHECKS[scenario](op)


def test_a_broken_container_fails_the_check(di_bench: ModuleType) -> None:
    def shares_nothing(hook=None):  # type: ignore[no-untyped-def]
        config = di_bench.Config()
        return di_bench.Checkout(
            di_bench.OrderService(
                di_bench.OrderRepo(di_bench.Session(config), di_bench.Clock()),
                di_bench.UserService(
                    di_bench.UserRepo(di_bench.Session(config), di_bench.Cache(config)),
                    di_bench.Mailer(config, di_bench.Clock()),
                ),
                di_bench.Session(config),
            ),
            None,
            di_bench.Session(config),
        )

    with pytest.raises(di_bench.CheckFailed, match="another Session"):
        di_bench.CHECKS["a"](shares_nothing)
