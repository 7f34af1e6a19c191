"""Unit tests of the engine, on the backend of the running interpreter."""

from __future__ import annotations

import sys
import threading

import pytest
from harness import line_of, load_program, session

from relive.debugger.breakpoints import BreakpointError
from relive.debugger.model import (
    ExceptionMode,
    ExceptionRaised,
    Output,
    StopReason,
)

prog = load_program("basic")
L = lambda tag: line_of("basic", f"tag:{tag}")  # noqa: E731


def test_backend_matches_interpreter() -> None:
    with session() as s:
        expected = "sys.monitoring" if sys.version_info >= (3, 12) else "trace function"
        assert s.engine.backend_name == expected


def test_breakpoint_on_blank_line_moves_to_next_line_with_code() -> None:
    with session() as s:
        bp = s.engine.breakpoints.add(prog.__file__, L("after-blank") - 1)
        assert bp.line == L("after-blank")
        assert bp.message and "moved to line" in bp.message
        s.start(prog.blank_lines)
        stop = s.stopped()
        assert stop.line == L("after-blank")
        s.engine.resume(stop.thread_id)
        s.join()


def test_breakpoint_past_the_end_is_refused_with_advice() -> None:
    with session() as s, pytest.raises(BreakpointError, match="no code at or after"):
        s.engine.breakpoints.add(prog.__file__, 10_000)


def test_conditional_breakpoint_stops_only_when_true() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-body"), condition="i == 3")
        s.start(lambda: prog.loop(6))
        stop = s.stopped()
        assert s.engine.inspection.evaluate(stop.thread_id, 0, "i").value == "3"
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [sum(i + 1 for i in range(6))]


def test_ignore_count_skips_the_first_hits() -> None:
    with session() as s:
        bp = s.engine.breakpoints.add(prog.__file__, L("loop-body"), ignore=2)
        s.start(lambda: prog.loop(5))
        stop = s.stopped()
        assert s.engine.inspection.evaluate(stop.thread_id, 0, "i").value == "2"
        assert s.engine.breakpoints.listing()[0].hits == 3
        s.engine.breakpoints.remove(bp.id)
        s.engine.resume(stop.thread_id)
        s.join()


def test_log_point_prints_and_does_not_stop() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-body"), log_message="i={i} sq={i * i}")
        s.start(lambda: prog.loop(3))
        s.join()
        texts = []
        while not s.events.empty():
            event = s.events.get()
            if isinstance(event, Output) and event.category == "log":
                texts.append(event.text)
    assert texts == ["i=0 sq=0\n", "i=1 sq=1\n", "i=2 sq=4\n"]


def test_function_breakpoint_stops_at_first_body_line() -> None:
    with session() as s:
        bp = s.engine.breakpoints.add_function("add")
        assert bp.verified and bp.line == L("add-body")
        s.start(prog.caller)
        stop = s.stopped()
        assert stop.reason is StopReason.FUNCTION_BREAKPOINT and stop.line == L("add-body")
        s.engine.resume(stop.thread_id)
        s.join()


def test_temporary_breakpoint_stops_once() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-body"), temporary=True)
        s.start(lambda: prog.loop(3))
        stop = s.stopped()
        assert s.engine.breakpoints.listing() == []
        s.engine.resume(stop.thread_id)
        s.join()


def test_step_over_stays_in_function_and_step_in_enters_call() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("caller-first"))
        s.start(prog.caller)
        stop = s.stopped()
        tid = stop.thread_id
        s.engine.resume(tid, "over")
        stop = s.stopped()
        assert (stop.reason, stop.line) == (StopReason.STEP, L("caller-second"))
        s.engine.resume(tid)
        s.join()
        s.results.clear()
        s.start(prog.caller)
        stop = s.stopped()
        tid = stop.thread_id
        s.engine.resume(tid, "in")
        stop = s.stopped()
        assert (stop.function, stop.line) == ("add", L("add-body"))
        s.engine.resume(tid, "out")
        stop = s.stopped()
        assert stop.function == "caller" and stop.line in (L("caller-first"), L("caller-second"))
        s.engine.resume(tid)
        s.join()


def test_step_over_a_generator_yield_returns_to_the_consumer() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("gen-first"))
        s.start(prog.consume)
        stop = s.stopped()
        tid = stop.thread_id
        s.engine.resume(tid, "over")
        stop = s.stopped()
        assert stop.function == "consume" and stop.line == L("consume-append")
        s.engine.resume(tid, "in")  # for-line, then into the generator again
        stop = s.stopped()
        while stop.function == "consume":
            s.engine.resume(tid, "in")
            stop = s.stopped()
        assert stop.function == "numbers" and stop.line == L("gen-second")
        s.engine.resume(tid)
        s.join()


def test_step_over_an_await_stays_in_the_coroutine() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("outer-await"))
        s.start(prog.run_async)
        stop = s.stopped()
        tid = stop.thread_id
        s.engine.resume(tid, "over")
        stop = s.stopped()
        assert (stop.function, stop.line) == ("outer", L("outer-after"))
        s.engine.resume(tid)
        s.join()
    assert s.results == [6]


def test_stack_shows_where_a_coroutine_was_awaited_from() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("inner-return"))
        s.start(prog.run_async)
        stop = s.stopped()
        stack = s.engine.inspection.stack(stop.thread_id)
        assert [f.name for f in stack[:2]] == ["inner", "outer"]
        assert stack[0].kind == "coroutine" and stack[1].link == "await"
        s.engine.resume(stop.thread_id)
        s.join()


def test_step_out_of_a_coroutine_lands_after_its_await() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("inner-return"))
        s.start(prog.run_async)
        stop = s.stopped()
        s.engine.resume(stop.thread_id, "out")
        stop = s.stopped()
        assert stop.function == "outer"
        s.engine.resume(stop.thread_id)
        s.join()


def test_evaluate_reports_exceptions_without_raising_them() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("locals-demo"))
        s.start(prog.locals_demo)
        stop = s.stopped()
        result = s.engine.inspection.evaluate(stop.thread_id, 0, "1 / 0")
        assert not result.ok and result.error and "ZeroDivisionError" in result.error
        assert s.engine.inspection.evaluate(stop.thread_id, 0, "value + 41").value == "42"
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [1 + 3]


def test_assignment_in_a_frame_sticks_when_the_program_continues() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("locals-return"))
        s.start(prog.locals_demo)
        stop = s.stopped()
        assert s.engine.inspection.evaluate(stop.thread_id, 0, "value = 100", mode="exec").ok
        assert s.engine.inspection.set_variable(stop.thread_id, 0, "items", "[0] * 5").ok
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [105]


def test_assignment_in_a_caller_frame_sticks() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("add-body"))
        s.start(prog.caller)
        stop = s.stopped()
        # frame 1 is caller(); change x after add() returns? x is assigned from add's
        # result, so change add's argument in frame 0 and check the result instead.
        assert s.engine.inspection.set_variable(stop.thread_id, 0, "b", "20").ok
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [210]


def test_evaluation_that_runs_too_long_is_aborted_and_program_goes_on() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("locals-demo"))
        s.start(prog.locals_demo)
        stop = s.stopped()
        result = s.engine.inspection.evaluate(stop.thread_id, 0, "while True: value += 1",
                                              timeout=0.5)
        assert result.timed_out and not result.ok
        # what the loop did before the abort is still there, and the frame still works
        assert int(s.engine.inspection.evaluate(stop.thread_id, 0, "value").value) > 1
        s.engine.inspection.set_variable(stop.thread_id, 0, "value", "1")
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [4]


def test_jump_skips_statements() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("jump-a"))
        s.start(prog.jumpy)
        stop = s.stopped()
        check = s.engine.inspection.jump(stop.thread_id, L("jump-c"))
        assert check.allowed, check.reason
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [["c"]]


def test_jump_into_a_loop_body_is_refused_with_the_rule() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-return"))
        s.start(lambda: prog.loop(2))
        stop = s.stopped()
        check = s.engine.inspection.jump(stop.thread_id, L("loop-body"))
        assert not check.allowed and "for" in check.reason
        s.engine.resume(stop.thread_id)
        s.join()


def test_exception_breakpoint_raised_stops_where_raised() -> None:
    with session() as s:
        s.engine.set_exception_mode(ExceptionMode.RAISED)
        s.start(prog.catches)
        stop = s.stopped()
        assert stop.reason is StopReason.EXCEPTION and stop.line == L("raise")
        assert stop.exception == "ValueError: boom"
        s.engine.set_exception_mode(ExceptionMode.OFF)
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == ["caught"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_uncaught_exception_stops_post_mortem() -> None:
    with session() as s:
        s.engine.set_exception_mode(ExceptionMode.UNCAUGHT)
        s.start(prog.raises, catch=False)
        raised = s.wait_for(ExceptionRaised)
        assert raised.uncaught and raised.exception == "ValueError: boom"
        stop = s.stopped()
        assert stop.reason is StopReason.EXCEPTION and stop.line == L("raise")
        assert s.engine.inspection.evaluate(stop.thread_id, 0, "1 + 1").value == "2"
        s.engine.resume(stop.thread_id)
        for thread in s.threads:
            thread.join(60)


def test_pause_stops_a_busy_thread_and_resume_lets_it_finish() -> None:
    flag = threading.Event()
    with session() as s:
        s.start(lambda: prog.spin(flag))
        assert s.engine.pause()
        stop = s.stopped()
        assert stop.reason is StopReason.PAUSE
        flag.set()
        s.engine.resume(stop.thread_id)
        s.join()


def test_when_one_thread_stops_the_others_park_and_resume_together() -> None:
    flag = threading.Event()
    with session() as s:
        s.start(lambda: prog.spin(flag), name="spinner")
        s.engine.breakpoints.add(prog.__file__, L("add-body"))
        s.start(prog.caller, name="caller")
        stop = s.stopped()
        states = {t.name: t.state for t in s.engine.inspection.threads()}
        # the spinner reaches its next line event and parks
        for _ in range(200):
            if states.get("spinner") == "parked":
                break
            threading.Event().wait(0.05)
            states = {t.name: t.state for t in s.engine.inspection.threads()}
        assert states["caller"] == "stopped" and states["spinner"] == "parked"
        flag.set()
        s.engine.resume(stop.thread_id)
        s.join()


def test_breakpoint_set_before_module_import_binds_at_import(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "late_module.py"
    source.write_text("def f():\n    x = 1\n    return x\n")
    with session() as s:
        bp = s.engine.breakpoints.add(str(source), 2)
        assert not bp.verified
        sys.path.insert(0, str(tmp_path))
        try:
            s.start(lambda: __import__("late_module").f())
            stop = s.stopped()
            assert stop.line == 2
            s.engine.resume(stop.thread_id)
            s.join()
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("late_module", None)


def test_children_list_items_and_attributes() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("locals-return"))
        s.start(prog.locals_demo)
        stop = s.stopped()
        scopes = s.engine.inspection.scopes(stop.thread_id, 0)
        items = next(v for v in scopes["locals"] if v.name == "items")
        assert items.ref
        assert [c.value for c in s.engine.inspection.children(items.ref)] == ["1", "2", "3"]
        s.engine.resume(stop.thread_id)
        s.join()


def test_detach_clears_breakpoints_and_releases_threads() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-body"))
        s.start(lambda: prog.loop(3))
        s.stopped()
        s.engine.detach()
        s.join()
        assert s.engine.breakpoints.listing() == []
