"""Atomicity under threads: no thread ever observes a half-applied delta."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]

N_FUNCTIONS = 8


def _source(generation: int) -> str:
    parts = [f"def f{i}():\n    return {generation}\n\n" for i in range(N_FUNCTIONS)]
    calls = ", ".join(f"f{i}()" for i in range(N_FUNCTIONS))
    parts.append(f"def snapshot():\n    return ({generation}, {calls})\n")
    return "".join(parts)


def test_calls_see_one_generation_while_hundreds_of_deltas_are_applied(live: Live) -> None:
    m = live(_source(0))
    stop = threading.Event()
    problems: list[tuple[int, ...]] = []
    calls = [0]

    def worker() -> None:
        snapshot = m.module.snapshot
        while not stop.is_set():
            seen = snapshot()
            calls[0] += 1
            own, values = seen[0], seen[1:]
            # within one call the generations may only go up, and never below the caller's:
            # a value lower than one before it would be a delta half applied
            if any(b < a for a, b in itertools.pairwise(values)) or values[0] < own:
                problems.append(seen)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for generation in range(1, 201):
            result = m.edit(_source(generation))
            assert result.applied, result.errors
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        sys.setswitchinterval(old_interval)
    assert problems == []
    assert calls[0] > 200, "the workers must have run during the applies"
    assert m.module.snapshot() == (200,) * (N_FUNCTIONS + 1)
