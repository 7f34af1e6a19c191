"""Describing held frames for display, and formatting log point messages."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

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
    every_task: list[Any] = []
    tasks = _tasks_of(frames, every_task)
    for i, frame in enumerate(frames):
        link = "top" if i == 0 else _link(frames[i - 1], frame)
        st = status(frame.f_code)
        task = tasks.get(id(frame))
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
                task=_task_name(task) if task is not None else None,
                awaited_by=_awaited_by(task, every_task) if task is not None else (),
            )
        )
    return out


def _tasks_of(frames: list[FrameType], every_task: list[Any]) -> dict[int, Any]:
    """The asyncio task each outermost coroutine frame of ``frames`` runs, by frame id (a
    scan of the heap, made only when a stack has such a frame; ``every_task`` gets every
    task found)."""
    outer = {id(f): f for i, f in enumerate(frames)
             if frame_kind(f.f_code) == "coroutine"
             and (i + 1 == len(frames) or frame_kind(frames[i + 1].f_code) != "coroutine")}
    asyncio = sys.modules.get("asyncio")
    if not outer or asyncio is None:
        return {}
    found: dict[int, Any] = {}
    every_task.extend(_all_tasks(asyncio))
    for obj in every_task:
        frame = getattr(_coro(obj), "cr_frame", None)
        if frame is not None and id(frame) in outer:
            found[id(frame)] = obj
    return found


def _all_tasks(asyncio: Any) -> list[Any]:
    task_types = tuple(t for t in (getattr(asyncio, "Task", None),
                                   getattr(sys.modules.get("_asyncio"), "Task", None))
                       if isinstance(t, type))
    if not task_types:
        return []
    return [obj for obj in gc.get_objects() if isinstance(obj, task_types)]


def _coro(task: Any) -> Any:
    try:
        return task.get_coro()
    except Exception:
        return None


def _task_name(task: Any) -> str | None:
    try:
        return str(task.get_name())
    except Exception:
        return None


def _awaited_by(task: Any, every_task: list[Any]) -> tuple[str, ...]:
    """Where the tasks that wait for ``task`` wait: their innermost coroutine's frame."""
    out = []
    for other in every_task:
        if getattr(other, "_fut_waiter", None) is not task:
            continue
        coro = _coro(other)
        while getattr(coro, "cr_await", None) is not None and hasattr(coro.cr_await, "cr_frame"):
            coro = coro.cr_await
        frame = getattr(coro, "cr_frame", None)
        name = _task_name(other) or "a task"
        if frame is not None:
            out.append(f"{name} in {frame.f_code.co_qualname} at "
                       f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}")
        else:
            out.append(name)
    return tuple(out)


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
