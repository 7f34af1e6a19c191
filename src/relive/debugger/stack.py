"""Describing held frames for display, and formatting log point messages."""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType, FrameType

from relive._cpython.code import ASYNC_GENERATOR, COROUTINE, GENERATOR, ITERABLE_COROUTINE
from relive.debugger.edits import CodeStatus
from relive.debugger.model import StackFrame
from relive.debugger.paths import canonical


def frame_kind(code: CodeType) -> str:
    flags = code.co_flags
    if flags & (COROUTINE | ITERABLE_COROUTINE):
        return "coroutine"
    if flags & ASYNC_GENERATOR:
        return "async generator"
    if flags & GENERATOR:
        return "generator"
    if code.co_name == "<module>":
        return "module"
    return "function"


def _link(callee: FrameType, caller: FrameType) -> str:
    """How ``caller`` reached ``callee``: it awaits it, it resumed it, or it called it."""
    callee_kind = frame_kind(callee.f_code)
    if callee_kind in ("coroutine", "async generator") and frame_kind(caller.f_code) in (
        "coroutine",
        "async generator",
    ):
        return "await"
    if callee_kind in ("generator", "coroutine", "async generator"):
        return "resume"
    return "call"


def describe_stack(
    frames: list[FrameType], status: Callable[[CodeType], CodeStatus | None]
) -> list[StackFrame]:
    """Frame infos, top first. Each frame's ``link`` tells how it reached the frame above
    (``await``: it awaits that coroutine; ``resume``: it resumed that generator)."""
    out = []
    for i, frame in enumerate(frames):
        link = "top" if i == 0 else _link(frames[i - 1], frame)
        st = status(frame.f_code)
        out.append(
            StackFrame(
                index=i,
                name=frame.f_code.co_qualname,
                path=canonical(frame.f_code.co_filename),
                line=frame.f_lineno or 0,
                kind=frame_kind(frame.f_code),
                link=link,
                stale=bool(st and st.stale),
                generation=st.generation if st else None,
            )
        )
    return out


def format_log_message(template: str, evaluate: Callable[[str], str]) -> str:
    """Replace each ``{expression}`` of ``template`` by ``evaluate(expression)``.

    ``{{`` and ``}}`` stand for literal braces; braces nest inside an expression (so
    ``{ {'a': 1}['a'] }`` works).
    """
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "{" and template.startswith("{{", i):
            out.append("{")
            i += 2
        elif ch == "}" and template.startswith("}}", i):
            out.append("}")
            i += 2
        elif ch == "{":
            depth = 1
            j = i + 1
            while j < n and depth:
                if template[j] == "{":
                    depth += 1
                elif template[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                out.append(template[i:])
                break
            out.append(evaluate(template[i + 1 : j - 1].strip()))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)
