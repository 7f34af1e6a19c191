"""Breakpoint control, an object the engine holds: the requests on breakpoints, the code they
bind to, the check made when a breakpoint's line runs, and breakpoints following an edit."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from types import CodeType, FrameType, FunctionType
from typing import TYPE_CHECKING, Any

from relive.debugger import evaluate as ev
from relive.debugger.breakpoints import (
    Breakpoint,
    BreakpointError,
    BreakpointTable,
    CodeIndex,
    FunctionBreakpointSpec,
    code_lines,
)
from relive.debugger.held import HeldThread
from relive.debugger.model import BreakpointChanged, BreakpointInfo, Event, Output
from relive.debugger.paths import canonical, is_user_code
from relive.debugger.stack import format_log_message

if TYPE_CHECKING:
    from relive.debugger.edits import EditOutcome


class BreakpointControl:
    """The session's breakpoints (:attr:`table`), the program's code per file (:attr:`index`)
    and the code objects that hold an enabled breakpoint's line (:attr:`codes`, what the
    backends enable line events on).

    It shares the engine's lock; ``emit`` reports breakpoint changes and log points, and
    ``refresh`` asks the backend to look at :attr:`codes` again after a change.
    """

    def __init__(self, lock: threading.RLock, emit: Callable[[Event], None],
                 refresh: Callable[[], None]) -> None:
        self._lock = lock
        self._emit = emit
        self._refresh = refresh
        self.table = BreakpointTable()
        self.index = CodeIndex()
        self.codes: list[CodeType] = []
        self.code_ids: frozenset[int] = frozenset()  # ids of codes (held there)

    # ------------------------------------------------------------------ requests

    def add(
        self,
        path: str,
        line: int,
        *,
        condition: str | None = None,
        ignore: int = 0,
        log_message: str | None = None,
        temporary: bool = False,
    ) -> BreakpointInfo:
        """A line breakpoint (or a log point, with ``log_message``). Raises
        :class:`BreakpointError` with advice when the file or line cannot take one."""
        with self._lock:
            bp = self.table.add_line(
                path,
                line,
                condition=condition,
                ignore=ignore,
                log_message=log_message,
                temporary=temporary,
            )
            self._find_loaded_code(bp.path)
            bp.verified = self.index.has(bp.path)
            self.rebuild()
        self._refresh()
        return bp.info()

    def add_function(
        self, name: str, *, path: str | None = None, condition: str | None = None,
        temporary: bool = False,
    ) -> BreakpointInfo:
        """Stop at the first line of the body of the function named ``name`` (its
        qualified name, or the end of it: ``total`` matches ``Cart.total``)."""
        with self._lock:
            spec = self.table.add_function(name, path, condition, temporary)
            if path is not None:
                self._find_loaded_code(canonical(path))
            match = _best_match(spec, self.index.all_codes())
            if match is None:
                match = _find_function_on_heap(spec)
            if match is None:
                return BreakpointInfo(
                    id=spec.id, path=spec.path or "", line=0, requested_line=0,
                    verified=False, condition=condition, temporary=temporary, function=name,
                    message=f"no function {name!r} loaded yet; the breakpoint binds when it is",
                )
            bp = self._bind_function(spec, match)
        self._refresh()
        return bp.info()

    def remove(self, bp_id: int) -> None:
        with self._lock:
            self.table.remove(bp_id)
            self.rebuild()
        self._refresh()

    def change(self, bp_id: int, **changes: Any) -> BreakpointInfo:
        """Enable/disable, set ``condition`` or ``ignore`` of a breakpoint."""
        allowed = {"enabled", "condition", "ignore"}
        unknown = set(changes) - allowed
        if unknown:
            raise BreakpointError(f"cannot change {', '.join(sorted(unknown))} of a breakpoint")
        with self._lock:
            bp = self.table.get(bp_id)
            self.table.replace_fields(bp, **changes)
            self.rebuild()
        self._refresh()
        return bp.info()

    def listing(self) -> list[BreakpointInfo]:
        """Every breakpoint, those waiting for their function too, by id."""
        infos = [bp.info() for bp in self.table]
        for spec in self.table.pending_functions():
            infos.append(
                BreakpointInfo(
                    id=spec.id, path=spec.path or "", line=0, requested_line=0,
                    verified=False, condition=spec.condition, temporary=spec.temporary,
                    function=spec.name,
                )
            )
        return sorted(infos, key=lambda b: b.id)

    def clear(self) -> None:
        """No breakpoint any more (the front end is gone)."""
        with self._lock:
            self.table.clear()
            self.rebuild()

    # ------------------------------------------------------------------ code

    def rebuild(self) -> None:
        """Recompute :attr:`codes` from the table and the index (lock held)."""
        codes = []
        for path in self.table.paths():
            lines = {
                ln for ln in self.table.lines_for(path)
                if any(bp.enabled for bp in self.table.at(path, ln))
            }
            if not lines:
                continue
            for code in self.index.codes(path):
                if lines & code_lines(code):
                    codes.append(code)
        self.codes = codes
        self.code_ids = frozenset(id(c) for c in codes)

    def code_loaded(self, code: CodeType) -> bool | None:
        """Index ``code`` and what it nests, and bind the breakpoints waiting for it. None if
        the code was indexed already; else whether its file has breakpoints (then
        :attr:`codes` is up to date)."""
        new = self.index.add_tree(code)
        if not new:
            return None
        path = canonical(code.co_filename)
        changed = False
        for bp in self.table.mark_verified([path]):
            self._emit(BreakpointChanged(bp.info(), "bound"))
            changed = True
        for spec in self.table.pending_functions():
            match = _best_match(spec, new)
            if match is not None:
                self._bind_function(spec, match)
                changed = True
        if changed or path in self.table.paths():
            self.rebuild()
            return True
        return False

    def add_code(self, code: CodeType) -> None:
        """Index a version of loaded code (the backend's, of a module with breakpoints)."""
        self.index.add_tree(code)
        self.rebuild()

    def _find_loaded_code(self, path: str, always: bool = False) -> None:
        """Index code of ``path`` that was loaded before the engine watched imports."""
        if self.index.has(path) and not always:
            return
        for code in live_function_code():
            if canonical(code.co_filename) == path:
                self.index.add_tree(code)

    def _bind_function(self, spec: FunctionBreakpointSpec, code: CodeType) -> Breakpoint:
        self.index.add_tree(code)
        bp = self.table.bind_function(spec, code)
        self._find_loaded_code(bp.path, always=True)  # every load of that file
        self.rebuild()
        self._emit(BreakpointChanged(bp.info(), "bound"))
        return bp

    def follow_edit(self, outcome: EditOutcome) -> None:
        """An edit was applied: index its code, and move each breakpoint with its line (or
        disable it, its line deleted)."""
        with self._lock:
            for code in outcome.new_code:
                self.index.add_tree(code)
            edited = {canonical(p) for p in outcome.files}
            for found in live_function_code():
                if canonical(found.co_filename) in edited:
                    self.index.add_tree(found)
            moved: list[Breakpoint] = []
            for path, moves in outcome.line_moves.items():
                path = canonical(path)
                for bp in [b for b in self.table if b.path == path]:
                    if bp.line not in moves:
                        continue
                    new_line = moves[bp.line]
                    if new_line is None:
                        bp.message = f"the code at line {bp.line} was deleted by the edit"
                        bp.enabled = False
                    elif new_line != bp.line:
                        old = bp.line
                        self.table.move(bp, new_line, f"moved from line {old} by the edit")
                    moved.append(bp)
            self.rebuild()
        for bp in moved:
            self._emit(BreakpointChanged(bp.info(), "edit"))
        self._refresh()

    # ------------------------------------------------------------------ a line runs

    def check(self, t: HeldThread, frame: FrameType, bps: Iterable[Breakpoint]
              ) -> list[Breakpoint]:
        """The breakpoints among ``bps`` (at the line ``frame`` is at) that stop ``t``: the
        enabled ones whose condition holds and whose ignore count is spent; log points
        print and do not stop. Runs on the program's thread, the lock not held."""
        hit = []
        for bp in list(bps):
            if not bp.enabled:
                continue
            if bp.compiled_condition is not None:
                ok, value = _quiet_eval(t, frame, bp.compiled_condition)
                if not ok:
                    self._emit(
                        Output(
                            "console",
                            f"breakpoint {bp.id}: the condition {bp.condition!r} raised "
                            f"{value}; stopping so you can look\n",
                        )
                    )
                elif not value:
                    continue
            bp.hits += 1
            if bp.ignore > 0:
                bp.ignore -= 1
                continue
            if bp.log_message is not None:
                text = format_log_message(
                    bp.log_message, lambda expr: _quiet_eval_text(t, frame, expr)
                )
                self._emit(Output("log", text + "\n"))
                continue
            hit.append(bp)
        return hit


def _quiet_eval(t: HeldThread, frame: FrameType, code: CodeType) -> tuple[bool, Any]:
    t.evaluating = True
    try:
        return True, ev.run_in_frame(frame, code)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        t.evaluating = False


def _quiet_eval_text(t: HeldThread, frame: FrameType, text: str) -> str:
    try:
        code = compile(text, "<log message>", "eval")
    except SyntaxError as exc:
        return f"<syntax error: {exc.msg}>"
    ok, value = _quiet_eval(t, frame, code)
    return str(value) if ok else f"<{value}>"


def _best_match(spec: FunctionBreakpointSpec, codes: Iterable[CodeType]) -> CodeType | None:
    """The code ``spec`` names best: an exact qualified name before a suffix match, the
    user's code before libraries; never code without a source file. A library's function
    is only taken when named exactly (``UserList.count``, ``collections.UserList.count``):
    ``count`` waits for the program's own ``count``, which may not be loaded yet."""
    best: tuple[int, CodeType] | None = None
    for code in codes:
        if code.co_filename.startswith("<") or not spec.matches(code):
            continue
        user = is_user_code(code.co_filename)
        if not user and not spec.matches(code, exactly=True):
            continue
        rank = 2 if code.co_qualname == spec.name else 0
        rank += 1 if user else 0
        if best is None or rank > best[0]:
            best = (rank, code)
    return best[1] if best is not None else None


def _find_function_on_heap(spec: FunctionBreakpointSpec) -> CodeType | None:
    """The code of a live function matching ``spec`` (loaded before the engine watched)."""
    return _best_match(spec, live_function_code())


def live_function_code() -> Iterator[CodeType]:
    """The code of every function object alive. Only functions are asked (a program's
    objects may answer any attribute with code of their own: a proxy to a request context
    raises outside one, a lazy object loads itself), and only for their code."""
    for obj in gc.get_objects():
        if isinstance(obj, FunctionType):
            yield obj.__code__
