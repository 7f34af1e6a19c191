"""Which code each test ran: the record that tells which tests an edit can affect.

Per test, the set of ``(file, qualname)`` of every Python function that started while the
test's setup, call and teardown ran, for files of the project (under the rootdir, outside
virtual environments), and the names those functions read (``co_names``: globals and
attributes), for edits of values rather than of code. On 3.12+ a ``sys.monitoring`` tool
listens to ``PY_START`` only and disables the event for each code object after its first
start (events are restarted before each test), so a test pays for one callback per function
it runs, not per call. On 3.11 a ``sys.setprofile`` function that only looks at ``call``
events does the same job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from relive.runtime.files import normalize

Key = tuple[str, str]  # (normalised file name, co_qualname)


@dataclass(frozen=True)
class Ran:
    """What one test ran: its functions, and the global and attribute names they read."""

    keys: frozenset[Key]
    names: frozenset[str]

_TOOL_NAME = "relive-pytest"


class Recorder:
    """Records the code objects started between :meth:`start` and :meth:`stop`."""

    def __init__(self, root: str) -> None:
        self.root = normalize(root) + os.sep
        self._codes: set[CodeType] = set()
        self._files: dict[str, str | None] = {}
        self._tool: int | None = None
        self._monitoring: Any = getattr(sys, "monitoring", None)
        if self._monitoring is not None:
            self._tool = self._claim_tool()

    def _claim_tool(self) -> int | None:
        mon = self._monitoring
        for tool in (4, 5, 3, 2):
            if mon.get_tool(tool) is None:
                mon.use_tool_id(tool, _TOOL_NAME)
                mon.register_callback(tool, mon.events.PY_START, self._callback())
                return tool
        return None  # every tool id taken: the profile function does the job

    def _callback(self) -> Callable[[CodeType, int], Any]:
        codes = self._codes
        disable = self._monitoring.DISABLE

        def started(code: CodeType, _offset: int) -> Any:
            codes.add(code)
            return disable

        return started

    def _profile(self) -> Callable[[FrameType, str, Any], None]:
        codes = self._codes

        def profile(frame: FrameType, event: str, _arg: Any) -> None:
            if event == "call":
                codes.add(frame.f_code)

        return profile

    def start(self) -> None:
        self._codes.clear()
        if self._tool is not None:
            mon = self._monitoring
            mon.restart_events()
            mon.set_events(self._tool, mon.events.PY_START)
        else:
            sys.setprofile(self._profile())

    def stop(self) -> Ran:
        if self._tool is not None:
            self._monitoring.set_events(self._tool, 0)
        else:
            sys.setprofile(None)
        keys = set()
        names: set[str] = set()
        for code in self._codes:
            f = self._file(code.co_filename)
            if f is not None:
                keys.add((f, code.co_qualname))
                names.update(code.co_names)
        self._codes.clear()
        return Ran(frozenset(keys), frozenset(names))

    def _file(self, name: str) -> str | None:
        """The normalised file name when it is a project file, else None (memoised)."""
        try:
            return self._files[name]
        except KeyError:
            pass
        found: str | None = None
        if not name.startswith("<"):
            n = normalize(name)
            parts = n.split(os.sep)
            if n.startswith(self.root) and "site-packages" not in parts and not any(
                    p.startswith((".venv", "venv")) for p in parts):
                found = n
        self._files[name] = found
        return found

    def close(self) -> None:
        if self._tool is not None:
            mon = self._monitoring
            mon.set_events(self._tool, 0)
            mon.register_callback(self._tool, mon.events.PY_START, None)
            mon.free_tool_id(self._tool)
            self._tool = None
