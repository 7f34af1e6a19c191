"""How the front ends show applies: one line each on stderr, and JSON lines for tools."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import IO, Any

from relive.runtime.enc_safety import EncFallbackNotice
from relive.runtime.events import HandlerError
from relive.runtime.result import ApplyResult
from relive.runtime.watch import FileNotice


def _is_remap_event(item: object) -> bool:
    return type(item).__module__ == "relive.runtime.remap_events"


def _short(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def apply_lines(result: ApplyResult) -> list[tuple[str, str]]:
    """(style, text) lines describing one apply: what changed, or why nothing did."""
    where = _short(result.filename)
    lines: list[tuple[str, str]] = []
    delta = result.delta
    if result.applied:
        lines.append(("ok", f"{where}: {result.describe()}"))
        for r in result.rude_edits:
            lines.append(("warn", f"{where}:{r.lineno}: {r.code} warning: {r.message}"))
        for w in result.warnings:
            lines.append(("warn", f"{where}: note: {w}"))
        for s in result.stale:
            lines.append(("warn", f"{where}: still running the old code: {s}"))
        return lines
    if delta is not None and delta.errors:
        for e in delta.errors:
            col = f":{e.col}" if e.col else ""
            lines.append(("error", f"{where}:{e.lineno}{col}: {e.kind} error: {e.message}; "
                                   f"nothing changed"))
        return lines
    errors = [r for r in result.rude_edits if r.is_error]
    for r in errors:
        lines.append(("error", f"{where}:{r.lineno}: {r.code} error: {r.message}"))
    if not errors:
        for reason in result.errors:
            lines.append(("error", f"{where}: not applied: {reason}"))
    else:
        lines.append(("error", f"{where}: not applied (restart to take this edit)"))
    return lines


class Reporter:
    """Prints apply lines to stderr (coloured on a terminal) and writes the events file."""

    STYLES = {"ok": "green", "warn": "yellow", "error": "bold red", "info": "cyan"}

    def __init__(self, events_path: str | None = None, quiet: bool = False,
                 stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()
        self._events: IO[str] | None = None
        if events_path:
            self._events = open(events_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._console: Any = None
        if self.stream.isatty() and os.environ.get("NO_COLOR") is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=True)

    def line(self, style: str, text: str) -> None:
        if self.quiet and style == "ok":
            return
        with self._lock:
            if self._console is not None:
                self._console.print(f"[{self.STYLES[style]}]relive:[/] {text}", markup=True)
            else:
                self.stream.write(f"relive: {text}\n")
                self.stream.flush()

    def event(self, kind: str, /, **fields: Any) -> None:
        if self._events is None:
            return
        record = {"event": kind, "time": time.time(), **fields}
        with self._lock:
            self._events.write(json.dumps(record, default=str) + "\n")
            self._events.flush()

    def close(self) -> None:
        if self._events is not None:
            self._events.close()
            self._events = None

    # -- what the runtime tells ---------------------------------------------------------

    def __call__(self, item: object) -> None:
        if isinstance(item, ApplyResult):
            self.result(item)
        elif isinstance(item, FileNotice):
            self.line("warn", f"{_short(item.filename)}: {item.message}")
            self.event("error", module=item.module, file=item.filename, errors=[item.message])
        elif isinstance(item, EncFallbackNotice):
            where = _short(item.filename)
            for r in item.rude_edits:
                self.line("warn", f"{where}:{r.lineno}: {r.code} warning: {r.message}")
                self.event("rude_edit", file=item.filename, code=r.code,
                           kind=r.kind.name.lower(), severity=r.severity, line=r.lineno,
                           path=r.path, message=r.message, applied=True, at="import")
        elif _is_remap_event(item):
            self.remap(item)
        elif isinstance(item, HandlerError):
            self.line("warn", f"update handler {item.handler} raised {item.error!r}")
            self.event("error", module=item.result.module, file=item.result.filename,
                       errors=[f"update handler {item.handler} raised {item.error!r}"])

    def remap(self, event: object) -> None:
        from relive.runtime.remap import describe_event

        kind = type(event).__name__
        what = {"RemapOpportunity": "opportunity", "RemapDeferred": "deferred",
                "Remapped": "remapped", "LeftStale": "stale"}.get(kind, kind.lower())
        if what != "opportunity":
            self.line("warn" if what in ("stale", "deferred") else "info",
                      describe_event(event))  # type: ignore[arg-type]
        frame = getattr(event, "frame", None)
        fields: dict[str, Any] = {"what": what}
        if frame is not None:
            fields.update(path=getattr(frame, "qualname", ""),
                          file=getattr(frame, "filename", ""),
                          thread=getattr(frame, "thread_id", None),
                          kind=getattr(frame, "kind", None))
        for name in ("line", "old_line", "new_line", "reason", "restarted"):
            if hasattr(event, name):
                fields[name] = getattr(event, name)
        self.event("remap", **fields)

    def result(self, result: ApplyResult) -> None:
        for style, text in apply_lines(result):
            self.line(style, text)
        base = {"module": result.module, "file": result.filename,
                "generation": result.generation}
        for r in result.rude_edits:
            self.event("rude_edit", **base, code=r.code, kind=r.kind.name.lower(),
                       severity=r.severity, line=r.lineno, path=r.path, message=r.message,
                       applied=result.applied)
        if result.applied:
            delta = result.delta
            self.event("applied", **base, duration_ms=round(result.duration_s * 1e3, 3),
                       updated=list(result.updated), inserted=list(result.inserted),
                       deleted=list(result.deleted), replaced=list(result.replaced),
                       edits=[str(e) for e in delta.edits] if delta else [],
                       warnings=list(result.warnings), stale=[str(s) for s in result.stale])
        elif not any(r.is_error for r in result.rude_edits):
            errors = list(result.errors)
            self.event("error", **base, errors=errors,
                       source_errors=[{"kind": e.kind, "line": e.lineno, "col": e.col,
                                       "message": e.message}
                                      for e in (result.delta.errors if result.delta else ())])
