"""Running module bodies take the lines their statements moved to.

A module body is running while the program waits in it: ``__main__`` in its ``main()`` call
at the bottom of the script, a module still being imported. That frame cannot be remapped
(module code runs once, and it waits in a call), yet when lines are inserted or removed above
the statement it waits in, its tracebacks must show the new line. Its statements did not
change, they only moved, so the code object it runs is given the new lines in place
(:func:`relive._cpython.linetable.relocate`). Where that cannot be done exactly — a statement
of the module body was added, removed or changed, the running statement itself changed, or
the interpreter does not allow it — the frame is reported stale, as any frame left on old
code is (RL5001), with the reason.
"""

from __future__ import annotations

import bisect
import sys
import threading
import weakref
from collections.abc import Callable
from types import CodeType, FrameType

from relive._cpython.linetable import relocate
from relive.delta import MODULE_PATH, Baseline
from relive.runtime.registry import TrackedModule
from relive.runtime.result import StaleFrame

# the generation of the lines a module body's code object reports, when it is not the one it
# was compiled for (0); a code object whose lines could not follow once is marked None
_SYNCED: dict[int, tuple[weakref.ref[CodeType], int | None]] = {}


def module_frames(tracked: TrackedModule) -> list[tuple[int, FrameType]]:
    """(thread id, frame) of each running body of ``tracked`` (usually at most one). Code
    that ``exec`` runs in the module's namespace is not its body: its file tells them
    apart."""
    namespace = getattr(tracked.module, "__dict__", None)
    files = {tracked.filename, getattr(tracked.module, "__file__", None)}
    out = []
    for thread_id, top in sys._current_frames().items():
        frame: FrameType | None = top
        while frame is not None:
            code = frame.f_code
            if (code.co_name == "<module>" and frame.f_globals is namespace
                    and code.co_filename in files):
                out.append((thread_id, frame))
            frame = frame.f_back
    return out


def follow(tracked: TrackedModule, old: Baseline, new: Baseline) -> list[StaleFrame]:
    """Give the running body of ``tracked`` (if any) the lines of ``new``; the frames that
    keep the lines of ``old`` are returned, to be reported stale."""
    frames = module_frames(tracked)
    if not frames:
        return []
    by_code: dict[int, list[tuple[int, FrameType]]] = {}
    for thread_id, frame in frames:
        by_code.setdefault(id(frame.f_code), []).append((thread_id, frame))
    stale = []
    for group in by_code.values():
        code = group[0][1].f_code
        reason = _follow_code(code, [f for _, f in group], old, new)
        if reason is not None:
            names = {t.ident: t.name for t in threading.enumerate()}
            stale += [StaleFrame(MODULE_PATH, code.co_filename, frame.f_lineno or 0,
                                 thread_id, names.get(thread_id, str(thread_id)),
                                 reason=f"its lines stay those of the old source: {reason}")
                      for thread_id, frame in group]
    return stale


def _follow_code(code: CodeType, frames: list[FrameType], old: Baseline,
                 new: Baseline) -> str | None:
    entry = _SYNCED.get(id(code))
    synced = entry[1] if entry is not None and entry[0]() is code else 0
    if synced is None:
        return "its lines could not follow an earlier edit"
    if synced != old.generation:
        return "its lines are those of another generation"
    new_line, reason = _line_mover(old, new, [f.f_lineno for f in frames if f.f_lineno])
    if new_line is not None:
        reason = relocate(code, new_line, frames)
    _SYNCED[id(code)] = (weakref.ref(code, _forget(id(code))),
                         new.generation if reason is None else None)
    return reason


def _forget(key: int) -> Callable[[object], None]:
    def forget(_ref: object) -> None:
        _SYNCED.pop(key, None)
    return forget


def _line_mover(old: Baseline, new: Baseline, running: list[int]
                ) -> tuple[Callable[[int], int] | None, str | None]:
    """Old line → new line for the module body's code. Its statements are paired from both
    ends while they keep their kind and names; a paired statement moves whole (the one a
    frame runs must also keep its text). The statements between the pairs changed: a frame
    cannot be running one of them, and their old lines go to the same place in the new
    block (code that ran once; what changed in it is reported by the delta)."""
    old_module, new_module = old.index[MODULE_PATH], new.index[MODULE_PATH]
    old_body, new_body = old_module.body, new_module.body
    if not old_body or not new_body:
        return None, "the module body is empty"
    same = [(a.kind, a.names) == (b.kind, b.names)
            for a, b in zip(old_body, new_body, strict=False)]
    head = same.index(False) if False in same else len(same)
    tail = 0
    limit = min(len(old_body), len(new_body)) - head
    while tail < limit and (old_body[-1 - tail].kind, old_body[-1 - tail].names) == (
            new_body[-1 - tail].kind, new_body[-1 - tail].names):
        tail += 1
    old_starts = [old_module.first + st.first for st in old_body]
    new_starts = [new_module.first + st.first for st in new_body]
    # old statement k goes to new statement pair(k); the changed ones to the new block
    gap = len(new_body) - len(old_body)
    changed = range(head, len(old_body) - tail)

    def pair(k: int) -> int:
        if k < head:
            return k
        if k in changed:
            return min(head, len(new_body) - 1)
        return k + gap

    if all(k not in changed and old_starts[k] == new_starts[pair(k)]
           for k in range(len(old_body))):
        return None, None  # nothing moved: the lines stay
    for line in running:
        k = bisect.bisect_right(old_starts, line) - 1
        if k < 0:
            continue
        if k in changed:
            return None, f"the statement it runs (line {line}) changed"
        a, b = old_body[k], new_body[pair(k)]
        if old.text_of(old_starts[k], old_module.first + a.last) != new.text_of(
                new_starts[pair(k)], new_module.first + b.last):
            return None, f"the statement it runs (line {line}) changed"

    def new_line(line: int) -> int:
        k = bisect.bisect_right(old_starts, line) - 1
        if k < 0 or not new_body:
            return line
        return line - old_starts[k] + new_starts[pair(k)]

    return new_line, None
