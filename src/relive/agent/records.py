"""What the program's process tells ``relive run`` about each apply: plain JSON records.

The process under ``relive run`` holds the live values (:class:`ApplyResult`, remap events);
the front end, in another process, prints lines and writes the events file from these records.
A record is a dict with a ``"t"`` (its type) and JSON values only; the front end reads it in
:mod:`relive.cli.report`.

- ``result``: one apply or refusal: ``module``, ``file``, ``generation``, ``applied``,
  ``describe`` (:meth:`ApplyResult.describe`), ``what`` (the same without the time),
  ``duration_ms``, ``updated``, ``inserted``, ``deleted``, ``replaced``, ``warnings``,
  ``stale`` (lines), ``errors``, ``edits``,
  ``rude_edits`` (``code``, ``kind``, ``severity``, ``line``, ``path``, ``message``) and
  ``source_errors`` (``kind``, ``line``, ``col``, ``message``);
- ``enc_fallback``: a module was loaded with some of its code compiled plainly (``file``,
  ``rude_edits`` as above, RL5002 each);
- ``remap``: a running frame moved or not (``what``, ``text`` and the frame's fields);
- ``handler_error``: an update handler raised (``handler``, ``error``, ``module``, ``file``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relive.delta import RudeEdit
from relive.runtime.enc import EncFallbackNotice
from relive.runtime.events import HandlerError, RuntimeEvent
from relive.runtime.remap.events import (
    LeftStale,
    RemapDeferred,
    RemapEvent,
    RemapOpportunity,
    Remapped,
    describe_event,
)
from relive.runtime.result import ApplyResult

Record = dict[str, Any]



def _rude_records(rude_edits: Iterable[RudeEdit]) -> list[Record]:
    return [{"code": r.code, "kind": r.kind.name.lower(), "severity": r.severity,
             "line": r.lineno, "path": r.path, "message": r.message} for r in rude_edits]


def result_record(result: ApplyResult) -> Record:
    delta = result.delta
    return {
        "t": "result", "module": result.module, "file": result.filename,
        "generation": result.generation, "applied": result.applied,
        "describe": result.describe(),
        "what": result.what() if result.applied else result.describe(),
        "duration_ms": round(result.duration_s * 1e3, 3),
        "updated": list(result.updated), "inserted": list(result.inserted),
        "deleted": list(result.deleted), "replaced": list(result.replaced),
        "warnings": [str(w) for w in result.warnings], "stale": [str(s) for s in result.stale],
        "errors": [str(e) for e in result.errors],
        "edits": [str(e) for e in delta.edits] if delta is not None else [],
        "rude_edits": _rude_records(result.rude_edits),
        "source_errors": [{"kind": e.kind, "line": e.lineno, "col": e.col,
                           "message": e.message}
                          for e in (delta.errors if delta is not None else ())],
    }


def remap_record(event: RemapEvent) -> Record:
    frame = event.frame
    record: Record = {"t": "remap", "what": "", "text": describe_event(event),
                      "path": frame.qualname, "file": frame.filename,
                      "thread": frame.thread_id, "kind": frame.kind}
    match event:
        case RemapOpportunity(line=line):
            record.update(what="opportunity", line=line)
        case RemapDeferred(line=line, reason=reason):
            record.update(what="deferred", line=line, reason=reason)
        case Remapped(old_line=old_line, new_line=new_line, restarted=restarted):
            record.update(what="remapped", old_line=old_line, new_line=new_line,
                          restarted=restarted)
        case LeftStale(line=line, reason=reason):
            record.update(what="stale", line=line, reason=reason)
    return record


def record(item: RuntimeEvent) -> Record:
    """The record for what an events observer hears."""
    match item:
        case ApplyResult():
            return result_record(item)
        case EncFallbackNotice():
            return {"t": "enc_fallback", "file": item.filename,
                    "rude_edits": _rude_records(item.rude_edits)}
        case HandlerError():
            return {"t": "handler_error", "handler": item.handler, "error": repr(item.error),
                    "module": item.result.module, "file": item.result.filename}
        case _:
            return remap_record(item)
