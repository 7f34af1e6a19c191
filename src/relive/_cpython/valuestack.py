"""The value stack of a paused frame: the items a ``with`` keeps below its body's statements.

A frame inside ``with cm:`` holds what will exit the block on its value stack (3.11 to 3.13: the
bound ``__exit__``; 3.14+: the special method and ``self``, or the callable and NULL), and a
frame inside a ``for`` loop holds the loop's iterator there (3.15: or a sequence and an
index). Python code cannot see a frame's value stack, and a frame that moves to new code in
the middle of a block or a loop must take these along (:mod:`relive.runtime.remap`). So it
is read here, through ctypes, from the interpreter frame (``_PyInterpreterFrame``) that the
frame object points to:

- ``PyFrameObject`` starts with the object header, ``f_back`` and the pointer to its
  interpreter frame (every supported version), which points back to the frame object and to
  its code (checked);
- the interpreter frame's ``localsplus`` array (fast locals, cells and free variables, then
  the value stack) starts at an offset that differs by version. It is found once, by a probe
  function whose first locals are known objects, and checked with a second probe that has a
  cell argument, a free variable and a ``with`` (its exit must be read where the count of
  ``localsplus`` slots puts it);
- 3.14+ stack references carry tag bits in the low bits of the pointer, masked off.

Only a frame paused by relive's own line event is read (its stack pointer is saved there), at
depths that the static analysis of its code gives. If the probe finds anything unexpected,
:func:`available` is False and :func:`problem` says why: the callers then do not offer the
points that need it.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from relive._cpython.bytecode import FOR_STACK_ITEMS, VIRTUAL_ITERATORS, WITH_STACK_ITEMS

__all__ = ["available", "for_iterator", "items", "problem", "with_exit"]

_WORD = ctypes.sizeof(ctypes.c_void_p)
_MASK = ~(_WORD - 1)  # objects are word-aligned; 3.14+ keeps tags in the low bits
_FRAME_FIELD = 3 * _WORD  # PyFrameObject: ob_refcnt, ob_type, f_back, f_frame
_SEARCH = 24  # words of an interpreter frame searched for its first locals
_INT_TAG = 3  # 3.15: a tagged integer on the stack is (value << 2) | 3


def _word(address: int) -> int:
    return ctypes.c_size_t.from_address(address).value


def _slots(code: CodeType) -> int:
    """How many ``localsplus`` slots come before the value stack: locals, cells that are not
    also arguments (an argument cell shares the argument's slot) and free variables."""
    varnames = set(code.co_varnames)
    own_cells = [name for name in code.co_cellvars if name not in varnames]
    return len(code.co_varnames) + len(own_cells) + len(code.co_freevars)


def _localsplus(frame: FrameType) -> int:
    return _word(id(frame) + _FRAME_FIELD) + _OFFSET


def _object(address: int) -> object | None:
    address &= _MASK
    if not address:
        return None
    found: object = ctypes.cast(address, ctypes.py_object).value
    return found


def items(frame: FrameType, first: int, count: int) -> tuple[object | None, ...]:
    """Items ``first`` to ``first + count`` of the value stack of ``frame``, counted from the
    bottom (None for a NULL). ``frame`` must be paused in relive's line event, and its stack
    at least that deep there. Call only when :func:`available`."""
    base = _localsplus(frame) + _slots(frame.f_code) * _WORD
    return tuple(_object(_word(base + (first + i) * _WORD)) for i in range(count))


def with_exit(frame: FrameType, index: int) -> Callable[..., Any]:
    """What leaves the ``with`` item whose exit starts at stack index ``index`` of ``frame``:
    a callable taking ``(exc_type, exc, tb)``, as the frame itself would call it."""
    found = items(frame, index, WITH_STACK_ITEMS)
    method = found[0]
    if not callable(method):
        raise ValueError(f"the value stack holds {type(method).__name__}, not a with's exit")
    if WITH_STACK_ITEMS == 1 or found[1] is None:
        return method
    return functools.partial(method, found[1])


def for_iterator(frame: FrameType, index: int, asynchronous: bool = False) -> object:
    """The live iterator of the ``for`` loop whose items start at stack index ``index`` of
    ``frame`` (an ``async for``'s: its one item). Up to 3.14 a ``for`` keeps its iterator
    there. 3.15 keeps the iterator and NULL, or, for a list, tuple or string, the sequence
    and the next index as a tagged integer: no iterator object exists, so one is made at
    that index (``__setstate__``), which goes on exactly as the loop would."""
    base = _localsplus(frame) + (_slots(frame.f_code) + index) * _WORD
    first = _object(_word(base))
    if asynchronous or not VIRTUAL_ITERATORS:
        return first
    second = _word(base + _WORD)
    if second & _INT_TAG != _INT_TAG:
        return first  # an iterator, then NULL
    iterator: Any = iter(first)  # type: ignore[call-overload]
    iterator.__setstate__(second >> 2)
    return iterator


class _ExitMarker:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _first_locals() -> tuple[int | None, str | None]:
    a, b, c = _ExitMarker(), _ExitMarker(), _ExitMarker()  # the first three locals
    frame = sys._getframe()
    interpreter_frame = _word(id(frame) + _FRAME_FIELD)
    header = [_word(interpreter_frame + i * _WORD) & _MASK for i in range(_SEARCH)]
    if id(frame) not in header or id(frame.f_code) not in header:
        return None, "the interpreter frame does not point back to its frame and code"
    wanted = [id(a), id(b), id(c)]
    found = [
        offset for offset in range(0, _SEARCH * _WORD, _WORD)
        if all(_word(interpreter_frame + offset + i * _WORD) & _MASK == w
               for i, w in enumerate(wanted))
    ]
    if len(found) != 1:
        return None, f"the frame's first locals were found {len(found)} times"
    return found[0], None


def _check() -> str | None:
    """Read a ``with``'s exit in a frame with an argument cell and a free variable, and a
    ``for`` loop's position over a list and over an iterator."""
    outer = _ExitMarker()

    def probe(cell: object) -> str | None:
        marker = _ExitMarker()

        def user() -> tuple[object, object]:
            return cell, outer

        with marker:
            found = items(sys._getframe(), 0, WITH_STACK_ITEMS)
            owner = getattr(found[0], "__self__", None) if WITH_STACK_ITEMS == 1 else found[1]
            if owner is not marker:
                return "a with's exit is not where the count of local slots puts it"
        for sequence in ([10, 20, 30], iter((10, 20, 30))):
            for value in sequence:
                if value == 20:
                    inner = for_iterator(sys._getframe(), FOR_STACK_ITEMS)  # after the outer
                    rest = list(inner)  # type: ignore[call-overload]
                    if rest != [30]:
                        return f"a for loop's iterator read from the stack gave {rest}"
        del user
        return None

    return probe(outer)


def _probe() -> tuple[int | None, str | None]:
    if sys.implementation.name != "cpython":
        return None, "not CPython"
    try:
        offset, why = _first_locals()
        if offset is None:
            return None, why
        global _OFFSET
        _OFFSET = offset
        why = _check()
    except Exception as exc:  # any surprise means: do not read stacks
        return None, f"the probe failed: {type(exc).__name__}: {exc}"
    return (offset, None) if why is None else (None, why)


_OFFSET = 0
_FOUND, _PROBLEM = _probe()


def available() -> bool:
    """Can value stacks be read on this interpreter?"""
    return _FOUND is not None


def problem() -> str | None:
    """Why not, when they cannot."""
    return _PROBLEM
