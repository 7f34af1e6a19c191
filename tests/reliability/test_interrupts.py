"""An interrupt at any moment of an apply leaves the module old or new, with its baseline in
step: a ``KeyboardInterrupt`` (Ctrl-C) is raised where CPython raises one — at a function's
start, a backward jump, or just after a call returns — in relive's code: at every such point of
the commit sequence and at a sample of all the others."""

from __future__ import annotations

import dis
import functools
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

import pytest

import relive
from relive._cpython import world
from relive.delta import compute_delta
from relive.runtime import tracked
from relive.runtime.apply.pipeline import apply_delta
from relive.runtime.remap import tracker
from tests.runtime.conftest import LiveModule

OLD = "def f():\n    return 2\n\nX = 1\n"
NEW = "def f():\n    return 3\n\nX = 2\nY = X + 1\n"
STRIDE = 13  # outside the commit sequence, one bytecode in this many is interrupted
# the frames whose every bytecode is interrupted: the apply's own sequence and the commit
TOOL = 4  # a sys.monitoring tool id of no one else's here
EVERY = {"_prepare_locked", "committed", "apply_delta", "commit", "rollback", "withdraw",
         "settle",
         # the hold of other threads around the commit
         "held", "end", "undo", "_start_monitoring", "_start_tracing", "replace_others",
         "restore_others", "restore_frames"}


class _Interrupter:
    """Raises KeyboardInterrupt at the ``at``-th chosen bytecode of relive's code (counting
    every bytecode of the frames in EVERY, one in STRIDE elsewhere): by a trace function on
    3.11, by ``sys.monitoring`` instruction events on 3.12+."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.other = 0
        self.fired = False
        self.where: tuple[str, int | None] = ("", None)

    @staticmethod
    def _watched(code: CodeType) -> bool:
        # relive's own code, without the scan of the heap (most bytecodes, and only looking)
        # and comprehensions
        name = code.co_filename
        return ("relive" in name and "tests" not in name and not name.endswith("heap.py")
                and not code.co_name.startswith("<"))

    def _step(self, code: CodeType, where: int) -> None:
        if self.fired or where not in _checkpoints(code):
            return
        if code.co_name not in EVERY:
            self.other += 1
            if self.other % STRIDE:
                return
        self.seen += 1
        if self.seen == self.at:
            self.fired = True
            self.where = (code.co_qualname, where)
            raise KeyboardInterrupt

    def __enter__(self) -> _Interrupter:
        if sys.version_info >= (3, 12):
            monitoring = sys.monitoring
            monitoring.use_tool_id(TOOL, "interrupter")
            monitoring.register_callback(TOOL, monitoring.events.INSTRUCTION, self._instruction)
            monitoring.set_events(TOOL, monitoring.events.INSTRUCTION)
        else:
            sys.settrace(self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        if sys.version_info >= (3, 12):
            sys.monitoring.set_events(TOOL, 0)
            sys.monitoring.register_callback(TOOL, sys.monitoring.events.INSTRUCTION, None)
            sys.monitoring.free_tool_id(TOOL)
        else:
            sys.settrace(None)

    def _instruction(self, code: CodeType, offset: int) -> object:
        if not self._watched(code):
            return sys.monitoring.DISABLE
        self._step(code, offset)
        return None

    def _call(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if not self._watched(frame.f_code):
            return None
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return self._opcode

    def _opcode(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "opcode":
            self._step(frame.f_code, frame.f_lasti)
        return self._opcode


@functools.cache
def _checkpoints(code: CodeType) -> frozenset[int]:
    """The offsets at which CPython may raise a KeyboardInterrupt in ``code``: where the eval
    loop handles pending signals (a function's start, a backward jump) and the instruction
    after a call (the signal arrived while it ran). CPython raises that one at the call
    itself, so the instruction after it stands for the call only where the same exception
    handler covers both (after the last call in a ``with`` block, it does not)."""
    bytecode = dis.Bytecode(code)

    def handler(offset: int) -> object:
        return next(((e.target, e.depth) for e in bytecode.exception_entries
                     if e.start <= offset < e.end), None)

    points = set()
    previous: dis.Instruction | None = None
    for instruction in bytecode:
        if instruction.opname in ("RESUME", "JUMP_BACKWARD") or (
                previous is not None and previous.opname.startswith("CALL")
                and handler(previous.offset) == handler(instruction.offset)):
            points.add(instruction.offset)
        previous = instruction
    return frozenset(points)


def _tracker_free() -> bool:
    """The remapper's lock is not held (by this thread: no other takes it here)."""
    lock = tracker._TRACKER.lock
    if not lock.acquire(blocking=False):
        return False
    lock.release()
    # an RLock this thread holds is acquired again: it must not have been held already
    return not lock._is_owned()  # type: ignore[attr-defined]


def _state(m: LiveModule) -> str:
    module = m.module
    old = (module.f(), module.X, hasattr(module, "Y")) == (2, 1, False)
    new = (module.f(), module.X, getattr(module, "Y", None)) == (3, 2, 3)
    assert old or new, f"half applied: f()={module.f()} X={module.X} Y={getattr(module, 'Y', '-')}"
    return "old" if old else "new"


def test_an_interrupt_anywhere_in_an_apply_leaves_module_and_baseline_in_step(
        live: Callable[[str], LiveModule]) -> None:
    m = live(OLD)
    t = tracked(m.module)
    assert relive.reload(m.module, OLD).applied  # warm: the live index is built
    counts = {"old": 0, "new": 0, "completed": 0}
    # another thread, so that each commit holds it (and an interrupt can cut the hold short)
    release = threading.Event()
    after: dict[str, object] = {}

    def waiting() -> None:
        release.wait()
        after["trace"] = sys.gettrace()

    other = threading.Thread(target=waiting)
    other.start()
    at = 1
    while True:
        delta = compute_delta(t.baseline, NEW)
        interrupter = _Interrupter(at)
        try:
            with interrupter:
                apply_delta(t, delta)
        except KeyboardInterrupt:
            pass
        try:
            state = _state(m)
            assert _tracker_free(), "the remapper's lock is still taken"
        except AssertionError as exc:
            raise AssertionError(f"interrupted at {interrupter.where}: {exc}") from None
        counts[state] += 1
        assert t.baseline.source == (NEW if state == "new" else OLD), (at, state)
        if not interrupter.fired:
            counts["completed"] += 1
            break
        if state == "new":
            assert relive.reload(m.module, OLD).applied
            assert _state(m) == "old"
        at += 1
    # every later save still reaches the code
    assert relive.reload(m.module, NEW).applied and _state(m) == "new"
    # and nothing of the hold or of the remapper is left behind
    release.set()
    other.join(10)
    assert world._current is None and after == {"trace": None}
    if sys.version_info >= (3, 12):
        assert world.TOOL_NAME not in {sys.monitoring.get_tool(i) for i in range(6)}
    assert _tracker_free()
    assert counts["completed"] == 1 and counts["old"] > 40 and counts["new"] > 10, counts
    print(f"interrupted applies: {counts}")


def test_an_update_handler_interrupted_does_not_undo_the_apply_nor_skip_the_others(
        live: Callable[[str], LiveModule]) -> None:
    m = live(OLD)
    called: list[str] = []

    def interrupted(result: relive.ApplyResult) -> None:
        called.append("interrupted")
        raise KeyboardInterrupt

    def after(result: relive.ApplyResult) -> None:
        called.append("after")

    unsubscribe = [relive.on_update(interrupted), relive.on_update(after)]
    try:
        with pytest.raises(KeyboardInterrupt):
            relive.reload(m.module, NEW)
    finally:
        for undo in unsubscribe:
            undo()
    assert called == ["interrupted", "after"]
    assert _state(m) == "new" and tracked(m.module).baseline.source == NEW
