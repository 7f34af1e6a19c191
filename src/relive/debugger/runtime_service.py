"""The edit service of a debugging session, backed by relive's runtime.

``enc`` applies the files saved on disk with :func:`relive.runtime.reload`, turns each
:class:`~relive.runtime.ApplyResult` into the :class:`~relive.debugger.edits.EditOutcome`
the engine shows and moves breakpoints by, and lets the engine's user choose where each stale
frame continues: the remap machinery asks this service at the frame's remap opportunity, on the
frame's own thread, and the service asks the engine (:meth:`EncHost.offer_remap`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, FrameType
from typing import Literal

from relive.debugger.edits import (
    CodeStatus,
    EditOutcome,
    EditSummary,
    EncHost,
    RemapOffer,
    RemapResult,
    RudeEditInfo,
)
from relive.display import display_path
from relive.runtime import REGISTRY, events, reload
from relive.runtime.events import HandlerError, RuntimeEvent
from relive.runtime.remap import schedule, tracker
from relive.runtime.remap.events import LeftStale, RemapDeferred, Remapped
from relive.runtime.result import ApplyResult


class RuntimeEditService:
    """:class:`relive.debugger.edits.EditService` over relive's runtime."""

    def __init__(self) -> None:
        self.host: EncHost | None = None
        self._offered: dict[int, RemapOffer] = {}  # frame id -> what was asked
        self._lock = threading.Lock()
        self._unsubscribe = events.observe(self._on_event)

    # -- EditService ------------------------------------------------------------------

    def attach(self, host: EncHost | None) -> None:
        self.host = host
        schedule.set_chooser(self._choose if host is not None else None)

    def pending_paths(self) -> Sequence[str]:
        out = []
        for tracked in REGISTRY:
            try:
                current = Path(tracked.filename).read_bytes()
            except OSError:
                continue
            if tracked.source_bytes is not None and current != tracked.source_bytes:
                out.append(tracked.filename)
        return out

    def apply_saved_edits(self, paths: Sequence[str] | None = None) -> EditOutcome:
        targets = list(paths) if paths is not None else list(self.pending_paths())
        if not targets:
            return EditOutcome(False, "no saved edits to apply: every file is as it runs")
        results: list[ApplyResult] = []
        messages: list[str] = []
        notes: list[str] = []

        def note(event: RuntimeEvent) -> None:
            if isinstance(event, HandlerError):
                notes.append(f"{display_path(event.result.filename)}: the edit was applied, then"
                             f" update handler {event.handler} raised {event.error!r}")

        unsubscribe = events.observe(note)
        try:
            self._apply(targets, results, messages)
        finally:
            unsubscribe()
        for r in results:  # frames that will never move to the new code
            notes += [f"{display_path(r.filename)}: still running the old code: {s}"
                      for s in r.stale if s.reason]
        return _outcome(results, messages, tuple(notes))

    def _apply(self, targets: list[str], results: list[ApplyResult],
               messages: list[str]) -> None:
        for path in targets:
            tracked = REGISTRY.by_file(path)
            if tracked is None:
                messages.append(f"{path}: not a module of this program (or not imported yet)")
                continue
            result = reload(tracked.module)
            results.append(result)
            if not result.applied:
                messages.append(f"{display_path(path)}: {result.describe()}")

    def code_status(self, code: CodeType) -> CodeStatus | None:
        tracked = REGISTRY.by_file(code.co_filename)
        if tracked is None:
            return None
        return CodeStatus(tracked.generation, tracked.is_replaced(code))

    def running_source(self, code: CodeType) -> str | None:
        status = self.code_status(code)
        return tracker.running_source(code) if status is not None and status.stale else None

    def remap_here(self, frame: FrameType) -> None:
        tracker.remap_here(frame)

    # -- remap opportunities -------------------------------------------------------------

    def _choose(self, frame: FrameType, old_line: int, mapped: int,
                valid: tuple[int, ...]) -> int | None:
        host = self.host
        if host is None:
            return mapped
        tracked = REGISTRY.by_file(frame.f_code.co_filename)
        opportunity = RemapOffer(
            frame=frame, definition=frame.f_code.co_qualname, path=frame.f_code.co_filename,
            old_line=old_line, mapped_line=mapped,
            generation=tracked.generation if tracked is not None else 0, valid_lines=valid)
        with self._lock:
            self._offered[id(frame)] = opportunity
        answer = host.offer_remap(opportunity)
        if answer is None:
            with self._lock:
                self._offered.pop(id(frame), None)
            host.remap_completed(RemapResult(
                threading.get_ident(), opportunity.definition, opportunity.path, None, False,
                "kept the old code"))
        return answer

    def _on_event(self, event: RuntimeEvent) -> None:
        host = self.host
        if host is None or not isinstance(event, (Remapped, RemapDeferred, LeftStale)):
            return
        with self._lock:
            opportunity = self._offered.pop(event.frame.frame_id, None)
        if opportunity is None:
            return
        match event:
            case Remapped(new_line=new_line):
                host.remap_completed(RemapResult(
                    threading.get_ident(), opportunity.definition, opportunity.path, new_line,
                    True, "now running the new code"))
            case RemapDeferred(reason=reason) | LeftStale(reason=reason):
                host.remap_completed(RemapResult(
                    threading.get_ident(), opportunity.definition, opportunity.path, None,
                    False, f"not moved: {reason}"))


def _outcome(results: list[ApplyResult], messages: list[str],
             notes: tuple[str, ...] = ()) -> EditOutcome:
    applied = [r for r in results if r.applied]
    edits: list[EditSummary] = []
    rude: list[RudeEditInfo] = []
    moves: dict[str, dict[int, int | None]] = {}
    new_code: list[CodeType] = []
    for r in results:
        for info in r.rude_edits:
            severity: Literal["error", "warning"] = "error" if info.is_error else "warning"
            rude.append(RudeEditInfo(info.code, severity, info.message, r.filename,
                                     info.lineno))
        if not r.applied or r.delta is None:
            continue
        delta = r.delta
        for e in delta.edits:
            edits.append(EditSummary(r.filename, e.kind, e.path, e.old_span, e.new_span))
        if delta.changed is not None and delta.next_baseline is not None:
            first, old_last, new_last = delta.changed
            old_total = len(delta.next_baseline.lines) - (new_last - old_last)
            moved = {line: delta.map_line(line) for line in range(first, old_total + 1)}
            moves[r.filename] = {k: v for k, v in moved.items() if v != k}
        codes = r.new_code
        if isinstance(codes, tuple):
            new_code.extend(c for c in codes if isinstance(c, CodeType))
    summary = "; ".join(f"{display_path(r.filename)}: {r.describe()}" for r in applied)
    return EditOutcome(
        applied=bool(applied), message="; ".join(filter(None, [summary, *messages])),
        files=tuple(r.filename for r in applied), edits=tuple(edits), rude_edits=tuple(rude),
        line_moves=moves, new_code=tuple(new_code),
        generation={r.filename: r.generation for r in applied},
        duration_s=sum(r.duration_s for r in results), notes=notes)


def make_edit_service() -> RuntimeEditService:
    return RuntimeEditService()
