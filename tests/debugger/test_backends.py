"""Each backend on the interpreter it is for: events only where needed, locals write back."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest
from harness import line_of, load_program, session

from relive.debugger import evaluate
from relive.runtime.registry import REGISTRY

prog = load_program("basic")
L = lambda tag: line_of("basic", f"tag:{tag}")  # noqa: E731

monitoring_only = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
tracing_only = pytest.mark.skipif(sys.version_info >= (3, 12), reason="the trace backend is 3.11's")


def test_locals_write_through_is_used_exactly_on_313_and_later() -> None:
    assert (sys.version_info >= (3, 13)) == evaluate.WRITE_THROUGH


def test_assignment_in_a_caller_frame_sticks_on_this_version() -> None:
    # 3.13+: through the write-through f_locals proxy; before: PyFrame_LocalsToFast.
    with session() as s:
        bp = s.engine.breakpoints.add(prog.__file__, L("add-body"))
        s.start(prog.outer_sum)
        stop = s.stopped()
        frames = s.engine.inspection.stack(stop.thread_id)
        assert [f.name for f in frames[:2]] == ["add", "outer_sum"]
        assert s.engine.inspection.set_variable(stop.thread_id, 1, "base", "100").ok
        s.engine.breakpoints.remove(bp.id)
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [105]


@monitoring_only
def test_monitoring_takes_the_debugger_tool_id_and_gives_it_back() -> None:
    mon = sys.monitoring
    with session():
        assert mon.get_tool(mon.DEBUGGER_ID) == "relive"
        assert mon.get_tool(4) is None  # frame remapping's id stays free
    assert mon.get_tool(mon.DEBUGGER_ID) is None


@monitoring_only
def test_monitoring_uses_local_events_only_on_code_with_breakpoints() -> None:
    mon = sys.monitoring
    with session() as s:
        assert mon.get_events(mon.DEBUGGER_ID) == 0
        bp = s.engine.breakpoints.add(prog.__file__, L("add-body"))
        assert mon.get_local_events(mon.DEBUGGER_ID, prog.add.__code__) == mon.events.LINE
        assert mon.get_local_events(mon.DEBUGGER_ID, prog.loop.__code__) == 0
        assert mon.get_events(mon.DEBUGGER_ID) == 0  # nothing global while idle
        s.engine.breakpoints.remove(bp.id)
        assert mon.get_local_events(mon.DEBUGGER_ID, prog.add.__code__) == 0


@monitoring_only
def test_monitoring_switches_global_events_on_only_while_stepping() -> None:
    mon = sys.monitoring
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("caller-first"))
        s.start(prog.caller)
        stop = s.stopped()
        s.engine.resume(stop.thread_id, "over")
        stop = s.stopped()
        # stopped again: all threads are held, so line events are on everywhere
        assert mon.get_events(mon.DEBUGGER_ID) & mon.events.LINE
        s.engine.detach()
        s.join()
        assert mon.get_events(mon.DEBUGGER_ID) == 0


def _trace_of_thread(s, fn):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a program thread and return the trace function it saw."""
    seen = []
    done = threading.Event()

    def run() -> None:
        seen.append(sys.gettrace())
        fn()
        done.set()

    s.start(run)
    return seen, done


@tracing_only
def test_tracing_installs_no_trace_function_while_there_are_no_breakpoints() -> None:
    from relive._cpython import threadstate

    assert threadstate.available()
    with session() as s:
        seen, _ = _trace_of_thread(s, lambda: None)
        s.join()
        assert seen == [None]


@tracing_only
def test_tracing_traces_a_thread_only_inside_the_function_with_the_breakpoint() -> None:
    gate = threading.Event()
    observed: list[object] = []

    def program() -> None:
        gate.wait(60)
        observed.append(sys.gettrace())  # before the call: no trace function
        prog.add(1, 2)
        observed.append(sys.gettrace())  # after it returned: none again

    with session() as s:
        s.start(program)
        bp = s.engine.breakpoints.add(prog.__file__, L("add-body"))
        gate.set()
        stop = s.stopped()
        inside = s.engine.inspection.evaluate(
            stop.thread_id, 0, "__import__('sys').gettrace() is not None")
        s.engine.breakpoints.remove(bp.id)
        s.engine.resume(stop.thread_id)
        s.join()
    assert inside.value == "True"
    assert observed == [None, None]


@tracing_only
def test_breakpoint_in_a_loop_of_a_hooked_function_is_hit_every_time() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("loop-body"))
        s.start(lambda: prog.loop(3))
        seen = []
        for _ in range(3):
            stop = s.stopped()
            seen.append(s.engine.inspection.evaluate(stop.thread_id, 0, "i").value)
            s.engine.resume(stop.thread_id)
        s.join()
    assert seen == ["0", "1", "2"]


def test_breakpoint_in_a_closure_made_after_the_breakpoint_is_hit() -> None:
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("closure-body"))
        s.start(lambda: prog.make_adder(5)(1))
        stop = s.stopped()
        assert stop.function == "make_adder.<locals>.adder"
        s.engine.resume(stop.thread_id)
        s.join()
    assert s.results == [6]


@tracing_only
def test_hooked_function_gets_its_own_code_back_when_the_breakpoint_goes() -> None:
    original = prog.add.__code__
    with session() as s:
        bp = s.engine.breakpoints.add(prog.__file__, L("add-body"))
        assert prog.add.__code__ is not original  # the entry-hooked copy
        assert prog.add.__code__.co_firstlineno == original.co_firstlineno
        s.engine.breakpoints.remove(bp.id)
        assert prog.add.__code__ is original


def test_stop_one_thread_mode_lets_the_other_threads_run() -> None:
    flag = threading.Event()
    with session() as s:
        s.engine.stop_all = False
        s.start(lambda: prog.spin(flag), name="spinner")
        s.engine.breakpoints.add(prog.__file__, L("add-body"))
        s.start(prog.caller, name="caller")
        stop = s.stopped()
        flag.set()  # the spinner is not held: it sees the flag and finishes
        s.threads[0].join(60)
        assert not s.threads[0].is_alive()
        s.engine.resume(stop.thread_id)
        s.join()


@tracing_only
def test_unhooked_maps_an_entry_hooked_copy_back_to_its_original() -> None:
    from relive.debugger.backends.entry_hooks import unhooked

    original = prog.add.__code__
    with session() as s:
        s.engine.breakpoints.add(prog.__file__, L("add-body"))
        assert unhooked(prog.add.__code__) is original
    assert unhooked(original) is original


def test_a_function_compiled_in_enc_mode_gets_an_enc_mode_entry_hook(tmp_path: Path) -> None:
    # Modules tracked by relive run EnC code: their breakpoints must not fall back to
    # tracing every call (3.11's backend), so the hooked copy is compiled the same way.
    from relive.debugger.backends.entry_hooks import EntryHooks, unhooked
    from relive.runtime.enc import enc_compile, is_enc_code
    from relive.runtime.remap.continuation import unalias

    path = tmp_path / "encmod.py"
    source = b"def twice(x):\n    y = x * 2\n    return y\n"
    path.write_bytes(source)
    module = types.ModuleType("encmod")
    module.__file__ = str(path)
    tracked = REGISTRY.register(module, str(path), source)
    exec(enc_compile(source, str(path)), module.__dict__)
    twice = module.twice
    original = twice.__code__
    assert is_enc_code(original)
    entered: list[str] = []
    hooks = EntryHooks(lambda frame: entered.append(frame.f_code.co_name))
    try:
        assert hooks.sync([original]) == []  # hooked, not left to global tracing
        hooked = twice.__code__
        assert hooked is not original and is_enc_code(hooked)
        assert unhooked(hooked) is original
        assert unalias(hooked) is original  # an edit remaps its frames as frames of f
        assert list(tracked.aliases) == [id(hooked)]  # kept on the tracked module
        assert twice(21) == 42 and entered == ["twice"]
    finally:
        hooks.restore_all()
        REGISTRY.unregister(tracked)
    assert twice.__code__ is original
