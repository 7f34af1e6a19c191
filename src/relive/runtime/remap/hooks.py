"""How stale frames are given remap opportunities: line events on their code only.

Two backends with one interface (:class:`Hooks`):

- CPython 3.12+: ``sys.monitoring``, tool id 4 ("relive-remap"; the debugger uses 0). Local
  ``LINE``, ``PY_RETURN`` and ``PY_YIELD`` events are set on the stale code objects only, so
  no other code pays anything, every thread is covered, and a suspended generator gets its
  events when it resumes. Events are removed from a code object when it has no stale frame
  left, and the tool id is given back when no code object is instrumented.
- CPython 3.11: a trace function. ``frame.f_trace`` (with ``f_trace_lines``) is set on the
  stale frames only, but line events reach a frame only while its thread has a global trace
  function, so while any frame is pending every thread gets one (``sys.settrace`` for this
  thread, ``threading.settrace`` for new threads, and ``_PyEval_SetTrace`` for
  the others (:mod:`relive._cpython.threadstate`; the C function behind 3.12's
  ``threading.settrace_all_threads``), given the
  interpreter's own trace trampoline). The global function only returns the local one for
  frames of stale code. Threads that already run another tool's trace function are left alone,
  and a frame's own trace function (a debugger's) is chained, not replaced.
  Raising the remap signal from a trace function makes CPython drop that thread's trace
  function; :meth:`Hooks.after_signal` puts it back when frames are still pending.

Callbacks are ``on_line(frame, code)``, which may raise the remap signal, and
``on_exit(frame, code, suspended)`` for a frame that returns, unwinds (3.11 only), or yields.
"""

from __future__ import annotations

import dis
import sys
import threading
import weakref
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, Protocol

from relive._cpython import threadstate
from relive._cpython.tracing import HAS_MONITORING

__all__ = ["TOOL_ID", "TOOL_NAME", "Hooks", "make_hooks"]

TOOL_ID = 4
TOOL_NAME = "relive-remap"

OnLine = Callable[[FrameType, CodeType], None]
OnExit = Callable[[FrameType, CodeType, bool], None]


class Hooks(Protocol):
    def instrument(self, code: CodeType) -> str | None:
        """Start line events on ``code``; returns why not, if it cannot."""

    def release(self, code: CodeType) -> None:
        """Stop events on ``code``."""

    def watch(self, frame: FrameType) -> str | None:
        """Make sure this running or suspended frame gets line events; why not, if it cannot."""

    def unwatch(self, frame: FrameType) -> None:
        """The frame no longer needs line events."""

    def after_signal(self, pending: bool) -> None:
        """Called in the thread of a frame that was just remapped."""

    def idle(self) -> None:
        """Nothing is pending any more: remove whatever is left."""

    def owns(self, trace: object) -> bool:
        """True if ``trace`` (a trace function) is this backend's."""


class MonitoringHooks:
    """The 3.12+ backend (see the module docstring)."""

    def __init__(self, on_line: OnLine, on_exit: OnExit) -> None:
        self._on_line = on_line
        self._on_exit = on_exit
        # weak: instrumentation must not keep a stale code object (and its frames' hopes) alive
        self._codes: dict[int, weakref.ref[CodeType]] = {}
        self._active = False

    def _start(self) -> str | None:
        if self._active:
            return None
        monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        try:
            monitoring.use_tool_id(TOOL_ID, TOOL_NAME)
        except ValueError:
            return f"sys.monitoring tool id {TOOL_ID} is used by {monitoring.get_tool(TOOL_ID)!r}"
        events = monitoring.events
        monitoring.register_callback(TOOL_ID, events.LINE, self._line)
        monitoring.register_callback(TOOL_ID, events.PY_RETURN, self._return)
        monitoring.register_callback(TOOL_ID, events.PY_YIELD, self._yield)
        self._active = True
        return None

    def _line(self, code: CodeType, line: int) -> None:
        self._on_line(sys._getframe(1), code)

    def _return(self, code: CodeType, offset: int, value: object) -> None:
        self._on_exit(sys._getframe(1), code, False)

    def _yield(self, code: CodeType, offset: int, value: object) -> None:
        self._on_exit(sys._getframe(1), code, True)

    def instrument(self, code: CodeType) -> str | None:
        problem = self._start()
        if problem is not None:
            return problem
        monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        events = monitoring.events
        monitoring.set_local_events(TOOL_ID, code, events.LINE | events.PY_RETURN | events.PY_YIELD)
        key = id(code)
        self._codes[key] = weakref.ref(code, lambda _ref: self._codes.pop(key, None))
        return None

    def release(self, code: CodeType) -> None:
        ref = self._codes.get(id(code))
        if ref is not None and ref() is code:
            del self._codes[id(code)]
            monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            monitoring.set_local_events(TOOL_ID, code, 0)

    def watch(self, frame: FrameType) -> str | None:
        return None  # events are per code object

    def unwatch(self, frame: FrameType) -> None:
        pass

    def after_signal(self, pending: bool) -> None:
        pass

    def owns(self, trace: object) -> bool:
        return False

    def idle(self) -> None:
        for ref in list(self._codes.values()):
            code = ref()
            if code is not None:
                self.release(code)
        self._codes.clear()
        if self._active:
            monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            events = monitoring.events
            for event in (events.LINE, events.PY_RETURN, events.PY_YIELD):
                monitoring.register_callback(TOOL_ID, event, None)
            monitoring.free_tool_id(TOOL_ID)
            self._active = False


_YIELD_VALUE = dis.opmap["YIELD_VALUE"]


class TraceHooks:
    """The 3.11 backend (see the module docstring)."""

    def __init__(self, on_line: OnLine, on_exit: OnExit) -> None:
        self._codes: set[int] = set()
        self._armed = False
        # another tool's local trace function on a frame we watch (a debugger's, say): it is
        # called first, so that it keeps seeing the frame's events
        previous: dict[FrameType, Callable[..., Any]] = {}
        self._previous = previous

        # Plain closures, made once: bound methods are new objects at each access, and the
        # functions are compared by identity (here and in other threads' thread states).
        def local(frame: FrameType, event: str, arg: object) -> Any:
            chained = previous.get(frame)
            if chained is not None:
                following = chained(frame, event, arg)
                if following is None:
                    del previous[frame]
                elif following is not chained:
                    previous[frame] = following
            if event == "line":
                on_line(frame, frame.f_code)
            elif event == "return":
                code = frame.f_code
                lasti = frame.f_lasti
                suspended = 0 <= lasti < len(code.co_code) and code.co_code[lasti] == _YIELD_VALUE
                on_exit(frame, code, suspended)
            return local

        def global_(frame: FrameType, event: str, arg: object) -> Any:
            if event == "call" and id(frame.f_code) in self._codes:
                frame.f_trace_lines = True
                return local
            return None

        self._local = local
        self._global = global_

    def _arm(self) -> None:
        if sys.gettrace() is None:
            _settrace(self._global)
        if threading.gettrace() is None:
            threading.settrace(self._global)
        if threadstate.available():
            threadstate.set_others(self._global, self._global)
        self._armed = True

    def instrument(self, code: CodeType) -> str | None:
        self._codes.add(id(code))
        return None

    def release(self, code: CodeType) -> None:
        self._codes.discard(id(code))

    def watch(self, frame: FrameType) -> str | None:
        if not self._armed:
            self._arm()
        current = frame.f_trace
        if current is not None and current is not self._local:
            self._previous[frame] = current
        frame.f_trace = self._local
        frame.f_trace_lines = True
        return None

    def unwatch(self, frame: FrameType) -> None:
        chained = self._previous.pop(frame, None)
        if frame.f_trace is self._local:
            frame.f_trace = chained

    def owns(self, trace: object) -> bool:
        return trace is self._global or trace is self._local

    def after_signal(self, pending: bool) -> None:
        # CPython dropped this thread's trace function when the signal was raised from it
        if pending and sys.gettrace() is None:
            _settrace(self._global)

    def idle(self) -> None:
        self._codes.clear()
        if not self._armed:
            return
        if sys.gettrace() is self._global and not _settrace(None):
            return  # this thread keeps the trace function (it watches nothing); next time
        if threading.gettrace() is self._global:
            threading.settrace(None)  # type: ignore[arg-type,unused-ignore]
        if threadstate.available():
            threadstate.set_others(None, self._global)
        self._armed = False


def _settrace(func: Callable[..., Any] | None) -> bool:
    """``sys.settrace(func)``; False where 3.11 refuses because another trace function is
    being installed in this thread at that moment (by an audit hook's doing, say): the frame
    must not die of relive's bookkeeping."""
    try:
        sys.settrace(func)
    except RuntimeError:
        return False
    return True


def make_hooks(on_line: OnLine, on_exit: OnExit) -> Hooks:
    """The backend for this interpreter."""
    if HAS_MONITORING:
        return MonitoringHooks(on_line, on_exit)
    return TraceHooks(on_line, on_exit)
