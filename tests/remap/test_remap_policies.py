"""Policies, events, tracebacks, repeated edits and the removal of instrumentation."""

from __future__ import annotations

import gc
import sys
import threading
import traceback
from typing import Any

import pytest

from relive.runtime.enc import enc_compile, iter_code_objects
from relive.runtime.remap.events import (
    LeftStale,
    RemapDeferred,
    RemapItem,
    RemapOpportunity,
    Remapped,
    describe_event,
)
from relive.runtime.remap.tracker import schedule_remap

from .conftest import TIMEOUT, Program
from .test_remap_loops import _once

LOOP = """
def run(n, hook, log):
    log.append(("start", n))
    for i in range(n):
        if i == 2:
            hook()
        log.append(("old", i))
    return ("old", len(log))
"""


def test_restart_policy_reruns_the_new_version_from_the_top_with_current_parameters() -> None:
    prog = Program(LOOP)
    new = LOOP.replace('("start", n)', '("START", n)').replace('("old", i)', '("new", i)').replace(
        'return ("old", len(log))', 'return ("new", len(log))'
    )
    log: list[Any] = []
    hook = _once(lambda: prog.edit(new, "run", policy="restart"))
    assert prog.function("run")(4, hook, log) == ("new", 8)
    assert log == [
        ("start", 4), ("old", 0), ("old", 1),
        ("START", 4), ("new", 0), ("new", 1), ("new", 2), ("new", 3),
    ]
    assert [type(e) for e in prog.events] == [RemapOpportunity, Remapped]
    restarted = prog.events[1]
    assert isinstance(restarted, Remapped) and restarted.restarted


def test_stale_policy_leaves_running_frames_on_old_code_and_new_calls_on_new_code() -> None:
    prog = Program(LOOP)
    new = LOOP.replace('("old", i)', '("new", i)')
    log: list[Any] = []
    hook = _once(lambda: prog.edit(new, "run", policy="stale"))
    assert prog.function("run")(3, hook, log) == ("old", 4)
    assert log[1:] == [("old", 0), ("old", 1), ("old", 2)]
    assert prog.stale() == ["the remap policy is 'stale'"]
    log.clear()
    prog.function("run")(1, lambda: None, log)
    assert log == [("start", 1), ("new", 0)]


def test_events_report_the_opportunity_then_the_remap_with_old_and_new_lines() -> None:
    prog = Program(LOOP)
    new = LOOP.replace("def run(n, hook, log):", "def run(n, hook, log):\n    pass")
    prog.function("run")(3, _once(lambda: prog.edit(new, "run")), [])
    opportunity, remapped = prog.events
    assert isinstance(opportunity, RemapOpportunity) and opportunity.line == 7
    assert isinstance(remapped, Remapped)
    assert (remapped.old_line, remapped.new_line) == (7, 8)
    assert remapped.frame.qualname == "run" and remapped.frame.kind == "function"
    assert remapped.frame.thread_id == threading.get_ident()
    assert describe_event(remapped) == f"run ({prog.filename}): remapped, line 7 -> line 8"


def test_a_frame_that_finishes_inside_a_finally_block_is_reported_stale_with_a_reason() -> None:
    # the copy of a finally body run before a return offers no point (the pending return
    # is not carried)
    source = """
    def run(hook, log):
        try:
            return log.append("body")
        finally:
            hook()
            log.append("old")
    """
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(source.replace('"old"', '"new"'), "run")), log)
    assert log == ["body", "old"]
    assert prog.remapped() == []
    assert prog.stale() == ["the frame finished before a remap point"]


def test_a_traceback_through_a_remapped_frame_shows_the_new_code_once() -> None:
    source = """
    def run(hook):
        for i in range(3):
            if i == 1:
                hook()
            check(i)

    def check(i):
        pass
    """
    new = source.replace("        check(i)", "        check(i, 'extra')")
    prog = Program(source)
    with pytest.raises(TypeError) as caught:
        prog.function("run")(_once(lambda: prog.edit(new, "run")))
    exc = caught.value
    assert exc.__context__ is None and exc.__cause__ is None
    entries = [(f.name, f.lineno, f.line) for f in traceback.extract_tb(exc.__traceback__)]
    assert entries[1:] == [("run", 6, "check(i, 'extra')")]


def test_a_frame_remapped_twice_follows_both_edits() -> None:
    source = """
    def run(log, hook):
        for i in range(6):
            hook(i)
            log.append(("v1", i))
    """
    prog = Program(source)

    def hook(i: int) -> None:
        if i in (2, 4):
            prog.edit(source.replace('"v1"', f'"v{i // 2 + 1}"'), "run")

    log: list[Any] = []
    prog.function("run")(log, hook)
    assert log == [("v1", 0), ("v1", 1), ("v2", 2), ("v2", 3), ("v3", 4), ("v3", 5)]
    assert prog.remapped() == [(5, 5), (5, 5)]


def test_a_frame_still_waiting_when_a_second_edit_lands_goes_straight_to_the_newest() -> None:
    source = """
    def run(hook, log):
        try:
            hook()
            log.append("v1-try")
        finally:
            pass
        log.append(("after", 1))
        return len(log)
    """
    prog = Program(source)
    v2 = source.replace('("after", 1)', '("after", 2)')
    v3 = source.replace('("after", 1)', '("after", 3)')

    def hook() -> None:
        prog.edit(v2, "run")
        prog.edit(v3, "run")

    log: list[Any] = []
    prog.function("run")(_once(hook), log)
    assert log == ["v1-try", ("after", 3)]


def test_wait_returns_once_the_frames_have_moved_and_cancel_leaves_them_stale() -> None:
    source = """
    def worker(cm, release, log):
        with cm:
            release.wait()
            log.append("old")
        log.append("after")
    """
    prog = Program(source)
    entered, release = threading.Event(), threading.Event()
    log: list[Any] = []

    class Entered:
        def __enter__(self) -> None:
            entered.set()

        def __exit__(self, *exc: object) -> None:
            pass

    thread = threading.Thread(target=prog.function("worker"), args=(Entered(), release, log))
    thread.start()
    try:
        assert entered.wait(TIMEOUT)
        schedule = prog.edit(source.replace('"after"', '"AFTER"'), "worker")
        assert schedule.pending() == 1
        assert not schedule.wait(0.01)  # it is blocked inside the `with`
        schedule.cancel()
        assert schedule.wait(0)
    finally:
        release.set()
        thread.join(TIMEOUT)
    assert log == ["old", "after"]
    assert prog.stale() == ["cancelled"]


def test_a_compile_unit_that_does_not_match_the_running_code_leaves_the_frame_stale() -> None:
    prog = Program(LOOP)
    module = enc_compile(LOOP.replace('"old"', '"new"'), prog.filename)
    new = next(c for c in iter_code_objects(module) if c.co_name == "run")
    function = prog.function("run")
    events: list[Any] = []

    def hook() -> None:
        old = function.__code__
        function.__code__ = new
        wrong_unit = LOOP.replace("range(n)", "range(n + 1)")
        schedule_remap([RemapItem(old, new, wrong_unit, LOOP, {})], on_event=events.append)

    function(3, _once(hook), [])
    assert len(events) == 1 and isinstance(events[0], LeftStale)
    assert "does not compile to the running code" in events[0].reason


# 3.13 deprecates the assignment this test makes on purpose (the delta calls it a rude edit)
@pytest.mark.filterwarnings("ignore:Assigning a code object of non-matching type")
def test_an_edit_that_turns_a_function_into_a_generator_leaves_the_frame_stale() -> None:
    prog = Program(LOOP)
    new = LOOP.replace('log.append(("old", i))', 'yield i')
    log: list[Any] = []
    prog.function("run")(3, _once(lambda: prog.edit(new, "run")), log)
    assert prog.stale() == ["the edit turned a function into a generator"]


def test_deferral_reasons_are_reported_once_each() -> None:
    source = """
    def run(hook, log):
        hook()
        for i in range(3):
            log.append(i)
        log.append("end")
    """
    new = """
    def run(hook, log):
        hook()
        for i in range(3):
            seen = i
        log.append(("end", seen))
    """
    prog = Program(source)
    log: list[Any] = []
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: 4, 5: None, 6: 6}
    prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    deferrals = [e for e in prog.events if isinstance(e, RemapDeferred)]
    assert len(deferrals) == len({e.reason for e in deferrals})


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_monitoring_events_and_the_tool_id_are_released_after_the_remap() -> None:
    monitoring: Any = sys.monitoring  # type: ignore[attr-defined]
    prog = Program(LOOP)
    old = prog.function("run").__code__
    seen: list[Any] = []

    def hook() -> None:
        prog.edit(LOOP.replace('"old"', '"new"'), "run")
        seen.append((monitoring.get_tool(4), monitoring.get_local_events(4, old)))

    prog.function("run")(3, _once(hook), [])
    assert seen == [("relive-remap", monitoring.events.LINE | monitoring.events.PY_RETURN
                     | monitoring.events.PY_YIELD)]
    assert monitoring.get_local_events(4, old) == 0
    # the tool id is given back once no stale generator code (from earlier tests) is alive
    gc.collect()
    assert monitoring.get_tool(4) is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 trace function backend")
def test_trace_functions_are_removed_after_the_remap_and_a_previous_one_is_kept() -> None:
    prog = Program(LOOP)
    seen: list[Any] = []

    def hook() -> None:
        prog.edit(LOOP.replace('"old"', '"new"'), "run")
        seen.append(sys.gettrace() is not None)

    prog.function("run")(3, _once(hook), [])
    assert seen == [True]
    assert sys.gettrace() is None and threading.gettrace() is None


def test_a_frame_that_leaves_by_an_exception_is_reported_stale() -> None:
    source = """
    def run(hook, log):
        try:
            return log.append("body")
        finally:
            hook()
            log.append("handler")
            raise KeyError("out")
    """
    prog = Program(source)
    log: list[Any] = []
    with pytest.raises(KeyError):
        prog.function("run")(_once(lambda: prog.edit(source.replace('"handler"', '"H"'), "run")),
                             log)
    from relive.runtime.remap import tracker

    tracker._TRACKER.prune()  # 3.12+ has no local event for unwinding: the prune notices
    assert log == ["body", "handler"]
    assert prog.stale() == ["the frame finished before a remap point"]


def test_a_failing_event_sink_never_breaks_the_program() -> None:
    prog = Program(LOOP)
    log: list[Any] = []

    def sink(event: object) -> None:
        raise ValueError("sink bug")

    hook = _once(lambda: prog.edit(LOOP.replace('"old"', '"new"'), "run", on_event=sink))
    assert prog.function("run")(3, hook, log) == ("new", 4)
    from relive.runtime.remap import tracker

    assert any(isinstance(exc, ValueError) for _event, exc in tracker._TRACKER.sink_errors)


def test_an_internal_error_leaves_the_frame_stale_instead_of_raising_in_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relive.runtime.remap import tracker

    def broken(*args: object) -> object:
        raise RuntimeError("relive bug")

    monkeypatch.setattr(tracker.Plan, "decide", broken)
    prog = Program(LOOP)
    log: list[Any] = []
    hook = _once(lambda: prog.edit(LOOP.replace('"old"', '"new"'), "run"))
    assert prog.function("run")(3, hook, log) == ("old", 4)
    assert prog.stale() == ["internal error while remapping: RuntimeError: relive bug"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 trace function backend")
def test_a_debuggers_trace_function_keeps_its_events_through_a_remap_on_3_11() -> None:
    prog = Program(LOOP)
    seen: list[tuple[str, int | None]] = []

    def debugger(frame: Any, event: str, arg: object) -> Any:
        if frame.f_code.co_name == "run":
            seen.append((event, frame.f_lineno))
            return debugger
        return None

    new = LOOP.replace('("old", i)', '("new", i)')
    sys.settrace(debugger)
    try:
        prog.function("run")(4, _once(lambda: prog.edit(new, "run")), [])
    finally:
        still_tracing = sys.gettrace() is debugger
        sys.settrace(None)
    assert still_tracing
    assert prog.remapped() == [(7, 7)]
    lines = [line for event, line in seen if event == "line"]
    # the old frame's lines; at the remap its event for line 7, then its trailer (the `def`
    # line, 2) handing over; then the continuation's lines, from the same statement, new
    assert lines == [3, 4, 5, 7, 4, 5, 7, 4, 5, 6, 7, 2, 7, 4, 5, 7, 4, 8]
