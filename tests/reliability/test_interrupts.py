"""An interrupt at any moment of an apply leaves the module old or new, with its baseline in
step: a ``KeyboardInterrupt`` (Ctrl-C) is raised between two bytecodes of relive's code, at
every bytecode of the commit sequence and at a sample of all the others."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

import relive
from relive.delta import compute_delta
from relive.runtime import tracked
from tests.runtime.conftest import LiveModule

OLD = "def f():\n    return 2\n\nX = 1\n"
NEW = "def f():\n    return 3\n\nX = 2\nY = X + 1\n"
STRIDE = 211  # outside the commit sequence, one bytecode in this many is interrupted
# the frames whose every bytecode is interrupted: the apply's own sequence and the commit
EVERY = {"_apply_locked", "apply_delta", "commit", "rollback", "withdraw", "settle"}


class _Interrupter:
    """A trace function that raises KeyboardInterrupt at the ``at``-th chosen bytecode of
    relive's code (counting every bytecode of the frames in EVERY, one in STRIDE elsewhere)."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.other = 0
        self.fired = False
        self.where: tuple[str, int | None] = ("", None)

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        code = frame.f_code
        if ("relive" not in code.co_filename or "tests" in code.co_filename
                or code.co_filename.endswith("heap.py") or code.co_name.startswith("<")):
            return None  # not relive's, or only looking (the scan of the heap: most bytecodes)
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return self._local

    def _local(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event != "opcode" or self.fired:
            return self._local
        if frame.f_code.co_name not in EVERY:
            self.other += 1
            if self.other % STRIDE:
                return self._local
        self.seen += 1
        if self.seen == self.at:
            self.fired = True
            self.where = (frame.f_code.co_qualname, frame.f_lineno)
            raise KeyboardInterrupt
        return self._local


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
    at = 1
    while True:
        delta = compute_delta(t.baseline, NEW)
        interrupter = _Interrupter(at)
        sys.settrace(interrupter)
        try:
            relive.apply(m.module, delta)
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        try:
            state = _state(m)
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
    assert counts["completed"] == 1 and counts["old"] > 50 and counts["new"] > 1, counts
    print(f"interrupted applies: {counts}")


def test_an_update_handler_interrupted_does_not_undo_the_apply(
        live: Callable[[str], LiveModule]) -> None:
    m = live(OLD)

    def interrupted(result: relive.ApplyResult) -> None:
        raise KeyboardInterrupt

    unsubscribe = relive.on_update(interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            relive.reload(m.module, NEW)
    finally:
        unsubscribe()
    assert _state(m) == "new" and tracked(m.module).baseline.source == NEW
