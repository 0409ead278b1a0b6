"""new_id: the identifier of messages and correlation ids."""

import multiprocessing
import re

from portside.observability import new_correlation_id, new_id


def _child_id(queue: "multiprocessing.Queue[str]") -> None:
    queue.put(new_id())


def test_an_id_is_32_lowercase_hex_digits_and_does_not_repeat() -> None:
    ids = [new_id() for _ in range(100_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert re.fullmatch(r"[0-9a-f]{32}", new_correlation_id())


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_id, args=(queue,))
    child.start()
    theirs = queue.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0
    # Without a reseed in the child, its next id would be the parent's next id.
    assert theirs != new_id()
