"""Single-flight creation under concurrent threads: one construction, one instance."""

import sys
import threading
import time
from collections.abc import Callable

from portside.di import ServiceCollection

THREADS = 8


def _waiting_elsewhere(threads: list[threading.Thread], functions: set[str]) -> bool:
    """True when every thread's stack is inside one of ``functions`` (blocked there)."""
    frames = sys._current_frames()
    for thread in threads:
        frame = frames.get(thread.ident or -1)
        names = set()
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if not names & functions:
            return False
    return True


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "threads never reached the expected state"
        time.sleep(0.001)


def _race(
    get: Callable[[], object],
    entered: threading.Event,
    release: threading.Event,
    blocked_in: set[str],
) -> list[object]:
    """Run ``get`` in many threads while the first creation is held open."""
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        value = get()
        with lock:
            results.append(value)

    first = threading.Thread(target=worker)
    first.start()
    assert entered.wait(10)
    others = [threading.Thread(target=worker) for _ in range(THREADS - 1)]
    for t in others:
        t.start()
    _wait_for(lambda: _waiting_elsewhere(others, blocked_in))  # all queued behind the first
    release.set()
    for t in [first, *others]:
        t.join(10)
    return results


class Slow:
    pass


class User:
    def __init__(self, slow: Slow) -> None:
        self.slow = slow


def test_a_singleton_is_constructed_once_under_concurrent_threads() -> None:
    entered, release = threading.Event(), threading.Event()
    made: list[Slow] = []

    def make() -> Slow:
        made.append(Slow())
        entered.set()
        assert release.wait(10)
        return made[-1]

    provider = ServiceCollection().add_singleton(Slow, factory=make).build()
    results = _race(lambda: provider.get(Slow), entered, release, {"sg"})
    assert len(made) == 1
    assert len(results) == THREADS
    assert all(r is made[0] for r in results)


def test_a_scoped_service_is_constructed_once_per_scope_under_concurrent_threads() -> None:
    entered, release = threading.Event(), threading.Event()
    made: list[Slow] = []

    def make() -> Slow:
        made.append(Slow())
        entered.set()
        assert release.wait(10)
        return made[-1]

    provider = ServiceCollection().add_scoped(Slow, factory=make).add_scoped(User).build()
    with provider.create_scope() as scope:
        # Half the threads ask for the dependent, half for the service itself.
        counter = iter(range(THREADS))

        def get() -> object:
            return scope.get(User).slow if next(counter) % 2 else scope.get(Slow)

        results = _race(get, entered, release, {"guarded", "_wait"})
    assert len(made) == 1
    assert all(r is made[0] for r in results)


def test_scopes_in_different_threads_do_not_wait_for_each_other() -> None:
    entered, release = threading.Event(), threading.Event()

    def make() -> Slow:
        if not entered.is_set():
            entered.set()
            assert release.wait(10)
        return Slow()

    provider = ServiceCollection().add_scoped(Slow, factory=make).build()
    blocked = provider.create_scope()
    holder = threading.Thread(target=lambda: blocked.get(Slow))
    holder.start()
    assert entered.wait(10)
    with provider.create_scope() as free:  # another scope proceeds while the first is held
        assert isinstance(free.get(Slow), Slow)
    release.set()
    holder.join(10)
    blocked.close()
