"""The debugging engine: breakpoints, stops, stepping, pausing, threads, evaluation.

The engine lives in the program's process. Backends call it on the program's threads
(:class:`~relive.debugger.backends.base.EngineHooks`); a front end (the agent) calls its control
methods from its own thread; the engine answers with values and reports with events through
the ``emit`` callable. It never prints.

How threads are held. A thread that must stop (breakpoint, finished step, pause, exception)
*owns* the stop: it reports :class:`Stopped` and waits inside the event callback, at a
statement boundary. With ``stop_all`` (the default) every other program thread parks at its
next line event — its next safe point — and waits too, silently; a thread blocked in native
code parks when it comes back to Python. :meth:`resume` releases them together (or, with
``all_threads=False``, only the one). Only one thread owns a stop at a time: a second thread
that hits a breakpoint while another stop is shown waits, and reports its own stop when the
first is resumed. Work that must run on a held thread (evaluation, jump) is handed to it as
a job and runs inside its callback, so the frame's thread-local state is its own.

Invariants: the agent's threads are never traced nor held; relive's own code is never
stopped in; the engine's lock is never held while program code runs (conditions, log
messages and evaluations run outside it).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from types import CodeType, FrameType, TracebackType
from typing import Any

from relive._cpython import code as code_flags
from relive._cpython import threadstate
from relive.debugger import evaluate as ev
from relive.debugger.backends import Backend, make_backend
from relive.debugger.backends.import_watch import watch_imports
from relive.debugger.breakpoint_control import BreakpointControl
from relive.debugger.breakpoints import Breakpoint
from relive.debugger.calls import runs_target
from relive.debugger.editing import EditAndContinue
from relive.debugger.edits import RemapOffer, RemapResult
from relive.debugger.held import EngineError, HeldThread, Job, Step
from relive.debugger.inspection import Inspection
from relive.debugger.model import (
    Continued,
    Event,
    ExceptionMode,
    ExceptionRaised,
    ModuleLoaded,
    RemapCompleteEvent,
    RemapOpportunityEvent,
    Stopped,
    StopReason,
    ThreadExited,
    ThreadStarted,
)
from relive.debugger.paths import canonical, is_internal, is_user_code

_CONTROL_FLOW_EXCEPTIONS = (StopIteration, StopAsyncIteration, GeneratorExit)


class Engine:
    """One debugging session's engine. See the module docstring for the threading model."""

    def __init__(self, emit: Callable[[Event], None], *, backend: Backend | None = None) -> None:
        self._emit = emit
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._threads: dict[int, HeldThread] = {}
        self._ignored: set[int] = set()
        self.breakpoints = BreakpointControl(self._lock, emit, self._refresh)
        self.enc = EditAndContinue(emit, self.breakpoints,
                                   lambda: self.stopped_thread() is not None)
        self.inspection = Inspection(self._held, self.thread_records, self.run_on_thread,
                                     self.enc.code_status, self.enc.running_source)
        self._halt = False
        self._owner: int | None = None
        self._pause_requested = False
        self.stop_all = True
        self.exception_mode = ExceptionMode.OFF
        self.step_into_libraries = False
        self._stepping = 0
        self._backend = backend if backend is not None else make_backend(self)
        self._installed = False
        self._previous_excepthook: Callable[[threading.ExceptHookArgs], Any] | None = None
        self._unwatch_imports: Callable[[], None] | None = None
        self._current_job: tuple[int, Job] | None = None  # what run_on_thread waits for

    # ================================================================ lifecycle

    @property
    def backend_name(self) -> str:
        return self._backend.name

    def _refresh(self) -> None:
        self._backend.refresh()

    def install(self) -> None:
        """Start watching the program. Call once from the agent before the program runs."""
        if self._installed:
            return
        self._installed = True
        self._backend.install()
        self._previous_excepthook = threading.excepthook
        threading.excepthook = self._thread_excepthook
        self._unwatch_imports = watch_imports(self._module_code)

    def uninstall(self) -> None:
        """Stop watching: breakpoints off, every held thread released."""
        self.detach()
        self._backend.uninstall()
        if self._previous_excepthook is not None:
            threading.excepthook = self._previous_excepthook
        if self._unwatch_imports is not None:
            self._unwatch_imports()
            self._unwatch_imports = None
        self._installed = False

    def ignore_thread(self, ident: int) -> None:
        """Never trace nor hold thread ``ident`` (the agent's own threads)."""
        self._ignored.add(ident)

    def unignore_thread(self, ident: int) -> None:
        self._ignored.discard(ident)
        self._backend.refresh()

    def emit_event(self, event: Event) -> None:
        """Report an event on the engine's channel (for the runner: process exited)."""
        self._emit(event)

    def detach(self) -> None:
        """The front end is gone: clear breakpoints and stepping, release every thread."""
        with self._cond:
            self.breakpoints.clear()
            self.exception_mode = ExceptionMode.OFF
            self._pause_requested = False
            self._halt = False
            self._owner = None
            for t in self._threads.values():
                t.step = None
                if t.remap is not None and t.remap_answer is None:
                    t.remap_answer = t.remap.mapped_line
                if t.state != "running":
                    t.state = "running"
                    t.release = True
                t.solo = False
            self._stepping = 0
            self._cond.notify_all()
        self._backend.refresh()

    # ======================================================= hooks (program threads)

    def is_ignored_thread(self, ident: int) -> bool:
        return ident in self._ignored

    def everywhere(self) -> bool:
        return self._halt or self._pause_requested or self._stepping > 0

    def catching_raised(self) -> bool:
        return self.exception_mode in (ExceptionMode.RAISED, ExceptionMode.USER)

    def codes_with_breakpoints(self) -> list[CodeType]:
        return self.breakpoints.codes

    def wants_lines(self, code: CodeType) -> bool:
        if id(code) in self.breakpoints.code_ids:
            return True
        t = self._threads.get(threading.get_ident())
        return t is not None and t.step is not None

    def on_line(self, frame: FrameType, line: int) -> bool:
        ident = threading.get_ident()
        if ident in self._ignored:
            return False
        code = frame.f_code
        if is_internal(code.co_filename):
            return False  # relive's own code, run by a program thread: never stop there
        t = self._threads.get(ident) or self._register_thread(ident)
        if ident in self._ignored:
            return False
        if t.evaluating or t.busy:
            return True
        bps = self.breakpoints.table.at(canonical(code.co_filename), line)
        hit: list[Breakpoint] = []
        if bps:
            hit = self.breakpoints.check(t, frame, bps)
        reason: StopReason | None = None
        if hit:
            reason = (
                StopReason.FUNCTION_BREAKPOINT
                if all(bp.function for bp in hit)
                else StopReason.BREAKPOINT
            )
        elif t.step is not None and t.step.kind.startswith("remap-"):
            if not in_remap_machinery(frame) and self._steppable(frame):
                # the moved frame's first line: the statement it stood at, in the new code;
                # the step the user asked for starts here
                t.step = Step(t.step.kind.removeprefix("remap-"), frame)
                if self._pause_requested:  # a pause asked meanwhile stops here, as always
                    reason = StopReason.PAUSE
        elif t.step is not None and self._step_done(t.step, frame):
            reason = StopReason.ENTRY if t.step.kind == "entry" else StopReason.STEP
        elif self._pause_requested:
            reason = StopReason.PAUSE
        if reason is None and not (self._halt and not t.solo):
            return bool(bps)
        if in_remap_machinery(frame):
            # a remapped frame handing over to its continuation (at its ``def`` line): not a
            # line of the user's code; the continuation's next line comes right after
            return bool(bps)
        if _inside_relive(frame):
            # The program's thread is running relive's own code (an import hook, an event
            # being sent) that called library code: not a place to stop.
            return True
        if reason is not None:
            self._stop(t, [frame], reason, hit, at_line=True)
        else:
            self._park(t, frame)
        # An edit applied while the frame was held at this line made it stale: this line is
        # its remap opportunity (it has not run the statement yet), offered before it does.
        self.enc.remap_here(frame)
        # the breakpoints of this line as they are now: the user may have changed them while
        # the thread was held (a backend that switches a line off when this is false must not
        # switch off one that has a breakpoint again)
        return bool(self.breakpoints.table.at(canonical(code.co_filename), line))

    def on_return(self, frame: FrameType, is_yield: bool) -> None:
        t = self._threads.get(threading.get_ident())
        if t is None or t.step is None or t.step.frame is not frame or t.evaluating or t.busy:
            return
        if is_yield and frame.f_code.co_flags & code_flags.AWAITS:
            return  # an await suspends the coroutine; the step goes on when it resumes
        caller = frame.f_back
        if caller is None or not self._steppable(caller):
            t.step = Step("in", None)
        else:
            t.step = Step("over", caller)

    def on_raise(self, frame: FrameType, exc: BaseException) -> None:
        mode = self.exception_mode
        if mode not in (ExceptionMode.RAISED, ExceptionMode.USER):
            return
        ident = threading.get_ident()
        if ident in self._ignored or isinstance(exc, _CONTROL_FLOW_EXCEPTIONS):
            return
        if type(exc).__name__ == "RemapSignal":
            return  # relive moving a frame onto new code, not the program's exception
        tb = exc.__traceback__
        if tb is not None and (tb.tb_next is not None or tb.tb_frame is not frame):
            return  # propagating through this frame; it was reported where it was raised
        filename = frame.f_code.co_filename
        if filename.startswith("<") or is_internal(filename):
            return  # frozen import machinery and generated code: nothing to show
        if mode is ExceptionMode.USER and not is_user_code(filename):
            return
        if _inside_relive(frame):
            return  # raised (and handled) inside relive's own work on this thread
        t = self._threads.get(ident) or self._register_thread(ident)
        if t.evaluating or t.busy:
            return
        text = _describe_exception(exc)
        self._emit(ExceptionRaised(ident, text, canonical(filename), frame.f_lineno, False))
        self._stop(t, [frame], StopReason.EXCEPTION, [], exception=text)

    def report_uncaught(self, exc: BaseException, thread: threading.Thread | None = None) -> None:
        """``exc`` ends a thread (the main thread: the program). Reported always; the
        thread stops post mortem, on the frames of the traceback, unless exceptions are
        not caught at all."""
        ident = thread.ident if thread is not None and thread.ident else threading.get_ident()
        frames = _traceback_frames(exc.__traceback__)
        text = _describe_exception(exc)
        last = frames[0] if frames else None
        self._emit(
            ExceptionRaised(
                ident,
                text,
                canonical(last.f_code.co_filename) if last else "",
                last.f_lineno if last else 0,
                True,
            )
        )
        if self.exception_mode is ExceptionMode.OFF or not frames:
            return
        if ident != threading.get_ident() or ident in self._ignored:
            return
        t = self._threads.get(ident) or self._register_thread(ident)
        t.busy = True  # not in an event callback: the engine's own calls would be traced
        try:
            self._stop(t, frames, StopReason.EXCEPTION, [], exception=text, uncaught=True)
        finally:
            t.busy = False

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            self.report_uncaught(args.exc_value, args.thread)
        if self._previous_excepthook is not None:
            self._previous_excepthook(args)

    def _module_code(self, code: CodeType) -> CodeType:
        # A module's code, just before it runs: the moment to bind pending breakpoints.
        if threading.get_ident() in self._ignored:
            return code
        return self.code_loaded(code)

    def code_loaded(self, code: CodeType) -> CodeType:
        """Index ``code`` (and what it nests); bind breakpoints waiting for its file.
        Returns the code to run: ``code``, or the backend's version of it."""
        has_breakpoints = self.breakpoints.code_loaded(code)
        if has_breakpoints is None:
            return code
        path = canonical(code.co_filename)
        result = code
        if has_breakpoints:
            if code.co_name == "<module>":
                result = self._backend.prepare_module(code)
                if result is not code:
                    self.breakpoints.add_code(result)
            self._backend.refresh()
        if code.co_name == "<module>" and not path.startswith("<") and not is_internal(path):
            self._emit(ModuleLoaded(_module_name_for(path), path))
        return result

    # ==================================================== stopping, parking, serving

    def _register_thread(self, ident: int) -> HeldThread:
        thread = threading._active.get(ident)  # type: ignore[attr-defined]
        name = thread.name if thread is not None else f"thread-{ident}"
        if name.startswith("relive-"):
            # relive's own helper threads (the watcher, the remapper's probe) never stop:
            # the debugger may be waiting for them
            self._ignored.add(ident)
        t = HeldThread(ident, name, daemon=bool(thread and thread.daemon))
        with self._lock:
            self._threads[ident] = t
        self._emit(ThreadStarted(ident, name))
        return t

    def _sync_threads(self) -> None:
        alive = {t.ident: t for t in threading.enumerate() if t.ident is not None}
        with self._lock:
            gone = [t for ident, t in self._threads.items() if ident not in alive]
            for t in gone:
                del self._threads[t.ident]
        for t in gone:
            self._emit(ThreadExited(t.ident, t.name))
        for ident in alive:
            if ident not in self._threads and ident not in self._ignored:
                self._register_thread(ident)

    def _stop(
        self,
        t: HeldThread,
        frames: list[FrameType],
        reason: StopReason,
        hit: Sequence[Breakpoint],
        *,
        at_line: bool = False,
        exception: str | None = None,
        uncaught: bool = False,
        description: str = "",
    ) -> None:
        frame = frames[0]
        with self._cond:
            # Another thread's stop is on show: wait (parked) until it is resumed.
            while self._halt and self._owner not in (None, t.ident) and not t.solo:
                self._prepare_hold(t, frames, "parked", at_line)
                self._hold_locked(t)
            self._owner = t.ident
            self._pause_requested = False
            if self.stop_all:
                self._halt = True
            if t.step is not None:
                t.step = None
                self._stepping -= 1
            t.solo = False
            # Held from now on: requests that follow the Stopped event find it stopped.
            self._prepare_hold(t, frames, "stopped", at_line and not uncaught)
        for bp in hit:
            if bp.temporary:
                self.breakpoints.remove(bp.id)
        self._backend.refresh()
        self._sync_threads()
        stale = False
        status = self.enc.code_status(frame.f_code)
        if status is not None:
            stale = status.stale
        if not description:
            description = _describe_stop(reason, hit, stale)
        _flush_program_output()
        self._emit(
            Stopped(
                reason=reason,
                thread_id=t.ident,
                path=canonical(frame.f_code.co_filename),
                line=frame.f_lineno or 0,
                function=frame.f_code.co_qualname,
                breakpoint_ids=tuple(bp.id for bp in hit),
                description=description,
                exception=exception,
                stale=stale,
                all_threads_stopped=self.stop_all,
            )
        )
        with self._cond:
            self._hold_locked(t)
        self._after_hold(t)

    def _park(self, t: HeldThread, frame: FrameType) -> None:
        with self._cond:
            if not self._halt or t.solo:
                return
            self._prepare_hold(t, [frame], "parked", True)
            self._hold_locked(t)
        self._after_hold(t)

    def _prepare_hold(
        self, t: HeldThread, frames: list[FrameType], state: str, at_line: bool
    ) -> None:
        """Mark ``t`` held (lock held). From here a resume is remembered in ``t.release``."""
        t.state = state
        t.frames = _visible_stack(frames)
        t.at_line = at_line
        t.release = False

    def _hold_locked(self, t: HeldThread) -> None:
        """Hold ``t`` until released, running the jobs handed to it. Lock held on entry
        and exit; released while waiting and while a job runs."""
        while True:
            try:
                while not t.release and not t.jobs:
                    self._cond.wait()
            except BaseException as exc:
                t.interrupt = exc
                continue
            if t.jobs:
                job = t.jobs.popleft()
                self._cond.release()
                try:
                    self._run_job(t, job)
                except ev.EvaluationAborted:
                    pass  # a late abort of a job that had finished
                finally:
                    self._cond.acquire()
                continue
            break
        t.state = "running"
        t.frames = []
        t.at_line = False

    def _after_hold(self, t: HeldThread) -> None:
        if t.interrupt is not None:
            exc, t.interrupt = t.interrupt, None
            if isinstance(exc, ev.EvaluationAborted):
                return
            raise exc

    def _run_job(self, t: HeldThread, job: Job) -> None:
        t.evaluating = True
        try:
            with job.lock:
                job.state = "running"
            try:
                job.result = job.fn()
            except BaseException as exc:
                job.error = exc
            with job.lock:
                job.state = "done"
            # An abort that arrives after this point lands in the hold loop, which drops
            # it. (It is not cancelled with a NULL exception: on 3.11 that leaves the
            # interpreter's pending flag set and slows the thread down for good.)
        except ev.EvaluationAborted as exc:
            job.error = exc
            job.state = "done"
        finally:
            t.evaluating = False
            job.done.set()

    # ============================================================ control (agent thread)

    def _held(self, thread_id: int) -> HeldThread:
        t = self._threads.get(thread_id)
        if t is None:
            raise EngineError(f"no thread {thread_id}; `threads` lists the program's threads")
        if t.state == "running":
            raise EngineError(
                f"thread {t.name} is running; pause the program (or wait for a stop) first"
            )
        return t

    def run_on_thread(self, thread_id: int, fn: Callable[[], Any], timeout: float) -> Any:
        """Run ``fn`` on held thread ``thread_id`` and return its result. After ``timeout``
        seconds the work is aborted (an :class:`EvaluationAborted` is raised into it) and
        :class:`TimeoutError` is raised here."""
        job = Job(fn)
        with self._cond:
            t = self._held(thread_id)
            t.jobs.append(job)
            self._cond.notify_all()
        self._current_job = (thread_id, job)
        try:
            finished = job.done.wait(timeout)
        finally:
            self._current_job = None
        if not finished:
            with job.lock:
                if job.state == "running":
                    threadstate.raise_in(thread_id, ev.EvaluationAborted)
            # The abort lands at the next instruction of Python code; code blocked in a
            # native call is reached when that call returns.
            job.done.wait(max(5.0, timeout))
            with job.lock:
                if job.state == "waiting":
                    t.jobs.remove(job)
            raise TimeoutError(f"the evaluation ran for more than {timeout:g} s and was aborted")
        if job.error is not None:
            raise job.error
        return job.result

    def abort_job(self) -> bool:
        """Abort the work that :meth:`run_on_thread` waits for now (an evaluation that
        runs too long): an :class:`EvaluationAborted` is raised into it. False when there
        is none."""
        current = self._current_job
        if current is None:
            return False
        thread_id, job = current
        with job.lock:
            if job.state != "running":
                return False
            threadstate.raise_in(thread_id, ev.EvaluationAborted)
        return True

    def thread_records(self) -> list[HeldThread]:
        """Every program thread the engine knows (those started or ended since, updated)."""
        self._sync_threads()
        with self._lock:
            return list(self._threads.values())

    def stopped_thread(self) -> int | None:
        """The thread that owns the current stop, if any."""
        with self._lock:
            for t in self._threads.values():
                if t.state == "stopped":
                    return t.ident
        return None

    def resume(self, thread_id: int, action: str = "continue", all_threads: bool = True,
               target: str | None = None) -> None:
        """Let the program go on: ``continue``, or step ``in``/``over``/``out`` in
        ``thread_id``'s top frame (``in`` with a ``target``: into that callee of the line
        only, see :mod:`relive.debugger.calls`). With ``all_threads`` every held thread
        goes on."""
        with self._cond:
            t = self._held(thread_id)
            remap_step = False
            # at a remap opportunity, continuing declines the remap; a step takes it (to the
            # mapped line) and steps from there, in the new code
            if (t.remap is not None and t.remap_answer is None
                    and action in ("in", "over", "out") and t.remap.mapped_line is not None):
                t.remap_answer = t.remap.mapped_line
                remap_step = True
            if action != "continue":
                if action not in ("in", "over", "out"):
                    raise EngineError(f"unknown resume action {action!r}")
                top = t.frames[0] if t.frames else None
                if (top is None or not t.at_line) and action != "in" and not remap_step:
                    raise EngineError(
                        "this stop has no running frame to step in (post mortem); "
                        "use `go` to let the program finish"
                    )
                if t.step is None:
                    self._stepping += 1
                t.step = Step(action if top is not None else "in", top,
                              target if action == "in" and top is not None else None)
                if remap_step or (top is not None and t.at_line and action != "out"
                                  and self.enc.remap_policy == "auto"
                                  and self._is_stale(top)):
                    # an edit made the frame stale (applied at this very step, say): it moves
                    # to the new code at this line by itself, and the step goes on from there
                    t.step = Step(f"remap-{action}", None)
            self.inspection.forget_values()
            if all_threads or not self.stop_all:
                self._halt = False
                self._owner = None
                for other in self._threads.values():
                    if other.state != "running":
                        # Running from now on, for every later request, even before the
                        # thread itself wakes up.
                        other.state = "running"
                        other.release = True
                        other.solo = False
            else:
                t.state = "running"
                t.release = True
                t.solo = True
                self._owner = None
            self._cond.notify_all()
        self._backend.refresh()
        self._emit(Continued(thread_id, all_threads))

    def pause(self) -> bool:
        """Ask every program thread to stop at its next line. Returns False when the
        program is stopped already."""
        with self._cond:
            if any(t.state != "running" for t in self._threads.values()):
                return False
            self._pause_requested = True
            if self.stop_all:
                self._halt = True
        self._backend.refresh()
        return True

    def stop_on_entry(self) -> None:
        """Make the calling thread stop at its next line of user code (the program's
        first line, when called just before the program starts)."""
        ident = threading.get_ident()
        t = self._threads.get(ident) or self._register_thread(ident)
        with self._lock:
            if t.step is None:
                self._stepping += 1
            t.step = Step("entry", None)
        self._backend.refresh()

    def set_exception_mode(self, mode: ExceptionMode) -> None:
        self.exception_mode = mode
        self._backend.refresh()

    # ------------------------------------------------------------------ remap (EncHost)

    def offer_remap(self, opportunity: RemapOffer) -> int | None:
        """See :class:`relive.debugger.edits.EncHost`: hold the frame's thread, stopped with
        a remap opportunity, until the front end answers (:meth:`remap`) or continues."""
        ident = threading.get_ident()
        if ident in self._ignored or self.enc.remap_policy == "auto":
            return opportunity.mapped_line
        t = self._threads.get(ident) or self._register_thread(ident)
        if t.evaluating or t.busy:
            return None
        t.remap = opportunity
        t.remap_answer = None
        self._emit(
            RemapOpportunityEvent(
                thread_id=ident, function=opportunity.definition, path=opportunity.path,
                old_line=opportunity.old_line, mapped_line=opportunity.mapped_line,
                generation=opportunity.generation,
            )
        )
        t.busy = True
        try:
            self._stop(
                t, [opportunity.frame], StopReason.REMAP, [], at_line=False,
                description=_describe_remap(opportunity),
            )
            return t.remap_answer
        finally:
            t.busy = False
            t.remap = None
            t.remap_answer = None

    def remap_completed(self, result: RemapResult) -> None:
        """See :class:`relive.debugger.edits.EncHost`."""
        self._emit(
            RemapCompleteEvent(
                thread_id=result.thread_id, function=result.definition, path=result.path,
                line=result.line, remapped=result.remapped, message=result.message,
            )
        )

    def remap(self, thread_id: int, line: int | None = None) -> int:
        """Answer the remap opportunity of ``thread_id``: continue at ``line`` of the new
        code (default: the mapped line). The thread then stops again at its new line."""
        with self._cond:
            t = self._held(thread_id)
            opp = t.remap
            if opp is None:
                raise EngineError(
                    "no remap opportunity here; one is offered when a stale frame reaches its "
                    "next statement after `enc`"
                )
            answer = opp.mapped_line if line is None else line
            if answer is None:
                raise EngineError(
                    f"line {opp.old_line} has no counterpart in the new code; "
                    "give the line to continue at: `remap LINE`"
                )
            if opp.valid_lines and answer not in opp.valid_lines:
                raise EngineError(
                    f"line {answer} is not a statement of the new {opp.definition}; valid: "
                    + ", ".join(map(str, opp.valid_lines))
                )
            t.remap_answer = answer
        self.resume(thread_id, "in")
        return answer

    # ------------------------------------------------------------------ stepping

    def _is_stale(self, frame: FrameType) -> bool:
        status = self.enc.code_status(frame.f_code)
        return status is not None and status.stale

    def _steppable(self, frame: FrameType) -> bool:
        filename = frame.f_code.co_filename
        if is_internal(filename):
            return False
        return self.step_into_libraries or is_user_code(filename)

    def _step_done(self, step: Step, frame: FrameType) -> bool:
        if not self._steppable(frame):
            return False
        if step.kind == "in" and step.target is not None and step.frame is not None:
            code = frame.f_code
            return frame is step.frame or (
                frame.f_back is step.frame
                and runs_target(code.co_name, code.co_qualname, step.target))
        if step.kind in ("in", "entry"):
            return True
        return frame is step.frame and step.kind == "over"

# ---------------------------------------------------------------------- helpers


def _visible_stack(frames: list[FrameType]) -> list[FrameType]:
    """The frames a user sees, top first: one frame followed by its callers (down to
    where relive started the program), or the frames of a traceback."""
    if len(frames) == 1:
        out = []
        frame: FrameType | None = frames[0]
        while frame is not None and not is_internal(frame.f_code.co_filename):
            out.append(frame)
            frame = frame.f_back
        frames = out
    # a remapped frame stays under its continuation, delegating to it: not the user's
    return [f for f in frames if not _is_launch_frame(f) and not (
        f is not frames[0] and in_remap_machinery(f))]


_LAUNCHERS = ("runner.py", "__main__.py", "program.py", "supervised.py")


_HANDLER_OFFSETS: dict[int, tuple[CodeType, int | None]] = {}


def in_remap_machinery(frame: FrameType) -> bool:
    """Is ``frame`` in the remap handler or trailer of EnC code (see relive.runtime.enc)?"""
    code = frame.f_code
    if "__relive_v__" in code.co_varnames and frame.f_lineno == code.co_firstlineno:
        return True  # a continuation's prologue, restoring the frame's locals
    if "__relive_RemapSignal__" not in code.co_names:
        return False
    cached = _HANDLER_OFFSETS.get(id(code))
    if cached is None or cached[0] is not code:
        from relive.runtime.enc import remap_handler_offset

        cached = (code, remap_handler_offset(code))
        _HANDLER_OFFSETS[id(code)] = cached
    offset = cached[1]
    return offset is not None and frame.f_lasti >= offset


def _inside_relive(frame: FrameType) -> bool:
    """Whether relive's own code (other than the launcher at the bottom of the main
    thread) is among the callers of ``frame``."""
    caller = frame.f_back
    while caller is not None:
        filename = caller.f_code.co_filename
        if is_internal(filename) and not filename.endswith(_LAUNCHERS):
            return True
        caller = caller.f_back
    return False


def _is_launch_frame(frame: FrameType) -> bool:
    """relive's own frames and those of ``runpy`` that started the program (``-m``)."""
    filename = frame.f_code.co_filename
    return is_internal(filename) or filename.endswith(("runpy.py", "<frozen runpy>"))


def _traceback_frames(tb: TracebackType | None) -> list[FrameType]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    frames.reverse()
    return [f for f in frames if not is_internal(f.f_code.co_filename)]


def _describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _describe_stop(reason: StopReason, hit: Sequence[Breakpoint], stale: bool) -> str:
    if hit:
        ids = ", ".join(str(bp.id) for bp in hit)
        text = f"breakpoint {ids}"
        if all(bp.function for bp in hit):
            text = f"function breakpoint {ids} ({hit[0].function})"
    else:
        text = reason.value
    if stale:
        text += (
            " (in stale code: an applied edit replaced this function; "
            "new calls run the new code)"
        )
    return text


def _describe_remap(opp: RemapOffer) -> str:
    mapped = f"line {opp.mapped_line}" if opp.mapped_line is not None else "no exact line"
    return (
        f"remap opportunity: {opp.definition} is at line {opp.old_line} of the old code; "
        f"the new code continues at {mapped}"
    )


def _module_name_for(path: str) -> str:
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
        if isinstance(origin, str) and canonical(origin) == path:
            return name
    return ""


def _flush_program_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass




__all__ = ["Engine", "EngineError"]
