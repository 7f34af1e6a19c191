"""Edit and Continue support, an object the engine holds: the edit service that applies saved
edits (see :mod:`relive.debugger.edits` for the seam), the remap policy, and what an applied
edit changes for the debugger (events, breakpoints following their lines).

Offering a remap holds the frame's thread: that is the engine's (:meth:`Engine.offer_remap`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import CodeType

from relive.debugger.breakpoint_control import BreakpointControl
from relive.debugger.edits import CodeStatus, EditOutcome, EditService
from relive.debugger.held import EngineError
from relive.debugger.model import EditApplied, Event, RudeEditReported
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
                )
            )
            self._breakpoints.follow_edit(outcome)
        return outcome
