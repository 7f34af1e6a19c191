"""Narrow the remap handler to the remap points, by rewriting the exception table.

The remap ``try`` wraps the whole body, so the compiler makes its handler cover every
instruction of it: any exception raised anywhere in the function would enter the handler, be
matched against the signal and be re-raised. That costs time on every exception passing
through (18 % on an exception-heavy kernel), shows up as extra ``EXCEPTION_HANDLED`` and
``RERAISE`` events to ``sys.monitoring`` tools, and leaves the frame without a line number
when its unwind event fires. But the signal is only ever raised from a line event, at a remap
point. So after compiling, each range that the remap handler covers is cut down to the
offsets where a line event can fire (a cheap superset of the remap points); the rest of the
range goes to the handler that encloses the ``try`` (the one a plain compile would have there:
for instance the wrapper that turns ``StopIteration`` into ``RuntimeError`` in 3.12+
generators), or to none. An exception then unwinds through an EnC frame exactly as through a
plain one, unless it is raised by the very first instruction of a line.

The table itself is read and written by :mod:`relive._cpython.exception_table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import CodeType

from relive._cpython.exception_table import Entry, decode, encode

__all__ = ["narrow_handler"]


def _covering(entries: Sequence[Entry], offset: int) -> Entry | None:
    for entry in entries:
        if entry.start <= offset < entry.end:
            return entry
    return None


def _merge(entries: list[Entry]) -> list[Entry]:
    merged: list[Entry] = []
    for entry in sorted(entries, key=lambda e: e.start):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.end == entry.start
            and (last.target, last.depth, last.lasti) == (entry.target, entry.depth, entry.lasti)
        ):
            merged[-1] = Entry(last.start, entry.end, last.target, last.depth, last.lasti)
        else:
            merged.append(entry)
    return merged


def narrow_handler(code: CodeType, handler: int, keep: Iterable[int]) -> CodeType:
    """``code`` with the handler at offset ``handler`` covering only the offsets in ``keep``.

    Every other offset it covered goes to the handler around it: the one covering the remap
    handler's cleanup block (the ``except`` clause's own exception-cleanup code), which is the
    handler that covers the ``try`` statement itself; or to no handler if there is none.
    """
    entries = decode(code.co_exceptiontable)
    kept = set(keep)
    cleanup = _covering(entries, handler)
    outer = _covering(entries, cleanup.target) if cleanup is not None else None
    result: list[Entry] = []

    def cover(start: int, end: int, keeping: bool, entry: Entry) -> None:
        if keeping:
            result.append(Entry(start, end, handler, entry.depth, entry.lasti))
        elif outer is not None:
            result.append(Entry(start, end, outer.target, outer.depth, outer.lasti))

    for entry in entries:
        if entry.target != handler:
            result.append(entry)
            continue
        # each run of offsets kept (or not kept) becomes one entry
        start, keeping = entry.start, entry.start in kept
        for offset in range(entry.start + 2, entry.end, 2):
            if (offset in kept) != keeping:
                cover(start, offset, keeping, entry)
                start, keeping = offset, not keeping
        cover(start, entry.end, keeping, entry)
    return code.replace(co_exceptiontable=encode(_merge(result)))
