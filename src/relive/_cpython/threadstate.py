"""Other threads' trace functions, set from this thread (CPython 3.11).

``sys.settrace`` acts on the calling thread only, and on 3.11 any trace function makes every
instruction of its thread go through the interpreter's slow tracing path. So relive keeps no
trace function while nothing needs one, and installs one in other threads only when it must:
the debugger's 3.11 backend for a breakpoint, a step or a pause, the remapper for the frames
it waits for, and the hold of other threads around a commit (:mod:`relive._cpython.world`,
which replaces whatever they have and puts it back). To reach threads that are running,
they call the interpreter's ``_PyEval_SetTrace`` on their thread states. (3.12+ has
``sys.monitoring`` instead, which acts on every thread.)

``PyThreadState`` is not a public structure: the two fields used here (the thread's ident and
the trace object that ``sys.settrace`` installs, two words after the C trace function) are
found once, by a probe thread that installs a known trace object and looks for it and for its
own ident in its thread state; the probe leaves the calling thread's own trace function alone.
If anything does not match exactly once, :func:`available` is False (:func:`problem` says why)
and the callers fall back to what needs no other thread's state.

:func:`raise_in` raises an exception in another thread (the public
``PyThreadState_SetAsyncExc``, every version): the debugger's abort of an evaluation, and
``relive run``'s end of the program for a restart.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


def raise_in(ident: int, exc_type: type[BaseException]) -> None:
    """Make thread ``ident`` raise ``exc_type`` at its next bytecode (a thread blocked in C
    raises when it comes back to Python)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc_type))


_WORDS = 96  # how much of a PyThreadState is searched (in pointer-sized words)


class _Layout:
    """Where the ident and the trace object are in a ``PyThreadState``; the trampoline."""

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
        found: dict[str, int] = {}
        errors: list[str] = []

        def probe() -> None:
            def marker(frame: Any, event: str, arg: Any) -> None:
                return None

            words = (ctypes.c_void_p * _WORDS).from_address(api.PyThreadState_Get())
            ident = threading.get_ident()
            sys.settrace(marker)
            try:
                obj = [i for i in range(_WORDS) if words[i] == id(marker)]
                tid = [i for i in range(_WORDS) if words[i] == ident]
                if len(obj) != 1 or len(tid) != 1 or obj[0] < 2 or not words[obj[0] - 2]:
                    errors.append("could not read this CPython's thread state layout")
                    return
                found.update(obj=obj[0], tid=tid[0], trampoline=words[obj[0] - 2] or 0)
            finally:
                sys.settrace(None)
            if words[found["obj"]] or words[found["obj"] - 2]:
                errors.append("this CPython's thread state layout did not check out")

        thread = threading.Thread(target=probe, name="relive-threadstate-probe", daemon=True)
        thread.start()
        thread.join()
        if errors or not found:
            raise RuntimeError(errors[0] if errors else "the thread state probe failed")
        self.obj_index, self.ident_index = found["obj"], found["tid"]
        self.trampoline = found["trampoline"]

    def states(self) -> Iterator[tuple[int, int]]:
        """(ident, thread state address) of every thread of this interpreter."""
        ts = self.api.PyInterpreterState_ThreadHead(self.api.PyInterpreterState_Get())
        while ts:
            words = (ctypes.c_void_p * _WORDS).from_address(ts)
            yield int(words[self.ident_index] or 0), ts
            ts = self.api.PyThreadState_Next(ts)


_layout: _Layout | None = None
_problem: str | None = None


def available() -> bool:
    """Whether other threads' trace functions can be set on this interpreter (3.11 only)."""
    global _layout, _problem
    if _layout is None and _problem is None:
        if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
            _problem = "only CPython 3.11 is supported"
        else:
            try:
                _layout = _Layout()
            except (RuntimeError, AttributeError, OSError) as exc:
                _problem = str(exc)
    return _layout is not None


def problem() -> str | None:
    """Why :func:`available` is False (None when it is True or was not asked yet)."""
    return _problem


def _the_layout() -> _Layout:
    if not available():
        raise RuntimeError(f"other threads' trace functions cannot be set here: {_problem}")
    assert _layout is not None
    return _layout


def set_trace(ident: int, func: Callable[..., Any] | None) -> bool:
    """Set the trace function of thread ``ident`` (None removes it). Returns False when
    the thread is gone. Must be called with the GIL held, i.e. from Python code."""
    layout = _the_layout()
    if ident == threading.get_ident():
        sys.settrace(func)
        return True
    for other, ts in layout.states():
        if other == ident:
            _set(layout, ts, func)
            return True
    return False


def set_others(func: Callable[..., Any] | None, replacing: object) -> None:
    """Give every other thread ``func`` (or none) as its trace function, where it has none
    or ``replacing`` (a thread that runs another tool's trace function is left alone)."""
    layout = _the_layout()
    want = id(func) if func is not None else None
    for _ident, ts, words in _others(layout):
        installed = words[layout.obj_index]
        if installed != want and installed in (None, id(replacing)):
            _set(layout, ts, func)


Saved = list[tuple[int, int, int, object]]
"""Other threads' trace functions as :func:`replace_others` found them."""


def replace_others(func: Callable[..., Any], saved: Saved) -> None:
    """Give every other thread ``func`` as its trace function, whatever it had; what each
    had is added to ``saved`` (for :func:`restore_others`) before it is replaced. Raises
    RuntimeError where 3.11 refuses a trace function (another thread's audit hook sees one
    installed); the threads done by then are in ``saved``."""
    layout = _the_layout()
    for ident, ts, words in _others(layout):
        c_func, c_obj = words[layout.obj_index - 2] or 0, words[layout.obj_index]
        # a reference of our own: the thread state drops its own when it is replaced
        obj = ctypes.cast(c_obj, ctypes.py_object).value if c_obj else None
        saved.append((ident, ts, c_func, obj))
        _set(layout, ts, func)


def restore_others(saved: Saved) -> None:
    """Put back the trace functions :func:`replace_others` replaced, in the threads that are
    still there."""
    layout = _the_layout()
    alive = set(layout.states())
    for ident, ts, c_func, obj in saved:
        if (ident, ts) in alive:
            layout.api._PyEval_SetTrace(ts, c_func or None, id(obj) if obj is not None else None)


def _others(layout: _Layout) -> list[tuple[int, int, Any]]:
    """(ident, thread state, its words) of every thread but the calling one, listed before
    any is changed (setting a trace function runs audit hooks, which may switch threads)."""
    current = layout.api.PyThreadState_Get()
    return [(ident, ts, (ctypes.c_void_p * _WORDS).from_address(ts))
            for ident, ts in layout.states() if ts != current]


def _set(layout: _Layout, ts: int, func: Callable[..., Any] | None) -> None:
    # the interpreter takes its own reference to ``func``
    if func is None:
        layout.api._PyEval_SetTrace(ts, None, None)
    else:
        layout.api._PyEval_SetTrace(ts, layout.trampoline, id(func))
