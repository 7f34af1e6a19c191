"""Other threads held still while this one makes a change they must see whole, by version.

CPython hands the GIL to another thread only at certain bytecodes (a call, a backward jump,
a function's start), so a change made by one call into C that runs no bytecode is seen whole
by every other thread: that is how the commit of an apply is atomic. Some assignments run
Python code all the same: CPython calls the audit hooks (``sys.addaudithook``) for
``function.__code__``, ``__defaults__``, ``__kwdefaults__``, a class's ``__name__`` and
``__bases__``, and a metaclass may define ``__setattr__``. That code can hand the GIL to
another thread in the middle of the change. :func:`held` closes that gap: every other thread
that gets the GIL while it is in force waits before its next instruction until it ends. A
thread switched out at one of its own switch points is held before it runs anything more, so
it sees the state before the change or the state after it, as without hooks.

How a thread is stopped before its next instruction depends on the version:

- 3.12+: ``sys.monitoring`` ``INSTRUCTION`` events for the time of the change, on a tool id of
  their own, in the code the other threads are running (setting them instruments that code
  at once). (``LINE`` events where another tool takes ``INSTRUCTION`` events: see
  :func:`_start_monitoring`.)
- 3.11: a trace function with opcode events in every other thread
  (:mod:`relive._cpython.threadstate`), set on each running frame too, and each thread's own
  trace function and each frame's trace settings put back afterwards.

A held thread waits at most ``patience`` seconds: if the change itself waits for a held
thread (an audit hook taking a lock that a held thread has), the hold is given up rather than
deadlock, every thread goes on, and :attr:`Hold.overran` says so. An interrupt (Ctrl-C) at any
bytecode of a hold leaves nothing installed for long: what was installed is put back when the
block ends or, if the interrupt cut that short, at the start of the next hold.

On 3.11 setting another thread's trace function is an audited event too, and 3.11 refuses a
trace function while another thread is in the middle of installing one (its audit hook having
given the GIL away): the hold then holds no thread and says so in :attr:`Hold.problem`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any

from relive._cpython import threadstate
from relive._cpython.tracing import HAS_MONITORING

PATIENCE = 2.0
"""How long a held thread waits for the change to end, in seconds."""

TOOL_NAME = "relive-hold"
_FREE_TOOL_IDS = (3, 5)  # ids no other part of relive takes (0 is the debugger's, 4 the remap's)


class Hold:
    """What a :func:`held` block did."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.gate = threading.Lock()
        self.gate.acquire()
        self.undo: list[Callable[[], None]] = []  # what ending it puts back, last first
        self.waited = 0  # threads that got the GIL during the block and waited
        self.overran = 0  # of those, the ones that stopped waiting after ``patience``
        # "monitoring" ("monitoring lines"), "tracing", or "none" (no other thread to hold)
        self.how = "none"
        self.problem: str | None = None  # why no thread could be held although some exist
        self.broken = False  # a thread waited out its patience: the hold holds no one now

    def wait(self, patience: float) -> None:
        """Called by another thread before its next instruction: wait for the block's end."""
        self.waited += 1
        if self.gate.acquire(timeout=patience):
            self.gate.release()
        else:
            self.overran += 1
            self.broken = True

    def end(self) -> None:
        """Put back what the hold installed, then let the held threads go. Each step can be
        run again, so an end that an interrupt cut short is finished by calling it again
        (the next :func:`held` does)."""
        global _current
        while self.undo:
            self.undo[-1]()
            self.undo.pop()
        if _current is self:
            _current = None
        if self.gate.locked():
            self.gate.release()


_current: Hold | None = None  # the hold in force (or one an interrupt kept from ending)


def _hold_here(ident: int, patience: float) -> None:
    """Wait while a hold of another thread is in force. A thread that was in here for an
    earlier hold when a new one began waits for that one too: it must not run the
    instruction it was held before in the middle of the new change. Nothing between the last
    look at ``_current`` and the return can hand the GIL over."""
    while True:
        hold = _current
        if hold is None or hold.owner == ident or hold.broken:
            return
        hold.wait(patience)


def _other_frames(owner: int) -> Iterator[FrameType]:
    """Every frame of every thread of this interpreter but ``owner``."""
    for ident, top in sys._current_frames().items():
        frame: FrameType | None = None if ident == owner else top
        while frame is not None:
            yield frame
            frame = frame.f_back


def others_running() -> bool:
    """Whether any other thread of this interpreter has Python frames."""
    return next(_other_frames(threading.get_ident()), None) is not None


@contextmanager
def held(patience: float = PATIENCE) -> Iterator[Hold]:
    """Hold every other thread before its next instruction for the time of the block."""
    global _current
    if _current is not None:
        _current.end()
    hold = Hold()
    if others_running():
        _current = hold
    try:
        if _current is hold:
            if HAS_MONITORING:
                _start_monitoring(hold, patience)
            else:
                _start_tracing(hold, patience)
        yield hold
    finally:
        hold.end()


def _start_monitoring(hold: Hold, patience: float) -> None:
    mon: Any = getattr(sys, "monitoring")  # noqa: B009 (absent on 3.11, for mypy)
    for stale in _FREE_TOOL_IDS:
        if mon.get_tool(stale) == TOOL_NAME:  # left by a hold an interrupt cut short
            mon.free_tool_id(stale)
    free = [t for t in _FREE_TOOL_IDS if mon.get_tool(t) is None]
    if not free:
        hold.problem = f"sys.monitoring tool ids {_FREE_TOOL_IDS} are all taken"
        return
    tool = free[0]
    get_ident = threading.get_ident

    def here(code: object, where: int) -> None:
        _hold_here(get_ident(), patience)

    # CPython (3.12 to 3.15) stops delivering a tool's INSTRUCTION events in code where a
    # second tool switches them on, so where another tool takes them the hold stops threads
    # at lines instead (a thread switched out in the middle of a line runs its rest first)
    instruction = mon.events.INSTRUCTION
    event = (mon.events.LINE if any(mon.get_events(t) & instruction for t in range(6))
             else instruction)

    # Only the code that other threads are running gets events: a thread runs an instruction
    # of its innermost frame before anything else, so that is where it is held (its outer
    # frames are instrumented too, for a thread returning from another tool's callback).
    # Switching events on for all code would send every code object that runs afterwards,
    # relive's own included, through instrumenting and back.
    installed: set[CodeType] = set()

    def undo() -> None:
        if mon.get_tool(tool) == TOOL_NAME:
            for code in installed:
                mon.set_local_events(tool, code, 0)
            mon.register_callback(tool, event, None)
            mon.free_tool_id(tool)

    hold.undo.append(undo)
    mon.use_tool_id(tool, TOOL_NAME)
    mon.register_callback(tool, event, here)
    # A thread that runs while events are being set can move on to code that has none: look
    # again until every other thread is in code that has them (there it is held before it can
    # move anywhere).
    while new := {frame.f_code for frame in _other_frames(hold.owner)} - installed:
        for code in new:
            installed.add(code)
            mon.set_local_events(tool, code, event)
    hold.how = "monitoring" if event == instruction else "monitoring lines"


def _start_tracing(hold: Hold, patience: float) -> None:
    if not threadstate.available():
        hold.problem = threadstate.problem()
        return
    owner, get_ident = hold.owner, threading.get_ident

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        _hold_here(get_ident(), patience)
        # Once the hold is over the thread's own trace function and the frame's are back:
        # the event goes on to them, so a debugger's breakpoint or a coverage tool misses
        # nothing for the time the thread was held.
        if event == "call":
            own: Any = sys.gettrace()
            return None if own is None or own is trace else own(frame, event, arg)
        local: Any = frame.f_trace
        if local is None or local is trace or (event == "opcode" and not frame.f_trace_opcodes):
            return local
        return local(frame, event, arg)

    saved_threads: threadstate.Saved = []
    hold.undo.append(lambda: threadstate.restore_others(saved_threads))
    try:
        threadstate.replace_others(trace, saved_threads)
    except RuntimeError as exc:  # 3.11 refuses while another thread installs a trace function
        hold.problem = str(exc)
        return
    saved_frames: list[tuple[FrameType, Any, bool]] = []

    def restore_frames() -> None:
        for frame, f_trace, opcodes in reversed(saved_frames):
            frame.f_trace, frame.f_trace_opcodes = f_trace, opcodes

    hold.undo.append(restore_frames)
    # (a frame that starts after this thread's trace function was replaced is held at its
    # call event, so one look at the running frames is enough)
    for frame in _other_frames(owner):
        saved_frames.append((frame, frame.f_trace, frame.f_trace_opcodes))
        frame.f_trace, frame.f_trace_opcodes = trace, True
    hold.how = "tracing"


__all__ = ["PATIENCE", "Hold", "held", "others_running"]
