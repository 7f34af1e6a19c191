"""The ``sys.monitoring`` backend (CPython 3.12+).

It takes the debugger tool id (``sys.monitoring.DEBUGGER_ID``, named "relive"). Line events
are *local*: switched on only for the code objects that own a breakpoint. While a thread
steps, or all threads are being stopped, line/return/yield events are switched on globally;
when that ends they are switched off again. A line callback at a location that needs
nothing returns ``DISABLE``, so a breakpoint's code object costs one callback per other
line once, not per execution; :meth:`refresh` re-enables disabled locations
(``restart_events``) whenever the set of interesting locations changes.

Frame remapping uses its own tool id (4, "relive-remap"); this module never touches it.
"""

from __future__ import annotations

import sys
import threading
from types import CodeType
from typing import Any

from relive.debugger.backends.base import EngineHooks

# Typed loosely so that the module type-checks for 3.11 too, where it is never used.
_mon: Any = getattr(sys, "monitoring", None)
_E: Any = _mon.events if _mon is not None else None
TOOL_ID: int = _mon.DEBUGGER_ID if _mon is not None else 0
TOOL_NAME = "relive"


class MonitoringBackend:
    """Delivers ``sys.monitoring`` events to the engine. See the module docstring."""

    name = "sys.monitoring"

    def __init__(self, hooks: EngineHooks) -> None:
        if _mon is None:  # pragma: no cover - guarded by make_backend
            raise RuntimeError("sys.monitoring needs CPython 3.12 or newer")
        self._hooks = hooks
        # By identity: equal code objects (a reloaded module) each need their own events.
        self._local: dict[int, CodeType] = {}
        self._global_events = 0
        self._installed = False
        # Refreshes come from the agent's and the program's threads: one at a time, so the
        # last one always applies the latest state.
        self._refresh_lock = threading.RLock()

    def install(self) -> None:
        if _mon is None:  # pragma: no cover
            return
        current = _mon.get_tool(TOOL_ID)
        if current is not None and current != TOOL_NAME:
            raise RuntimeError(
                f"the debugger tool id is taken by {current!r}; stop that tool first"
            )
        if current is None:
            _mon.use_tool_id(TOOL_ID, TOOL_NAME)
        _mon.register_callback(TOOL_ID, _E.LINE, self._on_line)
        _mon.register_callback(TOOL_ID, _E.PY_RETURN, self._on_return)
        _mon.register_callback(TOOL_ID, _E.PY_YIELD, self._on_yield)
        _mon.register_callback(TOOL_ID, _E.RAISE, self._on_raise)
        self._installed = True

    def uninstall(self) -> None:
        if _mon is None or not self._installed:  # pragma: no cover
            return
        _mon.set_events(TOOL_ID, 0)
        for code in self._local.values():
            _mon.set_local_events(TOOL_ID, code, 0)
        self._local.clear()
        for event in (_E.LINE, _E.PY_RETURN, _E.PY_YIELD, _E.RAISE):
            _mon.register_callback(TOOL_ID, event, None)
        _mon.free_tool_id(TOOL_ID)
        self._installed = False

    def refresh(self) -> None:
        with self._refresh_lock:
            self._refresh()

    def _refresh(self) -> None:
        if _mon is None or not self._installed:  # pragma: no cover
            return
        wanted = {id(code): code for code in self._hooks.codes_with_breakpoints()}
        for key, code in self._local.items():
            if key not in wanted:
                _mon.set_local_events(TOOL_ID, code, 0)
        for key, code in wanted.items():
            if key not in self._local:
                _mon.set_local_events(TOOL_ID, code, _E.LINE)
        self._local = wanted
        events = 0
        if self._hooks.everywhere():
            events |= _E.LINE | _E.PY_RETURN | _E.PY_YIELD
        if self._hooks.catching_raised():
            events |= _E.RAISE
        self._global_events = events
        _mon.set_events(TOOL_ID, events)
        # Locations switched off with DISABLE may matter now (a new breakpoint, a step).
        _mon.restart_events()

    def prepare_module(self, code: CodeType) -> CodeType:
        return code  # local events need nothing from the code itself

    # ------------------------------------------------------------------ callbacks

    def _on_line(self, code: CodeType, line: int) -> Any:
        frame = sys._getframe(1)
        if self._hooks.on_line(frame, line) or self._global_events & _E.LINE:
            return None
        return _mon.DISABLE

    def _on_return(self, code: CodeType, offset: int, retval: object) -> Any:
        self._hooks.on_return(sys._getframe(1), False)
        return None if self._global_events else _mon.DISABLE

    def _on_yield(self, code: CodeType, offset: int, retval: object) -> Any:
        self._hooks.on_return(sys._getframe(1), True)
        return None if self._global_events else _mon.DISABLE

    def _on_raise(self, code: CodeType, offset: int, exc: BaseException) -> Any:
        self._hooks.on_raise(sys._getframe(1), exc)
        return None
