"""Reload and remap together: a frame running an edited function moves onto the new code."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import relive
from relive.runtime import events
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]

LOOP = """
    import time

    def run(state, stop):
        total = 0
        while not stop.is_set():
            total += 1
            state.append(("old", total))
            time.sleep(0.005)
        return total
"""


def _start(m: LiveModule) -> tuple[list[tuple[str, int]], threading.Event, threading.Thread]:
    state: list[tuple[str, int]] = []
    stop = threading.Event()
    thread = threading.Thread(target=m.module.run, args=(state, stop), daemon=True)
    thread.start()
    while len(state) < 3:
        stop.wait(0.01)
    return state, stop, thread


def test_a_loop_running_in_another_thread_moves_to_the_new_body(live: Live) -> None:
    m = live(LOOP)
    assert relive.runtime.tracked(m.module).enc
    state, stop, thread = _start(m)
    seen: list[object] = []
    unsubscribe = events.observe(seen.append)
    try:
        result = m.replace('state.append(("old", total))', 'state.append(("new", total))')
        assert result.applied, result.errors
        schedule = result.remap
        assert schedule is not None
        assert schedule.wait(timeout=20)  # type: ignore[attr-defined]
    finally:
        stop.set()
        thread.join(10)
        unsubscribe()
    kinds = [kind for kind, _ in state]
    first_new = kinds.index("new")
    assert set(kinds[first_new:]) == {"new"}
    numbers = [n for _, n in state]
    assert numbers == list(range(1, len(numbers) + 1)), "the loop counter carries on"
    assert any(type(e).__name__ == "Remapped" for e in seen)


def test_the_stale_policy_leaves_running_frames_on_the_old_code(live: Live) -> None:
    m = live(LOOP)
    state, stop, thread = _start(m)
    try:
        result = relive.reload(m.module, m.source.replace('("old", total)', '("new", total)'),
                               remap="stale")
        assert result.applied and result.remap is None
        stop.wait(0.1)
        assert state[-1][0] == "old"
    finally:
        stop.set()
        thread.join(10)
    assert m.module.run.__code__ is not None


def test_an_unknown_remap_policy_is_refused_before_anything_changes() -> None:
    from relive.runtime.remap import schedule

    with pytest.raises(ValueError, match="remap policy"):
        schedule.set_default_policy("sometimes")
