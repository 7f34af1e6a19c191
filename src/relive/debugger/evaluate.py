"""Running text in a frame, and showing values.

Evaluation runs on the frame's own thread while that thread is held by the engine (see
:meth:`Engine.evaluate`), so thread-local state is the program's own. Assignments to the
frame's locals must reach the frame's fast locals to stick when the program continues:

- CPython 3.13+: ``frame.f_locals`` is a write-through proxy (PEP 667); nothing else to do.
- CPython 3.11/3.12: ``frame.f_locals`` is a snapshot dict; after running the text, the
  dict is written back with ``PyFrame_LocalsToFast``.
"""

from __future__ import annotations

import ctypes
import reprlib
import traceback
from collections.abc import Mapping
from types import CodeType, FrameType, ModuleType
from typing import Any

from relive._cpython.frames import LOCALS_WRITE_THROUGH
from relive.debugger.model import EvalResult, Variable

WRITE_THROUGH = LOCALS_WRITE_THROUGH
"""True where ``frame.f_locals`` writes through to the frame (PEP 667)."""

if not WRITE_THROUGH:
    _locals_to_fast = ctypes.pythonapi.PyFrame_LocalsToFast
    _locals_to_fast.argtypes = [ctypes.py_object, ctypes.c_int]
    _locals_to_fast.restype = None


class EvaluationAborted(BaseException):
    """Raised asynchronously into a thread whose evaluation ran past its time limit.

    A BaseException so that ``except Exception`` in the evaluated code does not swallow it.
    """


def sync_locals(frame: FrameType) -> None:
    """Write ``frame.f_locals`` back into the frame (a no-op where locals write through)."""
    if not WRITE_THROUGH and frame.f_code.co_flags & 0x1:  # CO_OPTIMIZED: a function frame
        _locals_to_fast(frame, 0)


def compile_for_frame(text: str, mode: str) -> CodeType:
    """Compile ``text``: ``eval`` for an expression, ``exec`` for statements.

    With ``mode == "auto"`` an expression is evaluated and anything else executed.
    """
    if mode == "auto":
        try:
            return compile(text, "<debugger>", "eval")
        except SyntaxError:
            mode = "exec"
    return compile(text, "<debugger>", mode)


def run_in_frame(frame: FrameType, code: CodeType) -> Any:
    """Run ``code`` with ``frame``'s globals and locals; locals written back afterwards."""
    frame_locals: Mapping[str, Any] = frame.f_locals
    try:
        return eval(code, frame.f_globals, frame_locals)
    finally:
        sync_locals(frame)


def assign_in_frame(frame: FrameType, name: str, value: object) -> str:
    """Bind ``name`` in ``frame`` as the frame's own code would: a local of a function is
    set in the frame, a name the function only reads from the module is set in the module's
    globals. Returns ``"local"`` or ``"global"``."""
    code = frame.f_code
    is_function = bool(code.co_flags & 0x1)
    local_names = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
    if is_function and name not in local_names and name in frame.f_globals:
        frame.f_globals[name] = value
        return "global"
    frame.f_locals[name] = value
    sync_locals(frame)
    return "local"


# ---------------------------------------------------------------------- display

_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 30
_repr.maxlevel = 3


FULL_LIMIT = 64 * 1024  # characters of a full display (to copy a value): inside a message


def display(value: object, full: bool = False) -> str:
    """A bounded, never-raising one-line display of ``value``; ``full``: its whole
    ``repr`` (a string: its text), up to :data:`FULL_LIMIT` characters."""
    try:
        if full:
            text = value if isinstance(value, str) else repr(value)
            return text if len(text) <= FULL_LIMIT else text[:FULL_LIMIT] + "..."
        return _repr.repr(value)
    except Exception as exc:  # a broken __repr__ in the program must not break the debugger
        return f"<{type(value).__name__} object; repr failed: {type(exc).__name__}: {exc}>"


def has_children(value: object) -> bool:
    if isinstance(value, (str, bytes, bytearray, int, float, complex, bool, type(None))):
        return False
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return len(value) > 0
    return hasattr(value, "__dict__") or hasattr(type(value), "__slots__")


def children(value: object, limit: int = 500) -> list[tuple[str, object]]:
    """Items of containers and attributes of other objects, for display (at most ``limit``)."""
    out: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for i, (k, v) in enumerate(value.items()):
            if i >= limit:
                break
            out.append((display(k), v))
        return out
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value[:limit])]
    if isinstance(value, (set, frozenset)):
        return [(f"<{i}>", v) for i, v in enumerate(list(value)[:limit])]
    if isinstance(value, ModuleType):
        names = [n for n in vars(value) if not n.startswith("__")]
    else:
        names = []
        try:
            names = list(vars(value))
        except TypeError:
            pass
        for klass in type(value).__mro__:
            slots = klass.__dict__.get("__slots__", ())
            names.extend([slots] if isinstance(slots, str) else slots)
    for name in names[:limit]:
        try:
            out.append((name, getattr(value, name)))
        except Exception as exc:
            out.append((name, f"<cannot read: {type(exc).__name__}: {exc}>"))
    return out


def error_result(exc: BaseException, code: CodeType | None = None) -> EvalResult:
    """An :class:`EvalResult` describing ``exc``, its traceback cut to the evaluated text."""
    tb = exc.__traceback__
    # Drop the frames of relive itself: the user's text starts at "<debugger>".
    while tb is not None and tb.tb_frame.f_code.co_filename != "<debugger>":
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return EvalResult(ok=False, error=text, traceback=tuple(lines))


def variable(name: str, value: object, ref: int) -> Variable:
    return Variable(name=name, value=display(value), type=type(value).__name__, ref=ref)
