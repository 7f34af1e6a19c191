"""Moving the lines of a code object that a frame is running, in place.

A frame runs one code object for its whole life, and its traceback lines, ``f_lineno`` and
positions are read from that object's location table (``co_linetable``). A frame that waits
in a call cannot be remapped before the call returns, so when lines move above it, the only
way to keep its tracebacks exact is to give the very code object it runs a location table
with the new lines. Only the module body's code is relocated this way (:mod:`module_frames`):
no live function holds it and no remap plan reads its lines.

The location table format is the one of CPython 3.11 to 3.15 (``Objects/locations.md``):
entries of 1 to 8 code units, each starting with a byte ``0x80 | code << 3 | (units - 1)``;
code 14 (used here for every entry that has a line) is followed by the line delta (signed
varint, from the previous entry's line, starting at ``co_firstlineno``), the end line delta,
and the columns plus one (varints; 0: unknown); code 15 means no location.

Swapping the table pointer of a live code object is a version fact kept here alone: the
field is found by its value (the address of ``co_linetable``) among the first words of the
object, and only where exactly one word holds it.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Sequence
from types import CodeType, FrameType

_LONG = 14
_NONE = 15

# tables put in place: a code object's table must outlive every reader, and the one replaced
# may still be read by the interpreter for the current line; both are kept
_KEPT: list[bytes] = []

Position = tuple[int | None, int | None, int | None, int | None]


def _varint(out: bytearray, value: int) -> None:
    while value >= 64:
        out.append(0x40 | (value & 63))
        value >>= 6
    out.append(value)


def _svarint(out: bytearray, value: int) -> None:
    _varint(out, (-value << 1) | 1 if value < 0 else value << 1)


def encode(positions: list[Position], first_line: int) -> bytes:
    """A location table for one position per code unit (as ``co_positions`` gives them)."""
    out = bytearray()
    line = first_line
    i = 0
    while i < len(positions):
        pos = positions[i]
        run = 1
        while run < 8 and i + run < len(positions) and positions[i + run] == pos:
            run += 1
        start, end, col, end_col = pos
        if start is None:
            out.append(0x80 | _NONE << 3 | (run - 1))
        else:
            out.append(0x80 | _LONG << 3 | (run - 1))
            _svarint(out, start - line)
            _varint(out, (end if end is not None else start) - start)
            _varint(out, col + 1 if col is not None else 0)
            _varint(out, end_col + 1 if end_col is not None else 0)
            line = start
        i += run
    return bytes(out)


def moved_table(code: CodeType, new_line: Callable[[int], int]) -> bytes:
    """``code``'s location table with each line ``n`` moved to ``new_line(n)``; checked to
    read back as exactly those positions."""
    def move(p: Position) -> Position:
        start, end, col, end_col = p
        if start is None:
            return p
        return (new_line(start), None if end is None else end - start + new_line(start),
                col, end_col)

    moved = [move(p) for p in code.co_positions()]
    table = encode(moved, code.co_firstlineno)
    check = code.replace(co_linetable=table)
    if list(check.co_positions()) != moved:
        raise ValueError("the moved location table does not read back")
    return table


# the words of the fixed part of a code object (its bytecode follows them)
_WORDS = CodeType.__basicsize__ // ctypes.sizeof(ctypes.c_void_p)


def _table_slot(code: CodeType) -> int | None:
    """Index of the word of ``code`` that points to its ``co_linetable``."""
    words = (ctypes.c_void_p * _WORDS).from_address(id(code))
    target = id(code.co_linetable)
    found = [i for i in range(2, _WORDS) if words[i] == target]
    return found[0] if len(found) == 1 else None


def _probe() -> int | None:
    """The slot, found on two code objects of different shapes (it must agree)."""
    a = compile("x = 1\ny = 2\n", "<probe>", "exec")
    b = compile("def f(a, b):\n    return a + b\n", "<probe>", "exec").co_consts[0]
    slot = _table_slot(a)
    return slot if slot is not None and slot == _table_slot(b) else None


_SLOT: int | None = _probe() if (3, 11) <= sys.version_info < (3, 16) else None
# Can a running code object be given new lines here? (3.11-3.15: the layout is known)
RELOCATES = _SLOT is not None


def relocate(code: CodeType, new_line: Callable[[int], int],
             frames: Sequence[FrameType] = ()) -> str | None:
    """Move the lines of ``code`` itself, so that ``frames`` (running it) report the new
    lines; returns why not, when it cannot (``code`` is then as it was). Only the location
    table changes: bytecode, constants and the first line stay."""
    if _SLOT is None:
        return f"not supported on Python {sys.version_info[0]}.{sys.version_info[1]}"
    if _table_slot(code) != _SLOT:
        return "the code object's location table was not found"
    if _line_events(code, frames):
        return "its line events are traced"
    try:
        table = moved_table(code, new_line)
    except ValueError as exc:
        return str(exc)
    expected = [new_line(f.f_lineno) for f in frames]
    old = code.co_linetable
    _KEPT.extend((old, table))
    _swap(code, table)
    # 3.11 may answer line numbers from a cache built while the code was traced: then the
    # frames would report the old lines, and the table goes back
    if [f.f_lineno for f in frames] != expected:
        _swap(code, old)
        return "its line numbers are cached by the interpreter"
    return None


def _line_events(code: CodeType, frames: Sequence[FrameType]) -> bool:
    """Are line events of ``code`` being delivered? From 3.12 the interpreter computes their
    lines once, when it starts them, and keeps them apart from the table (3.11's cache is
    caught by the check in :func:`relocate`): the events would go on with the old lines."""
    if any(f.f_trace is not None for f in frames):
        return True
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return False
    line = monitoring.events.LINE
    return any(monitoring.get_tool(tool) is not None
               and (monitoring.get_events(tool) | monitoring.get_local_events(tool, code)) & line
               for tool in range(6))


def _swap(code: CodeType, table: bytes) -> None:
    assert _SLOT is not None
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(table))  # the code object's own reference
    words = (ctypes.c_void_p * _WORDS).from_address(id(code))
    words[_SLOT] = id(table)  # the reference to the table it held is kept in _KEPT
