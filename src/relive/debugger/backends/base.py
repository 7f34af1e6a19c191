"""What the engine needs from a backend, and the choice of backend for this interpreter.

A backend turns interpreter events into calls on :class:`EngineHooks` and asks the engine,
through the same object, which code needs events. It never decides to stop: that is the
engine's job. Two backends exist: :mod:`relive.debugger.backends.monitoring` (``sys.monitoring``,
3.12+) and :mod:`relive.debugger.backends.tracing` (a trace function, 3.11).

Both follow the same rule, which is what keeps a program that has no breakpoints at full
speed: events are requested only for code objects that own a breakpoint, and everywhere
only while some thread is stepping, a pause or stop is under way, or exceptions are caught
when raised.
"""

from __future__ import annotations

from types import CodeType, FrameType
from typing import Protocol


class EngineHooks(Protocol):
    """The engine as a backend sees it. Called on the program's own threads."""

    def on_line(self, frame: FrameType, line: int) -> bool:
        """A line is about to run. Returns False when this location needs no more events
        until the next :meth:`Backend.refresh` (the backend may then switch it off)."""

    def on_return(self, frame: FrameType, is_yield: bool) -> None:
        """``frame`` returns (or, with ``is_yield``, suspends at a ``yield``/``await``)."""

    def on_raise(self, frame: FrameType, exc: BaseException) -> None:
        """``exc`` is raised in, or propagates into, ``frame``."""

    def wants_lines(self, code: CodeType) -> bool:
        """Whether ``code`` needs line events in the calling thread now."""

    def codes_with_breakpoints(self) -> list[CodeType]:
        """Every indexed code object that owns an enabled breakpoint's line."""

    def everywhere(self) -> bool:
        """True while line and return events are needed in all code (stepping, pausing,
        stopping all threads)."""

    def catching_raised(self) -> bool:
        """True while exceptions must be seen where they are raised."""

    def is_ignored_thread(self, ident: int) -> bool:
        """Threads of the debugger itself (the agent): never traced, never stopped."""


class Backend(Protocol):
    name: str

    def install(self) -> None:
        """Start delivering events (call once, before the program runs)."""

    def uninstall(self) -> None:
        """Stop delivering events and release what :meth:`install` took."""

    def refresh(self) -> None:
        """Re-read from the hooks which code needs events; call after any change of
        breakpoints, stepping, pausing or exception catching."""

    def prepare_module(self, code: CodeType) -> CodeType:
        """The code to run for a module about to run (``code``, or a version of it the
        backend needs; indexed by the engine as well)."""
