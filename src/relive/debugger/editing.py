"""Edit and Continue support, an object the engine holds: the edit service that applies saved
edits (see :mod:`relive.debugger.edits` for the seam), the remap policy, and what an applied
edit changes for the debugger (events, breakpoints following their lines).

Offering a remap holds the frame's thread: that is the engine's (:meth:`Engine.offer_remap`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import CodeType, FrameType

from relive.debugger.breakpoint_control import BreakpointControl
from relive.debugger.edits import CodeStatus, EditOutcome, EditService
from relive.debugger.held import EngineError
from relive.debugger.model import EditApplied, Event, Output, RudeEditReported
from relive.debugger.paths import canonical


class EditAndContinue:
    """The session's Edit and Continue: :attr:`service` (None when no edit service is
    loaded) and :attr:`remap_policy` (``"ask"`` the front end at each remap opportunity, or
    ``"auto"``: take the mapped line). ``stopped()`` says whether the program is stopped."""

    def __init__(self, emit: Callable[[Event], None], breakpoints: BreakpointControl,
                 stopped: Callable[[], bool]) -> None:
        self._emit = emit
        self._breakpoints = breakpoints
        self._stopped = stopped
        self.service: EditService | None = None
        self.remap_policy = "ask"

    def code_status(self, code: CodeType) -> CodeStatus | None:
        """What the edit service says of ``code`` (stale, its generation); None without a
        service, or when it cannot tell."""
        service = self.service
        if service is None:
            return None
        try:
            return service.code_status(code)
        except Exception:
            return None

    def running_source(self, code: CodeType) -> str | None:
        """The text ``code`` runs when it is not the file's (see
        :meth:`EditService.running_source`); None without a service or when unknown."""
        service = self.service
        if service is None:
            return None
        try:
            return service.running_source(code)
        except Exception:
            return None

    def remap_here(self, frame: FrameType) -> None:
        """A frame held at a line goes on: if an edit made its code stale meanwhile, its
        remap opportunity is this line (see :meth:`EditService.remap_here`)."""
        service = self.service
        status = self.code_status(frame.f_code)
        if service is not None and status is not None and status.stale:
            service.remap_here(frame)

    def apply(self, paths: Sequence[str] | None = None) -> EditOutcome:
        """Apply the edits saved on disk (``enc``). The program must be stopped, so that
        every thread is at a safe point. Moves breakpoints along the line moves."""
        service = self.service
        if service is None:
            raise EngineError(
                "Edit and Continue is not available in this session: no edit service is "
                "loaded; restart the program to run the edited code"
            )
        if not self._stopped():
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
                    duration_s=outcome.duration_s,
                    changes=_changes(outcome),
                )
            )
            try:
                self._breakpoints.follow_edit(outcome)
            except Exception as exc:  # the edit is in: say what did not follow it
                self._emit(Output("console", "the edit was applied, but breakpoints could"
                                  f" not follow it: {type(exc).__name__}: {exc}\n"))
        for note in outcome.notes:
            self._emit(Output("console", note + "\n"))
        return outcome


def _changes(outcome: EditOutcome) -> dict[str, list[str]]:
    """The definitions an apply changed, by kind of edit."""
    changes: dict[str, list[str]] = {}
    for edit in outcome.edits:
        changes.setdefault(edit.kind, []).append(edit.definition)
    return changes
