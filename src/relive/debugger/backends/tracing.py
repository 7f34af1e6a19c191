"""The trace-function backend (CPython 3.11).

A *global* trace function sees every call in a thread that has it and returns None (no line
events for that frame) unless the frame's code owns a breakpoint, or the thread is stepping,
or all threads are being stopped; then it returns the *local* trace function, which the
interpreter keeps in ``frame.f_trace`` and calls for the frame's lines, returns and
exceptions.

On 3.11 the mere presence of a trace function in a thread slows every instruction of that
thread, so the global trace is installed in the program's threads only while something
needs it (see :mod:`relive._cpython.threadstate`), and removed when the last breakpoint
goes and nobody steps. Frames already running when tracing starts get ``f_trace`` set
directly, so a breakpoint in a loop that is running already is hit.
"""

from __future__ import annotations

import dis
import sys
import threading
from types import CodeType, FrameType
from typing import Any

from relive._cpython import threadstate
from relive._cpython.code import suspends
from relive.debugger.backends.base import EngineHooks
from relive.debugger.backends.entry_hooks import EntryHooks

# 3.11 reports a ``yield`` as a 'return' event; the instruction at f_lasti tells them apart.
_YIELD_VALUE = dis.opmap["YIELD_VALUE"]


def _is_yield(frame: FrameType) -> bool:
    code = frame.f_code
    if not suspends(code):
        return False
    lasti = frame.f_lasti
    return 0 <= lasti < len(code.co_code) and code.co_code[lasti] == _YIELD_VALUE


class TracingBackend:
    """Delivers trace events to the engine. See the module docstring."""

    name = "trace function"

    def __init__(self, hooks: EngineHooks) -> None:
        self._hooks = hooks
        self._active = False
        self._installed = False
        self._refresh_lock = threading.RLock()
        self._traced: set[int] = set()  # threads given the global trace while active
        # Read by the global trace on every call: kept as plain attributes, not computed.
        self._all = False
        self._codes: list[CodeType] = []  # held, so that their ids stay theirs
        self._code_ids: frozenset[int] = frozenset()
        self._files: frozenset[str] = frozenset()  # co_filename of those codes
        # Without a way to reach other threads, trace everything from the start.
        self._always = not threadstate.available()
        # Functions with breakpoints announce their calls: no tracing until then.
        self._entry = EntryHooks(self._on_enter)

    # ------------------------------------------------------------------ lifecycle

    def install(self) -> None:
        self._installed = True
        if self._always:
            self._activate()
        else:
            self.refresh()

    def uninstall(self) -> None:
        with self._refresh_lock:
            if self._active:
                self._deactivate()
            self._entry.restore_all()
            self._installed = False

    def refresh(self) -> None:
        # Refreshes come from the agent's and the program's threads: one at a time, so the
        # last one always applies the latest state.
        with self._refresh_lock:
            self._refresh()

    def _refresh(self) -> None:
        if not self._installed:
            return
        hooks = self._hooks
        self._all = hooks.everywhere() or hooks.catching_raised()
        wanted = list(hooks.codes_with_breakpoints())
        self._codes = wanted if self._always else self._entry.sync(wanted)
        self._code_ids = frozenset(id(code) for code in self._codes)
        self._files = frozenset(code.co_filename for code in self._codes)
        needed = self._always or self._all or bool(self._code_ids)
        if needed and not self._active:
            self._activate()
        elif not needed and self._active:
            self._deactivate()
        if self._active:
            if not self._always:
                for ident in self._program_threads():
                    if ident not in self._traced and threadstate.set_trace(ident, self._global):
                        self._traced.add(ident)
            self._trace_running_frames()

    def prepare_module(self, code: CodeType) -> CodeType:
        if self._always:
            return code
        wanted = {id(c) for c in self._hooks.codes_with_breakpoints()}
        return self._entry.prepare_module(code, lambda c: id(c) in wanted)

    def _program_threads(self) -> list[int]:
        return [
            t.ident
            for t in threading.enumerate()
            if t.ident is not None and not self._hooks.is_ignored_thread(t.ident)
        ]

    def _activate(self) -> None:
        self._active = True
        threading.settrace(self._thread_start)
        if self._always:
            sys.settrace(self._global)
            return
        self._traced = set()
        for ident in self._program_threads():
            if threadstate.set_trace(ident, self._global):
                self._traced.add(ident)

    def _deactivate(self) -> None:
        self._active = False
        threading.settrace(None)
        for frame in self._running_frames():
            if frame.f_trace == self._local and id(frame.f_code) not in self._entry.hooked_ids:
                frame.f_trace = None
        # A thread with a frame that still wants line events (a hooked function, or a
        # trace another tool put on a frame) keeps its trace function.
        keep = self._threads_with_traced_frames()
        for ident in self._traced - keep:
            threadstate.set_trace(ident, None)
        self._traced = set()

    def _threads_with_traced_frames(self) -> set[int]:
        out = set()
        for ident, top in sys._current_frames().items():
            frame: FrameType | None = top
            while frame is not None:
                if frame.f_trace is not None:
                    out.add(ident)
                    break
                frame = frame.f_back
        return out

    def _running_frames(self) -> list[FrameType]:
        frames = []
        current = sys._current_frames()
        for ident in self._program_threads():
            frame: FrameType | None = current.get(ident)
            while frame is not None:
                frames.append(frame)
                frame = frame.f_back
        return frames

    def _trace_running_frames(self) -> None:
        """Give ``f_trace`` to running frames that need line events now."""
        everywhere = self._hooks.everywhere()
        wants = self._hooks.wants_lines
        for frame in self._running_frames():
            if frame.f_trace is None and (everywhere or wants(frame.f_code)):
                frame.f_trace = self._local

    # ------------------------------------------------------------------ trace functions

    def _thread_start(self, frame: FrameType, event: str, arg: Any) -> Any:
        if not self._active:
            sys.settrace(None)
            return None
        sys.settrace(self._global)
        self._traced.add(threading.get_ident())
        return self._global(frame, event, arg)

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        # Called for every call in a traced thread: keep it cheap. A code object's hash is
        # computed anew each time (and equal code of a reloaded module must not match), so
        # test the file name, then the identity.
        if self._all:
            return self._local
        code = frame.f_code
        if code.co_filename in self._files and id(code) in self._code_ids:
            return self._local
        return None

    def _on_enter(self, frame: FrameType) -> None:
        """A hooked function starts (see :mod:`relive.debugger.backends.entry_hooks`): trace it."""
        if self._hooks.is_ignored_thread(threading.get_ident()):
            return
        frame.f_trace = self._local
        if sys.gettrace() is None:
            sys.settrace(self._global)

    def _left_hooked_frame(self, frame: FrameType) -> None:
        """A hooked frame returns: drop this thread's trace function unless tracing is on
        for everyone or a frame below still wants line events."""
        if self._active:
            return
        caller = frame.f_back
        while caller is not None:
            if caller.f_trace is not None:
                return
            caller = caller.f_back
        sys.settrace(None)

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        hooks = self._hooks
        if event == "line":
            hooks.on_line(frame, frame.f_lineno)
        elif event == "return":
            hooks.on_return(frame, _is_yield(frame))
            if id(frame.f_code) in self._entry.hooked_ids:
                self._left_hooked_frame(frame)
        elif event == "exception":
            hooks.on_raise(frame, arg[1])
        # Keep a trace function that another tool put on this frame while it was held
        # (the interpreter installs whatever this returns as the frame's f_trace).
        return frame.f_trace or self._local
