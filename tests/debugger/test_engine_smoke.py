from __future__ import annotations

from harness import line_of, load_program, session

from relive.debugger.model import StopReason


def test_line_breakpoint_stops_and_continue_finishes() -> None:
    prog = load_program("basic")
    with session() as s:
        line = line_of("basic", "tag:add-body")
        bp = s.engine.breakpoints.add(prog.__file__, line)
        assert bp.verified
        s.start(lambda: prog.caller())
        stop = s.stopped()
        assert stop.reason is StopReason.BREAKPOINT and stop.line == line
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [30]
