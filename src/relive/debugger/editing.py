"""The engine's side of Edit and Continue: applying saved edits through the edit service,
moving breakpoints along the line moves, and remap opportunities (see
:mod:`relive.debugger.edits` for the seam)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from relive.debugger.breakpoints import Breakpoint, BreakpointTable, CodeIndex
from relive.debugger.edits import (
    CodeStatus,
    EditOutcome,
    EditService,
    RemapOffer,
    RemapResult,
)
from relive.debugger.held import EngineError, HeldThread
from relive.debugger.model import (
    BreakpointChanged,
    EditApplied,
    Event,
    RemapCompleteEvent,
    RemapOpportunityEvent,
    RudeEditReported,
    StopReason,
)
from relive.debugger.paths import canonical

if TYPE_CHECKING:
    from relive.debugger.backends.base import Backend


class EditAndContinueMixin:
    """Part of :class:`relive.debugger.engine.Engine`."""

    if TYPE_CHECKING:
        _lock: threading.RLock
        _cond: threading.Condition
        _emit: Callable[[Event], None]
        _backend: Backend
        _threads: dict[int, HeldThread]
        _ignored: set[int]
        breakpoints: BreakpointTable
        index: CodeIndex
        edit_service: EditService | None
        remap_policy: str

        def _rebuild_bp_codes(self) -> None: ...
        def _register_thread(self, ident: int) -> HeldThread: ...
        def _held(self, thread_id: int) -> HeldThread: ...
        def stopped_thread(self) -> int | None: ...
        def resume(self, thread_id: int, action: str = ..., all_threads: bool = ...) -> None: ...
        def _stop(
            self, t: HeldThread, frames: list[FrameType], reason: StopReason,
            hit: Sequence[Breakpoint], *, at_line: bool = ..., exception: str | None = ...,
            uncaught: bool = ..., description: str = ...,
        ) -> None: ...

    # ------------------------------------------------------------------ edit and continue

    def _code_status(self, code: CodeType) -> CodeStatus | None:
        service = self.edit_service
        if service is None:
            return None
        try:
            return service.code_status(code)
        except Exception:
            return None

    def apply_edits(self, paths: Sequence[str] | None = None) -> EditOutcome:
        """Apply the edits saved on disk (``enc``). The program must be stopped, so that
        every thread is at a safe point. Moves breakpoints along the line moves."""
        service = self.edit_service
        if service is None:
            raise EngineError(
                "Edit and Continue is not available in this session: no edit service is "
                "loaded; restart the program to run the edited code"
            )
        if self.stopped_thread() is None:
            raise EngineError("apply edits while the program is stopped (pause it first)")
        wanted = None if paths is None else [canonical(p) for p in paths]
        outcome = service.apply_saved_edits(wanted)
        for rude in outcome.rude_edits:
            self._emit(
                RudeEditReported(rude.code, rude.severity, rude.message, rude.path, rude.line)
            )
        if outcome.applied:
            generations = set(outcome.generation.values())
            self._emit(
                EditApplied(
                    files=outcome.files,
                    summary=tuple(e.describe() for e in outcome.edits),
                    generation=max(generations) if generations else None,
                )
            )
            self._after_apply(outcome)
        return outcome

    def _after_apply(self, outcome: EditOutcome) -> None:
        with self._lock:
            for code in outcome.new_code:
                self.index.add_tree(code)
            import gc

            edited = {canonical(p) for p in outcome.files}
            for obj in gc.get_objects():
                found = getattr(obj, "__code__", None)
                if isinstance(found, CodeType) and canonical(found.co_filename) in edited:
                    self.index.add_tree(found)
            moved: list[Breakpoint] = []
            for path, moves in outcome.line_moves.items():
                path = canonical(path)
                for bp in [b for b in self.breakpoints if b.path == path]:
                    if bp.line not in moves:
                        continue
                    new_line = moves[bp.line]
                    if new_line is None:
                        bp.message = f"the code at line {bp.line} was deleted by the edit"
                        bp.enabled = False
                    elif new_line != bp.line:
                        old = bp.line
                        self.breakpoints.move(bp, new_line, f"moved from line {old} by the edit")
                    moved.append(bp)
            self._rebuild_bp_codes()
        for bp in moved:
            self._emit(BreakpointChanged(bp.info(), "edit"))
        self._backend.refresh()

    # EncHost -------------------------------------------------------------

    def offer_remap(self, opportunity: RemapOffer) -> int | None:
        """See :class:`relive.debugger.edits.EncHost`."""
        ident = threading.get_ident()
        if ident in self._ignored or self.remap_policy == "auto":
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


def _describe_remap(opp: RemapOffer) -> str:
    mapped = f"line {opp.mapped_line}" if opp.mapped_line is not None else "no exact line"
    return (
        f"remap opportunity: {opp.definition} is at line {opp.old_line} of the old code; "
        f"the new code continues at {mapped}"
    )
