"""Values the engine hands out: breakpoints, stops, threads, frames, variables, events.

Every value here is a frozen dataclass made only of plain data (str, int, bool, tuples), so
the agent can turn it into JSON without knowing the engine, and a front end can keep it
after the program has moved on. Live objects (frames, values being inspected) never leave
the engine; they are named by small integers that are valid until the program resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class StopReason(StrEnum):
    """Why a thread stopped. The string values are part of the wire protocol."""

    ENTRY = "entry"
    BREAKPOINT = "breakpoint"
    FUNCTION_BREAKPOINT = "function breakpoint"
    STEP = "step"
    PAUSE = "pause"
    EXCEPTION = "exception"
    REMAP = "remap opportunity"


class ExceptionMode(StrEnum):
    """When an exception stops the program (``catch`` in the CLI)."""

    OFF = "off"
    RAISED = "raised"  # every raise, anywhere
    USER = "user"  # raised in user code (not the standard library, not site-packages)
    UNCAUGHT = "uncaught"  # nothing handled it: stop before the thread dies


StepKind = Literal["in", "over", "out"]


@dataclass(frozen=True)
class BreakpointInfo:
    """A breakpoint as the engine holds it.

    ``line`` is where it is bound (the line that has code); ``requested_line`` is what the
    user asked for. They differ when the requested line has no code: the engine moves the
    breakpoint to the next line that has some and ``message`` says so. ``verified`` is
    false while the file is not loaded yet (the breakpoint is pending and binds when the
    module's code is first seen).
    """

    id: int
    path: str
    line: int
    requested_line: int
    verified: bool
    enabled: bool = True
    condition: str | None = None
    hit_condition: int = 0  # stop only once the breakpoint was hit more than this many times
    log_message: str | None = None  # a log point prints this and does not stop
    temporary: bool = False
    function: str | None = None  # set for function breakpoints
    hits: int = 0
    message: str | None = None


@dataclass(frozen=True)
class StackFrame:
    """One frame of a stopped thread, top of the stack first (``index`` 0).

    ``kind`` is ``function``, ``generator``, ``coroutine``, ``async generator`` or
    ``module``. ``link`` says how this frame relates to the frame above it: ``call`` for
    an ordinary call, ``await`` when this frame awaits the coroutine above it, ``resume``
    when it resumed the generator above it (``next()``, a ``for`` loop, ``send``).
    The outermost coroutine of an asyncio task names its ``task``, and ``awaited_by`` says
    where the tasks waiting for it are (``main at app.py:12``).
    """

    index: int
    name: str
    path: str
    line: int
    kind: str
    link: str
    stale: bool = False
    generation: int | None = None
    task: str | None = None
    awaited_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThreadInfo:
    """A Python thread. ``state`` is ``stopped`` (the thread that reported the stop),
    ``parked`` (held at a safe point because another thread stopped), or ``running``
    (in native code or not yet at a safe point)."""

    id: int
    name: str
    state: str
    daemon: bool
    line: int | None = None
    path: str | None = None


@dataclass(frozen=True)
class Variable:
    """A name and the display of its value. ``ref`` is non-zero when the value has
    children (attributes, items) that :meth:`Engine.children` can list."""

    name: str
    value: str
    type: str
    ref: int = 0


@dataclass(frozen=True)
class EvalResult:
    """The outcome of evaluating or executing text in a frame.

    An exception raised by the text is reported here (``error`` holds its one-line
    description and ``traceback`` the formatted lines below the evaluation) and is never
    raised into the program. ``timed_out`` means the evaluation was aborted; the program
    is left as the evaluation left it at that moment.
    """

    ok: bool
    value: str = ""
    type: str = ""
    ref: int = 0
    error: str | None = None
    traceback: tuple[str, ...] = ()
    timed_out: bool = False


@dataclass(frozen=True)
class JumpCheck:
    """Whether ``jump LINE`` may move the top frame, with CPython's reason when not."""

    allowed: bool
    line: int
    reason: str = ""


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """Base of everything the engine reports. ``name`` is the event's wire name."""

    name = "event"


@dataclass(frozen=True)
class Stopped(Event):
    name = "stopped"
    reason: StopReason
    thread_id: int
    path: str
    line: int
    function: str
    breakpoint_ids: tuple[int, ...] = ()
    description: str = ""
    exception: str | None = None  # type and message, for exception stops
    stale: bool = False  # the frame runs code that an applied edit replaced
    all_threads_stopped: bool = True


@dataclass(frozen=True)
class Continued(Event):
    name = "continued"
    thread_id: int
    all_threads: bool = True


@dataclass(frozen=True)
class ThreadStarted(Event):
    name = "thread started"
    thread_id: int
    thread_name: str


@dataclass(frozen=True)
class ThreadExited(Event):
    name = "thread exited"
    thread_id: int
    thread_name: str


@dataclass(frozen=True)
class ModuleLoaded(Event):
    name = "module loaded"
    module: str
    path: str


@dataclass(frozen=True)
class Output(Event):
    """Text for the user that the program did not print itself (log points, notices)."""

    name = "output"
    category: str  # "log" for log points, "console" for engine notices
    text: str


@dataclass(frozen=True)
class ExceptionRaised(Event):
    name = "exception"
    thread_id: int
    exception: str
    path: str
    line: int
    uncaught: bool


@dataclass(frozen=True)
class BreakpointChanged(Event):
    """A breakpoint was bound, moved (by an edit or to a line with code) or removed."""

    name = "breakpoint changed"
    breakpoint: BreakpointInfo
    reason: str


@dataclass(frozen=True)
class ProcessExited(Event):
    name = "process exited"
    exit_code: int


@dataclass(frozen=True)
class EditApplied(Event):
    name = "edit applied"
    files: tuple[str, ...]
    summary: tuple[str, ...]
    generation: int | None = None
    duration_s: float | None = None
    changes: dict[str, list[str]] | None = None  # definitions by kind of edit


@dataclass(frozen=True)
class RudeEditReported(Event):
    name = "rude edit"
    code: str
    severity: str
    message: str
    path: str
    line: int


@dataclass(frozen=True)
class RemapOpportunityEvent(Event):
    name = "remap opportunity"
    thread_id: int
    function: str
    path: str
    old_line: int
    mapped_line: int | None
    generation: int | None = None


@dataclass(frozen=True)
class RemapCompleteEvent(Event):
    name = "remap complete"
    thread_id: int
    function: str
    path: str
    line: int | None
    remapped: bool
    message: str = ""
