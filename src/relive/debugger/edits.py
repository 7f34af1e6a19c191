"""The seam between the debugger and the Edit and Continue runtime.

The debugger does not apply edits itself. It talks to an **edit service** (implemented by
the runtime) through :class:`EditService`, and the runtime talks back to the debugger
through :class:`EncHost` (implemented by :class:`relive.debugger.engine.Engine`):

- ``enc [FILE]`` → :meth:`EditService.apply_saved_edits` → an :class:`EditOutcome`: what
  was applied, the rude edits, and per file the line moves (old line → new line, or None
  where the line's code is gone). The engine moves breakpoints along the line moves and
  emits ``edit applied`` and ``rude edit`` events.
- When a stale frame reaches a statement boundary where it could move to the new code, the
  runtime calls :meth:`EncHost.offer_remap` *on that frame's thread*. (A frame that was
  stopped at a line when the edit was applied is at such a boundary already: the engine
  asks for its opportunity there as it goes on, :meth:`EditService.remap_here`.) The
  engine stops the thread (reason ``remap opportunity``), the user answers with ``remap
  [LINE]`` or a step (declines by continuing), and ``offer_remap`` returns the chosen line
  of the new code, or None to stay on the old code. The runtime then moves the frame and
  reports with :meth:`EncHost.remap_completed`.

Everything crossing the seam is a frozen dataclass of plain values (apart from the code
objects and frames the in-process parties share), so the same records go on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Literal, Protocol


@dataclass(frozen=True)
class RudeEditInfo:
    """One rude edit: a stable code (``RLnnnn``), its severity, a one-line message, where."""

    code: str
    severity: Literal["error", "warning"]
    message: str
    path: str
    line: int


@dataclass(frozen=True)
class EditSummary:
    """One semantic edit as the user reads it (``update Cart.total``)."""

    path: str
    kind: str  # update, insert, delete, replace, line_shift
    definition: str
    old_lines: tuple[int, int] | None = None
    new_lines: tuple[int, int] | None = None

    def describe(self) -> str:
        return f"{self.kind} {self.definition}"


@dataclass(frozen=True)
class EditOutcome:
    """What one ``enc`` did.

    ``applied`` is False when nothing changed in the process (an ``error`` rude edit, a
    syntax error: ``message`` says which). ``line_moves`` maps a file (absolute path) to
    its moved lines: old line → new line, or None where the old line's code was deleted.
    ``new_code`` lists code objects the apply put into service (so the debugger can set
    breakpoints in them); ``generation`` is the new generation per file.
    """

    applied: bool
    message: str = ""
    files: tuple[str, ...] = ()
    edits: tuple[EditSummary, ...] = ()
    rude_edits: tuple[RudeEditInfo, ...] = ()
    line_moves: Mapping[str, Mapping[int, int | None]] = field(default_factory=dict)
    new_code: tuple[CodeType, ...] = ()
    generation: Mapping[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    # what failed after the edit was applied (an update handler that raised): reported as
    # what it is, next to the success, never as if the apply had failed
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeStatus:
    """What the runtime knows of a code object: its generation, and whether an applied
    edit replaced it (a frame running it is *stale*)."""

    generation: int
    stale: bool


@dataclass(frozen=True)
class RemapOffer:
    """A stale frame at a statement boundary, able to move to the new code.

    ``old_line`` is where the frame is in the old code, ``mapped_line`` the line of the new
    code that corresponds (None when there is no exact correspondence; the user must then
    choose). ``valid_lines`` are the lines of the new code the runtime can move the frame to.
    """

    frame: FrameType
    definition: str
    path: str
    old_line: int
    mapped_line: int | None
    generation: int
    valid_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class RemapResult:
    """How a remap ended: ``remapped`` with the frame now at ``line`` of the new code, or
    not (``message`` says why; the frame goes on in the old code)."""

    thread_id: int
    definition: str
    path: str
    line: int | None
    remapped: bool
    message: str = ""


class EncHost(Protocol):
    """The debugger, as the runtime sees it (implemented by the engine)."""

    def offer_remap(self, opportunity: RemapOffer) -> int | None:
        """Ask the user where the stale frame should continue. Called on the frame's own
        thread at a statement boundary; blocks until the user answers. Returns a line of the
        new code, or None to leave the frame on the old code."""

    def remap_completed(self, result: RemapResult) -> None:
        """Report the end of a remap that :meth:`offer_remap` answered."""


class EditService(Protocol):
    """The Edit and Continue runtime, as the debugger sees it."""

    def attach(self, host: EncHost | None) -> None:
        """Give the runtime the debugger to offer remap opportunities to (None: detach;
        the runtime then decides alone, e.g. always the mapped line)."""

    def pending_paths(self) -> Sequence[str]:
        """Files whose text on disk differs from what the process runs (edits not applied)."""

    def apply_saved_edits(self, paths: Sequence[str] | None = None) -> EditOutcome:
        """Apply what is saved on disk for ``paths`` (None: every pending file). Called
        while the program is stopped (all threads at safe points), from the agent's thread."""

    def code_status(self, code: CodeType) -> CodeStatus | None:
        """The generation and staleness of ``code``; None for code the runtime does not
        manage."""

    def running_source(self, code: CodeType) -> str | None:
        """The source text ``code`` was compiled from, at its real lines, when that is not
        the file's text on disk (the old code of a frame an edit left stale); None when the
        file's text is it, or when it is not known."""

    def remap_here(self, frame: FrameType) -> None:
        """``frame`` was held at a line (a breakpoint, a step) while an edit made its code
        stale, and goes on now: offer its remap opportunity at this line, before it runs the
        old statement (:meth:`EncHost.offer_remap`, on this thread). May raise the
        runtime's remap signal into the frame: the caller lets it propagate."""
