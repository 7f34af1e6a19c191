"""The bytecode side of EnC mode: what marks EnC code, and the rewrites made after compiling.

One rewrite runs on the code the compiler makes from a transformed tree (see
:mod:`relive.runtime.enc.transform` for why): each remap handler is narrowed to the offsets
where a line event can fire (:func:`narrow_handlers`, with :mod:`relive.runtime.enc.handlers`).
"""

from __future__ import annotations

import dis
import functools
from collections.abc import Container
from types import CodeType

from relive._cpython.bytecode import (
    JUMP_TARGET_AFTER_CACHES,
    has_argument,
    inline_caches,
)
from relive._cpython.exception_table import decode
from relive.runtime.enc.handlers import narrow_handler
from relive.runtime.enc.tree import SIGNAL_NAME

__all__ = [
    "in_remap_machinery",
    "is_enc_code",
    "jump_targets",
    "narrow_handlers",
    "remap_handler_offset",
]


def is_enc_code(code: CodeType) -> bool:
    """True if ``code`` is a function compiled in EnC mode (it has a remap handler)."""
    return SIGNAL_NAME in code.co_names


def in_remap_machinery(code: CodeType, offset: int) -> bool:
    """True if ``offset`` of ``code`` is in the remap handler or the trailer (both laid out
    after the user's body). A debugger can skip events there: the one line event of a frame
    handing over to its continuation (at the ``def`` line), and ``EXCEPTION_HANDLED``."""
    handler = remap_handler_offset(code)
    return handler is not None and offset >= handler


def remap_handler_offset(code: CodeType) -> int | None:
    """Offset of the first instruction of the remap handler of an EnC code object.

    Debuggers that use ``sys.monitoring`` can ignore ``EXCEPTION_HANDLED`` events at this
    offset (see the module docstring).
    """
    if SIGNAL_NAME not in code.co_names:
        return None
    # A scan of the raw bytes, as dis is slow enough to matter at import: the handler starts
    # with the PUSH_EXC_INFO before `LOAD_GLOBAL __relive_RemapSignal__` (whose argument is
    # the name's index shifted left by one, 3.11+). Inline cache entries read as zeros.
    name = code.co_names.index(SIGNAL_NAME)
    raw = code.co_code
    last_push: int | None = None
    argument = 0
    for offset in range(0, len(raw), 2):
        op = raw[offset]
        if op == _EXTENDED_ARG:
            argument = (argument | raw[offset + 1]) << 8
            continue
        value, argument = argument | raw[offset + 1], 0
        if op == _PUSH_EXC_INFO:
            last_push = offset
        elif op == _LOAD_GLOBAL and value >> 1 == name:
            return last_push
    return None




_COPY = dis.opmap["COPY"]
_PUSH_EXC_INFO = dis.opmap["PUSH_EXC_INFO"]
_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_STORE_FAST = dis.opmap["STORE_FAST"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
def narrow_handlers(code: CodeType, trees: Container[tuple[int, str]]) -> CodeType:
    """Cut each function's remap handler down to where the signal can be raised (see
    :mod:`relive.runtime.enc.handlers`)."""
    consts = tuple(narrow_handlers(c, trees) if isinstance(c, CodeType) else c
                   for c in code.co_consts)
    if any(a is not b for a, b in zip(consts, code.co_consts, strict=True)):
        code = code.replace(co_consts=consts)
    if (code.co_firstlineno, code.co_name) not in trees or not is_enc_code(code):
        return code
    handler = remap_handler_offset(code)
    if handler is None:
        return code
    return narrow_handler(code, handler, _line_event_offsets(code))


def _line_event_offsets(code: CodeType) -> set[int]:
    """Every offset where a line event can fire: a superset of the remap points (the signal is
    only raised from a line event). Line events fire at the first instruction of a line range,
    at jump targets (a backward jump, or a forward one into a line on 3.11) and at exception
    handlers; computing the exact points here would cost a layout per function at import."""
    offsets: set[int] = set()
    previous: int | None = None
    for start, _end, line in code.co_lines():  # 3.11 gives one range per instruction
        if line is not None and line != previous:
            offsets.add(start)
        previous = line
    offsets.update(jump_targets(code.co_code))
    offsets.update(entry.target for entry in decode(code.co_exceptiontable))
    # an event at an instruction with EXTENDED_ARG prefixes may report any of its code units
    raw = code.co_code
    for offset in list(offsets):
        while offset < len(raw) and raw[offset] == _EXTENDED_ARG:
            offset += 2
            offsets.add(offset)
    return offsets


@functools.cache
def _jump_kinds() -> tuple[tuple[int, int], ...]:
    """For each opcode: (how its argument gives a jump target, cache units after it). Kinds:
    0 no argument, 1 an argument that is no jump, 2 forward, 3 backward, 4 absolute."""
    out = []
    for op in range(256):
        caches = inline_caches(op)
        if not has_argument(op):
            kind = 0
        elif op in dis.hasjrel:
            kind = 3 if dis._is_backward_jump(op) else 2  # type: ignore[attr-defined]
        elif op in dis.hasjabs:
            kind = 4
        else:
            kind = 1
        out.append((kind, caches))
    return tuple(out)




def jump_targets(raw: bytes) -> set[int]:
    """The offsets jumps in ``raw`` (``co_code``) go to: :func:`dis.findlabels`, in one pass
    over a table made once (an edit compiles its code in EnC mode while the user waits)."""
    kinds = _jump_kinds()
    targets: set[int] = set()
    extended = 0
    skip = 0
    for offset in range(0, len(raw), 2):
        if skip:
            skip -= 1
            continue
        op = raw[offset]
        kind, skip = kinds[op]
        if not kind:
            extended = 0
            continue
        arg = raw[offset + 1] | extended
        extended = arg << 8 if op == _EXTENDED_ARG else 0
        if kind == 2 or kind == 3:
            target = offset + 2 + (arg if kind == 2 else -arg) * 2
            targets.add(target + 2 * skip if JUMP_TARGET_AFTER_CACHES else target)
        elif kind == 4:
            targets.add(arg * 2)
    return targets
