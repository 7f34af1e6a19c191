"""How the front ends show applies: one line each on stderr, and JSON lines for tools."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import IO, Any

from relive.display import display_path


def apply_lines(result: dict[str, Any], processes: int = 1,
                took_ms: float = 0.0) -> list[tuple[str, str]]:
    """(style, text) lines describing one apply (a ``result`` record of
    :mod:`relive.agent.records`): what changed, or why nothing did; applied in ``processes``
    processes, in ``took_ms`` from the first one's start to the last one's end."""
    where = display_path(result["file"])
    lines: list[tuple[str, str]] = []
    if result["applied"]:
        what = (result["describe"] if processes <= 1 else
                f"{result['what']} in {processes} processes ({took_ms:.1f} ms)")
        lines.append(("ok", f"{where}: {what}"))
        for r in result["rude_edits"]:
            lines.append(("warn", f"{where}:{r['line']}: {r['code']} warning: {r['message']}"))
        for w in result["warnings"]:
            lines.append(("warn", f"{where}: note: {w}"))
        for s in result["stale"]:
            lines.append(("warn", f"{where}: still running the old code: {s}"))
        return lines
    if result["source_errors"]:
        for e in result["source_errors"]:
            col = f":{e['col']}" if e["col"] else ""
            lines.append(("error", f"{where}:{e['line']}{col}: {e['kind']} error: "
                                   f"{e['message']}; nothing changed"))
        return lines
    errors = [r for r in result["rude_edits"] if r["severity"] == "error"]
    for r in errors:
        lines.append(("error", f"{where}:{r['line']}: {r['code']} error: {r['message']}"))
    if not errors:
        for reason in result["errors"]:
            lines.append(("error", f"{where}: not applied: {reason}"))
    else:
        lines.append(("error", f"{where}: not applied (restart to take this edit)"))
    return lines


def needs_restart(result: dict[str, Any]) -> bool:
    """A refusal that only a restart can take (an error rude edit), from a ``result`` record."""
    return not result["applied"] and any(r["severity"] == "error"
                                         for r in result["rude_edits"])


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

    # -- what the program's process tells (records of relive.agent.records) ----------------

    def __call__(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "result":
            self.result(record)
        elif kind == "notice":
            self.line("warn", f"{display_path(record['file'])}: {record['message']}")
            self.event("error", module=record["module"], file=record["file"],
                       errors=[record["message"]])
        elif kind == "enc_fallback":
            where = display_path(record["file"])
            for r in record["rude_edits"]:
                self.line("warn", f"{where}:{r['line']}: {r['code']} warning: {r['message']}")
                self.event("rude_edit", file=record["file"], code=r["code"], kind=r["kind"],
                           severity=r["severity"], line=r["line"], path=r["path"],
                           message=r["message"], applied=True, at="import")
        elif kind == "remap":
            self.remap(record)
        elif kind == "handler_error":
            text = f"update handler {record['handler']} raised {record['error']}"
            self.line("warn", text)
            self.event("error", module=record["module"], file=record["file"], errors=[text])

    def remap(self, record: dict[str, Any]) -> None:
        what = record["what"]
        if what != "opportunity":
            self.line("warn" if what in ("stale", "deferred") else "info", record["text"])
        fields = {k: v for k, v in record.items() if k not in ("t", "text")}
        self.event("remap", **fields)

    def result(self, result: dict[str, Any], pid: int | None = None, show: bool = True,
               processes: int = 1, took_ms: float = 0.0) -> None:
        """Print the lines of ``result`` (``show``), and write its events (with ``pid``, the
        process it is from, when there is one)."""
        if show:
            for style, text in apply_lines(result, processes, took_ms):
                self.line(style, text)
        base = {"module": result["module"], "file": result["file"],
                "generation": result["generation"],
                **({} if pid is None else {"pid": pid})}
        for r in result["rude_edits"]:
            self.event("rude_edit", **base, code=r["code"], kind=r["kind"],
                       severity=r["severity"], line=r["line"], path=r["path"],
                       message=r["message"], applied=result["applied"])
        if result["applied"]:
            self.event("applied", **base, duration_ms=result["duration_ms"],
                       updated=result["updated"], inserted=result["inserted"],
                       deleted=result["deleted"], replaced=result["replaced"],
                       edits=result["edits"], warnings=result["warnings"],
                       stale=result["stale"])
        elif not any(r["severity"] == "error" for r in result["rude_edits"]):
            self.event("error", **base, errors=result["errors"],
                       source_errors=result["source_errors"])
