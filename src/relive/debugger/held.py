"""The engine's per-thread records: a thread's state, its step, the jobs handed to it."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from relive.debugger.edits import RemapOffer


class EngineError(RuntimeError):
    """A control request the engine cannot carry out now; the message says why and what
    to do instead."""


@dataclass
class Step:
    kind: str  # "in", "over", "out", or "entry" (like "in", reported as the entry stop);
    # "remap-in" etc.: the step asked for at a remap opportunity, from the moved frame's line
    frame: FrameType | None  # the frame the step is about (None: any user frame will do)
    # "in" to one callee of ``frame`` only (its function's name, see debugger.calls): the
    # step stops there, or back in ``frame`` if the call does not happen
    target: str | None = None


@dataclass(eq=False)
class Job:
    """Work for a held thread. ``state``: waiting → running → done."""

    fn: Callable[[], Any]
    state: str = "waiting"
    result: Any = None
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class HeldThread:
    """What the engine knows of one program thread. Changed under the engine's lock."""

    ident: int
    name: str
    daemon: bool = False
    state: str = "running"  # running | stopped | parked
    frames: list[FrameType] = field(default_factory=list)
    at_line: bool = False  # held at a line event (jump is possible)
    step: Step | None = None
    release: bool = False
    solo: bool = False
    evaluating: bool = False
    busy: bool = False  # in the engine outside an event callback: its events are ignored
    jobs: deque[Job] = field(default_factory=deque)
    interrupt: BaseException | None = None
    remap: RemapOffer | None = None
    remap_answer: int | None = None
