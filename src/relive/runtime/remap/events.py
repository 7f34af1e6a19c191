"""The values the remapper takes and gives: items to remap, frames, and events.

They are frozen and hold no live object (frames are named, not referenced), so that they can
be kept, logged, or sent to another process by the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Literal

from relive.runtime.enc import FunctionKind

__all__ = [
    "EventSink",
    "FrameInfo",
    "LeftStale",
    "RemapDeferred",
    "RemapEvent",
    "RemapItem",
    "RemapOpportunity",
    "RemapPolicy",
    "Remapped",
    "describe_event",
]

RemapPolicy = Literal["next-statement", "restart", "stale"]


@dataclass(frozen=True)
class RemapItem:
    """One updated function, as the runtime knows it after installing the new code."""

    old_code: CodeType
    new_code: CodeType  # EnC-compiled from new_unit; the live function(s) now hold it
    old_unit: str  # source that compiles old_code at its real lines and nesting
    new_unit: str  # source that compiles new_code at its real lines and nesting
    line_map: Mapping[int, int | None]  # old line -> new line (None: deleted)
    # a debugger's chooser is asked where the frame goes; not for code that only moved,
    # where the new code is the old one at other lines and there is nothing to choose
    ask: bool = True


@dataclass(frozen=True)
class FrameInfo:
    """Names a frame in events without keeping it alive."""

    qualname: str
    filename: str
    frame_id: int
    thread_id: int | None  # None: a suspended generator or coroutine
    kind: FunctionKind


@dataclass(frozen=True)
class RemapOpportunity:
    """The frame reached its first statement boundary since the schedule."""

    frame: FrameInfo
    line: int


@dataclass(frozen=True)
class RemapDeferred:
    """The frame is at a statement boundary but cannot move there; it waits for the next."""

    frame: FrameInfo
    line: int
    reason: str


@dataclass(frozen=True)
class Remapped:
    """The frame now runs the new version: ``old_line`` is continued at ``new_line``."""

    frame: FrameInfo
    old_line: int
    new_line: int
    restarted: bool = False


@dataclass(frozen=True)
class LeftStale:
    """The frame keeps (or kept, until it finished) running the old version."""

    frame: FrameInfo
    line: int | None
    reason: str


RemapEvent = RemapOpportunity | RemapDeferred | Remapped | LeftStale
EventSink = Callable[[RemapEvent], None]


def describe_event(event: RemapEvent) -> str:
    """One line for people, e.g. ``main (app.py): remapped, line 12 -> line 13``. The front
    ends decide whether and how to show it; this layer never prints."""
    frame = event.frame
    where = f"{frame.qualname} ({frame.filename})"
    if isinstance(event, Remapped):
        how = "restarted" if event.restarted else "remapped"
        return f"{where}: {how}, line {event.old_line} -> line {event.new_line}"
    if isinstance(event, RemapDeferred):
        return f"{where}: waiting at line {event.line}: {event.reason}"
    if isinstance(event, LeftStale):
        at = f" at line {event.line}" if event.line is not None else ""
        return f"{where}: left on the old code{at}: {event.reason}"
    return f"{where}: remap opportunity at line {event.line}"
