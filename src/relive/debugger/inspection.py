"""The engine's view of a stopped program, an object the engine holds: threads, stacks,
variables, evaluation, jump.

Evaluation and jumps run on the frame's own thread, handed to it as a job while it is held
(the engine's :meth:`~relive.debugger.engine.Engine.run_on_thread`).
"""

from __future__ import annotations

import linecache
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from relive._cpython.code import GENERATOR
from relive.debugger import evaluate as ev
from relive.debugger.breakpoints import body_first_line
from relive.debugger.calls import CallTarget, call_targets
from relive.debugger.edits import CodeStatus
from relive.debugger.held import EngineError, HeldThread
from relive.debugger.jump import check_jump
from relive.debugger.model import EvalResult, JumpCheck, StackFrame, ThreadInfo, Variable
from relive.debugger.paths import canonical, is_internal
from relive.debugger.stack import describe_stack


class Inspection:
    """What a front end may look at and change while the program is stopped.

    ``held(thread_id)`` is the held thread (or raises :class:`EngineError`), ``threads()``
    every thread the engine knows, ``run_on_thread(thread_id, fn, timeout)`` runs ``fn`` on a
    held thread, and ``code_status`` says whether code is stale. Values shown get numbers
    (``ref``) to ask for their children; :meth:`forget_values` drops them when the program
    goes on.
    """

    def __init__(
        self,
        held: Callable[[int], HeldThread],
        threads: Callable[[], list[HeldThread]],
        run_on_thread: Callable[[int, Callable[[], Any], float], Any],
        code_status: Callable[[CodeType], CodeStatus | None],
        running_source: Callable[[CodeType], str | None] = lambda code: None,
    ) -> None:
        self._held = held
        self._running_source = running_source
        self._threads = threads
        self.run_on_thread = run_on_thread
        self._code_status = code_status
        self._lock = threading.RLock()
        self._refs: dict[int, object] = {}
        self._next_ref = 1

    def forget_values(self) -> None:
        """The program goes on: the numbered values are not the user's to ask for any more."""
        with self._lock:
            self._refs.clear()

    # ------------------------------------------------------------------ inspection

    def threads(self) -> list[ThreadInfo]:
        out = []
        current = sys._current_frames()
        for t in sorted(self._threads(), key=lambda t: t.ident):
            frame = t.frames[0] if t.frames else current.get(t.ident)
            while frame is not None and is_internal(frame.f_code.co_filename):
                frame = frame.f_back
            out.append(
                ThreadInfo(
                    id=t.ident, name=t.name, state=t.state, daemon=t.daemon,
                    line=frame.f_lineno if frame is not None else None,
                    path=canonical(frame.f_code.co_filename) if frame is not None else None,
                )
            )
        return out

    def stack(self, thread_id: int) -> list[StackFrame]:
        t = self._held(thread_id)
        return describe_stack(t.frames, self._code_status)

    def source(self, thread_id: int, index: int) -> dict[str, Any]:
        """The source a frame runs: ``lines`` of the text its code was compiled from when
        that is not the file's text (old code after an edit: ``stale``), else None (the
        file's text on disk is it)."""
        frame = self.frame(thread_id, index)
        status = self._code_status(frame.f_code)
        stale = status is not None and status.stale
        text = self._running_source(frame.f_code) if stale else None
        return {"path": frame.f_code.co_filename, "stale": stale,
                "lines": text.splitlines() if text is not None else None}

    def step_in_targets(self, thread_id: int) -> list[CallTarget]:
        """The calls of the statement the stopped thread's top frame is at, in the order
        they run (from the text its code was compiled from)."""
        frame = self.frame(thread_id, 0)
        found = self.source(thread_id, 0)
        if found["lines"] is not None:
            text = "\n".join(found["lines"]) + "\n"
        else:
            linecache.checkcache(frame.f_code.co_filename)
            text = "".join(linecache.getlines(frame.f_code.co_filename))
        return call_targets(text, frame.f_lineno or 0)

    def frame(self, thread_id: int, index: int) -> FrameType:
        t = self._held(thread_id)
        if not 0 <= index < len(t.frames):
            raise EngineError(
                f"no frame {index} in thread {t.name} (frames 0-{len(t.frames) - 1}); "
                "`where` shows them"
            )
        return t.frames[index]

    def _ref(self, value: object) -> int:
        if not ev.has_children(value):
            return 0
        ref = self._next_ref
        self._next_ref += 1
        self._refs[ref] = value
        return ref

    def scopes(self, thread_id: int, index: int) -> dict[str, list[Variable]]:
        """``locals`` and ``globals`` of a frame (globals without modules, dunders)."""
        frame = self.frame(thread_id, index)
        # EnC mode's hidden locals (live loop iterators) are not the user's
        local_items = [(k, v) for k, v in frame.f_locals.items() if not k.startswith("__relive_")]
        is_module = frame.f_locals is frame.f_globals
        global_items = [
            (k, v) for k, v in frame.f_globals.items()
            if not k.startswith("__") and not isinstance(v, type(sys))
        ]
        with self._lock:
            return {
                "locals": [] if is_module else [
                    ev.variable(k, v, self._ref(v)) for k, v in local_items
                ],
                "globals": [ev.variable(k, v, self._ref(v)) for k, v in global_items],
            }

    def children(self, ref: int) -> list[Variable]:
        with self._lock:
            if ref not in self._refs:
                raise EngineError(
                    f"no value {ref}: values are numbered anew at each stop; list them again"
                )
            value = self._refs[ref]
            return [ev.variable(k, v, self._ref(v)) for k, v in ev.children(value)]

    # ------------------------------------------------------------------ evaluation

    def evaluate(
        self, thread_id: int, frame_index: int, text: str, mode: str = "auto",
        timeout: float = 10.0, full: bool = False,
    ) -> EvalResult:
        """Evaluate an expression or execute statements in a frame. Errors are reported
        in the result, never raised into the program. ``full``: the value's whole display
        (see :func:`relive.debugger.evaluate.display`)."""
        frame = self.frame(thread_id, frame_index)
        try:
            code = ev.compile_for_frame(text, mode)
        except SyntaxError as exc:
            return EvalResult(ok=False, error=f"SyntaxError: {exc.msg}")
        started = time.monotonic()
        try:
            value = self.run_on_thread(thread_id, lambda: ev.run_in_frame(frame, code), timeout)
        except TimeoutError as exc:
            return EvalResult(ok=False, error=str(exc), timed_out=True)
        except ev.EvaluationAborted:
            took = time.monotonic() - started
            return EvalResult(ok=False, error=f"aborted after {took:.1f} s", timed_out=True)
        except BaseException as exc:
            return ev.error_result(exc)
        if not code.co_flags & GENERATOR and mode != "exec" and _is_expression(code, text):
            with self._lock:
                return EvalResult(
                    ok=True, value=ev.display(value, full), type=type(value).__name__,
                    ref=self._ref(value),
                )
        return EvalResult(ok=True)

    def set_variable(
        self, thread_id: int, frame_index: int, name: str, expression: str, timeout: float = 10.0
    ) -> EvalResult:
        """Bind ``name`` in a frame to the value of ``expression``; the new binding stays
        when the program continues."""
        if not name.isidentifier():
            return EvalResult(ok=False, error=f"{name!r} is not a variable name")
        frame = self.frame(thread_id, frame_index)
        try:
            code = compile(expression, "<debugger>", "eval")
        except SyntaxError as exc:
            return EvalResult(ok=False, error=f"SyntaxError: {exc.msg}")

        def assign() -> object:
            value = ev.run_in_frame(frame, code)
            ev.assign_in_frame(frame, name, value)
            return value

        try:
            value = self.run_on_thread(thread_id, assign, timeout)
        except TimeoutError as exc:
            return EvalResult(ok=False, error=str(exc), timed_out=True)
        except BaseException as exc:
            return ev.error_result(exc)
        with self._lock:
            return EvalResult(ok=True, value=ev.display(value), type=type(value).__name__,
                              ref=self._ref(value))

    def completions(self, thread_id: int, frame_index: int, prefix: str) -> list[str]:
        """Names (and ``obj.attr`` paths) visible in a frame that start with ``prefix``."""
        frame = self.frame(thread_id, frame_index)
        if "." in prefix:
            head, _, tail = prefix.rpartition(".")
            if not all(part.isidentifier() for part in head.split(".")):
                return []
            names = frame.f_locals
            obj: Any = None
            parts = head.split(".")
            base = parts[0]
            if base in names:
                obj = names[base]
            elif base in frame.f_globals:
                obj = frame.f_globals[base]
            else:
                return []
            try:
                for part in parts[1:]:
                    obj = getattr(obj, part)
                attrs = dir(obj)
            except Exception:
                return []
            return sorted(f"{head}.{a}" for a in attrs if a.startswith(tail))
        import builtins

        pool = set(frame.f_locals) | set(frame.f_globals) | set(vars(builtins))
        return sorted(n for n in pool if n.startswith(prefix))

    # ------------------------------------------------------------------ jump

    def jump(self, thread_id: int, line: int) -> JumpCheck:
        """Move the top frame of the stopped thread to ``line`` (set next statement)."""
        t = self._held(thread_id)
        frame = t.frames[0]
        check = check_jump(frame, line, t.at_line)
        if not check.allowed:
            return check

        def do_jump() -> None:
            setattr(frame, "f_lineno", line)  # noqa: B010 - typeshed has it read-only

        try:
            self.run_on_thread(thread_id, do_jump, 10.0)
        except ValueError as exc:
            return JumpCheck(False, line, f"CPython refused: {exc}")
        return JumpCheck(True, line)

    def restart_frame(self, thread_id: int) -> JumpCheck:
        """Move the top frame of the stopped thread back to the first line of its body, to
        run again with its variables as they are now (its arguments among them)."""
        t = self._held(thread_id)
        return self.jump(thread_id, body_first_line(t.frames[0].f_code))


def _is_expression(code: CodeType, text: str) -> bool:
    try:
        compile(text, "<debugger>", "eval")
    except SyntaxError:
        return False
    return True
