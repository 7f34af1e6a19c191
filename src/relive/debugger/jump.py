"""The rules of "set next statement", checked before trying.

CPython moves a frame to another line only from inside a trace or line event of that very
frame, and refuses some targets. This module states the rules and checks what can be
checked from the outside, so the user gets a reason before anything is tried; the
interpreter has the last word (its refusal is reported as it comes).
"""

from __future__ import annotations

import dis
from types import FrameType

from relive.debugger.breakpoints import code_lines
from relive.debugger.model import JumpCheck

RULES = (
    "Set next statement (jump) moves the top frame of the stopped thread to another line "
    "of the same function. CPython allows it only: within the function that is running; "
    "to a line that has code; not into the body of a `for` loop or a `with` block from "
    "outside it; not into an `except` or `finally` block; not out of a `finally` block; "
    "and only when the thread stopped at a line (not at an exception or post mortem). "
    "The jumped-over lines do not run; the jumped-to line runs next."
)


def _loop_bodies(frame: FrameType) -> list[tuple[int, int, int]]:
    """(for-line, first body line, last body line) of each ``for`` loop in the frame's
    code, from its bytecode: FOR_ITER's line and the lines up to its jump target."""
    code = frame.f_code
    lines = {
        i.offset: i.positions.lineno if i.positions else None for i in dis.get_instructions(code)
    }
    loops = []
    for instr in dis.get_instructions(code):
        if instr.opname == "FOR_ITER" and instr.argval is not None:
            start = instr.offset
            end = int(instr.argval)
            body = [ln for off, ln in lines.items() if start < off < end and ln is not None]
            for_line = lines.get(start)
            if body and for_line is not None:
                loops.append((for_line, min(body), max(body)))
    return loops


def check_jump(frame: FrameType, line: int, at_line_event: bool) -> JumpCheck:
    """Whether the top frame ``frame`` may jump to ``line``; the reason when it may not."""
    code = frame.f_code
    if not at_line_event:
        return JumpCheck(
            False, line, "the thread did not stop at a line (exception or post mortem stop); "
            "jump works after a breakpoint, a step or a pause"
        )
    lines = code_lines(code)
    first, last = min(lines), max(lines)
    if not first <= line <= last:
        return JumpCheck(
            False, line, f"line {line} is outside {code.co_name} (lines {first}-{last}); "
            "jump stays within the running function"
        )
    if line not in lines:
        after = min((n for n in lines if n > line), default=None)
        hint = f"; the next line with code is {after}" if after else ""
        return JumpCheck(False, line, f"line {line} has no code{hint}")
    current = frame.f_lineno
    for for_line, body_first, body_last in _loop_bodies(frame):
        inside_target = body_first <= line <= body_last
        inside_now = body_first <= current <= body_last
        if inside_target and not inside_now:
            return JumpCheck(
                False, line, f"line {line} is in the body of the `for` loop at line "
                f"{for_line}; jump to line {for_line} to start the loop instead"
            )
    return JumpCheck(True, line)
