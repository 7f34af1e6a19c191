"""The engine's breakpoint requests and the check made when a breakpoint's line runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import CodeType, FrameType
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
from relive.debugger.model import BreakpointChanged, BreakpointInfo, Event, ExceptionMode, Output
from relive.debugger.paths import canonical, is_user_code
from relive.debugger.stack import format_log_message

if TYPE_CHECKING:
    import threading

    from relive.debugger.backends.base import Backend


class BreakpointsMixin:
    """Part of :class:`relive.debugger.engine.Engine`."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        _emit: Callable[[Event], None]
        _backend: Backend
        _bp_codes: list[CodeType]
        _bp_code_ids: frozenset[int]
        breakpoints: BreakpointTable
        index: CodeIndex
        exception_mode: ExceptionMode

    # ------------------------------------------------------------------ breakpoints

    def _rebuild_bp_codes(self) -> None:
        codes = []
        for path in self.breakpoints.paths():
            lines = {
                ln for ln in self.breakpoints.lines_for(path)
                if any(bp.enabled for bp in self.breakpoints.at(path, ln))
            }
            if not lines:
                continue
            for code in self.index.codes(path):
                if lines & code_lines(code):
                    codes.append(code)
        self._bp_codes = codes
        self._bp_code_ids = frozenset(id(c) for c in codes)

    def _find_loaded_code(self, path: str, always: bool = False) -> None:
        """Index code of ``path`` that was loaded before the engine watched imports."""
        if self.index.has(path) and not always:
            return
        import gc

        for obj in gc.get_objects():
            code = getattr(obj, "__code__", None)
            if isinstance(code, CodeType) and canonical(code.co_filename) == path:
                self.index.add_tree(code)

    def add_breakpoint(
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
            bp = self.breakpoints.add_line(
                path,
                line,
                condition=condition,
                ignore=ignore,
                log_message=log_message,
                temporary=temporary,
            )
            self._find_loaded_code(bp.path)
            bp.verified = self.index.has(bp.path)
            self._rebuild_bp_codes()
        self._backend.refresh()
        return bp.info()

    def add_function_breakpoint(
        self, name: str, *, path: str | None = None, condition: str | None = None,
        temporary: bool = False,
    ) -> BreakpointInfo:
        """Stop at the first line of the body of the function named ``name`` (its
        qualified name, or the end of it: ``total`` matches ``Cart.total``)."""
        with self._lock:
            spec = self.breakpoints.add_function(name, path, condition, temporary)
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
        self._backend.refresh()
        return bp.info()

    def _bind_function(self, spec: FunctionBreakpointSpec, code: CodeType) -> Breakpoint:
        self.index.add_tree(code)
        bp = self.breakpoints.bind_function(spec, code)
        self._find_loaded_code(bp.path, always=True)  # every load of that file
        self._rebuild_bp_codes()
        self._emit(BreakpointChanged(bp.info(), "bound"))
        return bp

    def remove_breakpoint(self, bp_id: int) -> None:
        with self._lock:
            self.breakpoints.remove(bp_id)
            self._rebuild_bp_codes()
        self._backend.refresh()

    def change_breakpoint(self, bp_id: int, **changes: Any) -> BreakpointInfo:
        """Enable/disable, set ``condition`` or ``ignore`` of a breakpoint."""
        allowed = {"enabled", "condition", "ignore"}
        unknown = set(changes) - allowed
        if unknown:
            raise BreakpointError(f"cannot change {', '.join(sorted(unknown))} of a breakpoint")
        with self._lock:
            bp = self.breakpoints.get(bp_id)
            self.breakpoints.replace_fields(bp, **changes)
            self._rebuild_bp_codes()
        self._backend.refresh()
        return bp.info()

    def list_breakpoints(self) -> list[BreakpointInfo]:
        infos = [bp.info() for bp in self.breakpoints]
        for spec in self.breakpoints.pending_functions():
            infos.append(
                BreakpointInfo(
                    id=spec.id, path=spec.path or "", line=0, requested_line=0,
                    verified=False, condition=spec.condition, temporary=spec.temporary,
                    function=spec.name,
                )
            )
        return sorted(infos, key=lambda b: b.id)

    def set_exception_mode(self, mode: ExceptionMode) -> None:
        self.exception_mode = mode
        self._backend.refresh()

    def _check_breakpoints(
        self, t: HeldThread, frame: FrameType, bps: Iterable[Breakpoint]
    ) -> list[Breakpoint]:
        hit = []
        for bp in list(bps):
            if not bp.enabled:
                continue
            if bp.compiled_condition is not None:
                ok, value = self._quiet_eval(t, frame, bp.compiled_condition)
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
                    bp.log_message, lambda expr: self._quiet_eval_text(t, frame, expr)
                )
                self._emit(Output("log", text + "\n"))
                continue
            hit.append(bp)
        return hit

    def _quiet_eval(self, t: HeldThread, frame: FrameType, code: CodeType) -> tuple[bool, Any]:
        t.evaluating = True
        try:
            return True, ev.run_in_frame(frame, code)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            t.evaluating = False

    def _quiet_eval_text(self, t: HeldThread, frame: FrameType, text: str) -> str:
        try:
            code = compile(text, "<log message>", "eval")
        except SyntaxError as exc:
            return f"<syntax error: {exc.msg}>"
        ok, value = self._quiet_eval(t, frame, code)
        return str(value) if ok else f"<{value}>"


def _best_match(spec: FunctionBreakpointSpec, codes: Iterable[CodeType]) -> CodeType | None:
    """The code ``spec`` names best: an exact qualified name before a suffix match, the
    user's code before libraries; never code without a source file."""
    best: tuple[int, CodeType] | None = None
    for code in codes:
        if code.co_filename.startswith("<") or not spec.matches(code):
            continue
        rank = 2 if code.co_qualname == spec.name else 0
        rank += 1 if is_user_code(code.co_filename) else 0
        if best is None or rank > best[0]:
            best = (rank, code)
    return best[1] if best is not None else None


def _find_function_on_heap(spec: FunctionBreakpointSpec) -> CodeType | None:
    """The code of a live function matching ``spec`` (loaded before the engine watched)."""
    import gc

    codes = (getattr(obj, "__code__", None) for obj in gc.get_objects())
    return _best_match(spec, (c for c in codes if isinstance(c, CodeType)))
