"""The exception table of a code object (``co_exceptiontable``), read and written.

The table format (stable from 3.11 to 3.13, see CPython's ``exception_handling_notes.txt``):
a sequence of entries of four unsigned numbers -- start, length, target (in code units) and
``depth << 1 | lasti`` -- each written in 6-bit groups, most significant first, with bit 6
marking "more follows" and bit 7 marking the first byte of an entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Entry", "decode", "encode"]


@dataclass(frozen=True)
class Entry:
    """One exception table entry, in byte offsets; ``end`` is exclusive."""

    start: int
    end: int
    target: int
    depth: int
    lasti: bool


def _read(data: bytes, index: int) -> tuple[int, int]:
    byte = data[index]
    value = byte & 63
    index += 1
    while byte & 64:
        byte = data[index]
        value = (value << 6) | (byte & 63)
        index += 1
    return value, index


def decode(data: bytes) -> list[Entry]:
    """The entries of a ``co_exceptiontable``."""
    entries: list[Entry] = []
    index = 0
    while index < len(data):
        start, index = _read(data, index)
        length, index = _read(data, index)
        target, index = _read(data, index)
        depth_lasti, index = _read(data, index)
        entries.append(Entry(start * 2, (start + length) * 2, target * 2, depth_lasti >> 1,
                             bool(depth_lasti & 1)))
    return entries


def _write(out: bytearray, value: int, first: bool) -> None:
    groups = [value & 63]
    value >>= 6
    while value:
        groups.append(value & 63)
        value >>= 6
    groups.reverse()
    for position, group in enumerate(groups):
        byte = group | (64 if position < len(groups) - 1 else 0)
        out.append(byte | 128 if first and position == 0 else byte)


def encode(entries: Iterable[Entry]) -> bytes:
    """A ``co_exceptiontable`` for ``entries`` (sorted, not overlapping)."""
    out = bytearray()
    for entry in entries:
        _write(out, entry.start // 2, True)
        _write(out, (entry.end - entry.start) // 2, False)
        _write(out, entry.target // 2, False)
        _write(out, entry.depth << 1 | int(entry.lasti), False)
    return bytes(out)
