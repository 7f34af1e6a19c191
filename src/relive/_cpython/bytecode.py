"""What the compiler emits, and how bytecode is read, by version.

- Inline caches: how many code units follow an instruction (3.11 and 3.12 list them in
  ``opcode._inline_cache_entries``; 3.13+ answers through ``dis``).
- Which opcodes take an argument (3.12+ lists them in ``dis.hasarg``; 3.11 by number).
- Jump targets: 3.12+ counts a relative jump from after the instruction's caches, 3.11 from
  the next code unit.
- The position of a ``for`` loop's ``GET_ITER``: 3.13+ gives it the iterable's position, 3.11
  and 3.12 the whole ``for`` statement's.
- What a ``for`` loop keeps on the value stack: one iterator up to 3.14; from 3.15 two items
  (``GET_ITER`` has an inline cache and pushes the iterator and NULL, or -- for a list, tuple
  or string -- the sequence itself and an index: no iterator object exists at all).
"""

from __future__ import annotations

import dis
import sys

JUMP_TARGET_AFTER_CACHES = sys.version_info >= (3, 12)
GET_ITER_AT_ITERABLE = sys.version_info >= (3, 13)
VIRTUAL_ITERATORS = sys.version_info >= (3, 15)
FOR_STACK_ITEMS = 2 if VIRTUAL_ITERATORS else 1  # what a running ``for`` holds on the stack
WITH_STACK_ITEMS = 2 if sys.version_info >= (3, 14) else 1  # what a ``with`` body sits on


def inline_caches(op: int) -> int:
    """The number of cache code units after opcode ``op``."""
    if sys.version_info >= (3, 13):
        return int(dis._get_cache_size(dis.opname[op]))  # type: ignore[attr-defined,unused-ignore]
    import opcode

    return int(opcode._inline_cache_entries[op])  # type: ignore[attr-defined,unused-ignore]


def has_argument(op: int) -> bool:
    """Does opcode ``op`` take an argument?"""
    if sys.version_info >= (3, 12):
        return op in dis.hasarg
    return op >= dis.HAVE_ARGUMENT
