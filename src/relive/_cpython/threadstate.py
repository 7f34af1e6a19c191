"""Install or remove the trace function of *another* thread (CPython 3.11 only).

``sys.settrace`` acts on the calling thread only, and on 3.11 any trace function makes
every instruction of its thread go through the interpreter's slow tracing path (a global
trace that returns None at once still costs several times the run time of call-heavy code).
So the 3.11 backend keeps no trace function at all while nothing needs one, and installs one
in every thread only while a breakpoint, a step or a pause needs it. To reach threads that
are running, it calls the interpreter's ``_PyEval_SetTrace`` on their thread states.

``PyThreadState`` is not a public structure: the two fields used here (the thread's ident
and the C trace function that ``sys.settrace`` installs) are found by looking at this
thread's own state after setting known values, and checked before use. If anything does not
match, :func:`available` is False and the backend falls back to a trace function installed
in every thread from the start (slower, always correct).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable
from typing import Any

_WORDS = 96  # how much of a PyThreadState is searched (in pointer-sized words)


class _Layout:
    def __init__(self) -> None:
        api = ctypes.pythonapi
        api.PyInterpreterState_Get.restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
        api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
        api.PyThreadState_Next.restype = ctypes.c_void_p
        api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
        api.PyThreadState_Get.restype = ctypes.c_void_p
        api._PyEval_SetTrace.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        api._PyEval_SetTrace.restype = ctypes.c_int
        self.api = api
        me = api.PyThreadState_Get()
        words = (ctypes.c_void_p * _WORDS).from_address(me)
        ident = threading.get_ident()
        ids = [i for i in range(_WORDS) if words[i] == ident]
        if len(ids) != 1:
            raise RuntimeError("thread ident not found in the thread state")
        self.ident_index = ids[0]

        def probe(frame: Any, event: str, arg: Any) -> None:
            return None

        previous = sys.gettrace()
        sys.settrace(probe)
        try:
            objs = [i for i in range(_WORDS) if words[i] == id(probe)]
            if len(objs) != 1:
                raise RuntimeError("trace object not found in the thread state")
            self.obj_index = objs[0]
            self.func_index = self.obj_index - 2  # c_tracefunc, c_profileobj, c_traceobj
            self.trampoline = words[self.func_index]
            if not self.trampoline:
                raise RuntimeError("trace function not found in the thread state")
        finally:
            sys.settrace(previous)
        if previous is None and (words[self.obj_index] or words[self.func_index]):
            raise RuntimeError("thread state layout did not check out")

    def thread_states(self) -> dict[int, int]:
        states = {}
        ts = self.api.PyInterpreterState_ThreadHead(self.api.PyInterpreterState_Get())
        while ts:
            words = (ctypes.c_void_p * _WORDS).from_address(ts)
            states[int(words[self.ident_index] or 0)] = ts
            ts = self.api.PyThreadState_Next(ts)
        return states


_layout: _Layout | None = None
_layout_error: str | None = None


def available() -> bool:
    """Whether other threads' trace functions can be set on this interpreter."""
    global _layout, _layout_error
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if _layout is None and _layout_error is None:
        try:
            _layout = _Layout()
        except (RuntimeError, AttributeError, OSError) as exc:
            _layout_error = str(exc)
    return _layout is not None


def set_trace(ident: int, func: Callable[..., Any] | None) -> bool:
    """Set the trace function of thread ``ident`` (None removes it). Returns False when
    the thread is gone. Must be called with the GIL held, i.e. from Python code."""
    if _layout is None:
        raise RuntimeError("other threads' trace functions cannot be set here")
    if ident == threading.get_ident():
        sys.settrace(func)
        return True
    ts = _layout.thread_states().get(ident)
    if ts is None:
        return False
    if func is None:
        _layout.api._PyEval_SetTrace(ts, None, None)
    else:
        # The interpreter takes its own reference to ``func``.
        _layout.api._PyEval_SetTrace(ts, _layout.trampoline, id(func))
    return True
