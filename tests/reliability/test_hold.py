"""The hold the commit runs under: other threads that get the GIL while it is in force wait
before their next instruction, and leave no trace of it behind."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from relive._cpython import threadstate
from relive._cpython.tracing import HAS_MONITORING
from relive._cpython.world import held, others_running

EXPECTED = "monitoring" if HAS_MONITORING else "tracing"


@contextmanager
def spinning(body: Callable[[], None] | None = None) -> Iterator[dict[str, int]]:
    """A thread that counts in a Python loop until the block ends."""
    state = {"count": 0}
    stop = threading.Event()
    started = threading.Event()

    def run() -> None:
        if body is not None:
            body()
        started.set()
        while not stop.is_set():
            state["count"] += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_with_no_other_thread_nothing_is_held() -> None:
    if others_running():
        pytest.skip("another thread of this test run has Python frames")
    with held() as hold:
        pass
    assert hold.how == "none" and hold.waited == 0


def test_a_thread_that_gets_the_gil_during_the_hold_runs_nothing_until_it_ends() -> None:
    with spinning() as state:
        time.sleep(0.02)
        with held() as hold:
            before = state["count"]
            time.sleep(0.1)  # gives the GIL away: the other thread takes it, and waits
            during = state["count"] - before
        time.sleep(0.05)
        after = state["count"]
    assert hold.how == EXPECTED and hold.problem is None
    assert during == 0
    assert hold.waited >= 1 and hold.overran == 0
    assert after > before  # and it runs on after


def test_a_hold_that_waits_for_a_held_thread_goes_on_after_its_patience() -> None:
    lock = threading.Lock()
    holding = threading.Event()

    def take_the_lock_for_a_while() -> None:
        lock.acquire()
        holding.set()
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            pass
        lock.release()

    thread = threading.Thread(target=take_the_lock_for_a_while, daemon=True)
    thread.start()
    holding.wait(5)
    start = time.monotonic()
    # the thread holds the lock and is held: without patience this waits for ever
    with held(patience=0.5) as hold, lock:
        pass
    thread.join(5)
    assert hold.overran >= 1
    assert 0.4 < time.monotonic() - start < 5


@pytest.mark.skipif(HAS_MONITORING, reason="3.11 holds threads through their trace functions")
def test_other_threads_trace_functions_and_frames_are_as_they_were() -> None:
    if not threadstate.available():
        pytest.skip(f"thread states cannot be read here: {threadstate.problem()}")
    seen: dict[str, Any] = {"lines": 0}

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            seen["lines"] += 1
        return local

    def global_(frame: FrameType, event: str, arg: object) -> Any:
        return local

    def own_trace() -> None:
        sys.settrace(global_)
        seen["frame"] = sys._getframe(1)
        seen["frame"].f_trace = local

    with spinning(own_trace) as state:
        time.sleep(0.02)
        with held() as hold:
            time.sleep(0.05)
        lines = seen["lines"]
        time.sleep(0.05)
        assert seen["lines"] > lines  # its line events go on
        assert state["count"] > 0
    assert hold.how == "tracing" and hold.waited >= 1
    frame = seen["frame"]
    assert frame.f_trace is local and frame.f_trace_opcodes is False


@pytest.mark.skipif(HAS_MONITORING, reason="3.11 holds threads through their trace functions")
def test_a_frame_that_starts_while_its_thread_is_held_is_traced_by_the_thread_s_function(
) -> None:
    if not threadstate.available():
        pytest.skip(f"thread states cannot be read here: {threadstate.problem()}")
    seen: list[object] = []
    go = threading.Event()

    def local(frame: FrameType, event: str, arg: object) -> Any:
        return local

    def global_(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_name == "called_while_held" else None

    def called_while_held() -> None:
        seen.append(sys._getframe().f_trace)

    def run() -> None:
        sys.settrace(global_)
        go.wait(5)
        called_while_held()  # the call event comes while the hold is in force

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.02)
    with held() as hold:
        go.set()
        time.sleep(0.05)
    thread.join(5)
    assert hold.waited >= 1
    assert seen == [local]


@pytest.mark.skipif(not HAS_MONITORING, reason="sys.monitoring is 3.12+")
def test_another_tool_s_instruction_events_go_on_after_a_hold() -> None:
    mon: Any = getattr(sys, "monitoring")  # noqa: B009
    tool = 2
    assert mon.get_tool(tool) is None
    counted = {"n": 0}

    def count(code: Any, offset: int) -> None:
        if code is counting.__code__:
            counted["n"] += 1

    def counting() -> int:
        total = 0
        for i in range(3):
            total += i
        return total

    mon.use_tool_id(tool, "instruction counter")
    try:
        mon.register_callback(tool, mon.events.INSTRUCTION, count)
        mon.set_events(tool, mon.events.INSTRUCTION)
        counting()
        before = counted["n"]
        assert before > 0
        with spinning():
            with held() as hold:
                time.sleep(0.02)
            counting()
    finally:
        mon.set_events(tool, 0)
        mon.register_callback(tool, mon.events.INSTRUCTION, None)
        mon.free_tool_id(tool)
    assert hold.how == "monitoring lines" and hold.waited >= 1
    assert counted["n"] == 2 * before
