"""Helpers for the remap tests: programs compiled in EnC mode, edited the way the runtime will.

The runtime (``relive.apply``) is built elsewhere; these tests stand in for it: they compile the
old and the new source in EnC mode, assign the new code object to the live function and call
:func:`schedule_remap` with both sources as compile units and a line map. The default line map
tracks lines the way an editor does (unchanged and one-for-one replaced lines keep their
position); tests about mapping pass their own.
"""

from __future__ import annotations

import difflib
import itertools
import linecache
import textwrap
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType
from typing import Any

import pytest

from relive.runtime.enc import enc_compile, iter_code_objects
from relive.runtime.remap.events import (
    LeftStale,
    RemapDeferred,
    RemapEvent,
    RemapItem,
    Remapped,
    RemapPolicy,
)
from relive.runtime.remap.tracker import RemapSchedule, schedule_remap

_counter = itertools.count()
TIMEOUT = 30.0  # generous: the suite must pass on a loaded 2-core machine


def editor_line_map(old: str, new: str) -> dict[int, int | None]:
    """Old line -> new line as an editor tracks them (a stand-in for the delta's line map)."""
    a, b = old.splitlines(), new.splitlines()
    mapping: dict[int, int | None] = dict.fromkeys(range(1, len(a) + 1))
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = j1 + k + 1
    return mapping


class Program:
    """A module compiled in EnC mode whose functions can be edited while they run."""

    def __init__(self, source: str, **globals_: Any) -> None:
        self.source = textwrap.dedent(source)
        self.filename = f"<relive-test-{next(_counter)}>"
        self._cache_source(self.source)
        self.ns: dict[str, Any] = {"__name__": f"relive_test_{next(_counter)}", **globals_}
        exec(enc_compile(self.source, self.filename), self.ns)
        self.events: list[RemapEvent] = []

    def _cache_source(self, source: str) -> None:
        # tracebacks of the test programs show source lines, as real modules' do
        linecache.cache[self.filename] = (
            len(source), None, source.splitlines(keepends=True), self.filename
        )

    def function(self, qualname: str) -> FunctionType:
        parts = qualname.split(".")
        obj: Any = self.ns[parts[0]]
        for part in parts[1:]:
            obj = obj.__dict__[part]
        assert isinstance(obj, FunctionType)
        return obj

    def edit(
        self,
        new_source: str,
        *qualnames: str,
        line_map: dict[int, int | None] | None = None,
        policy: RemapPolicy = "next-statement",
        on_event: Callable[[RemapEvent], None] | None = None,
    ) -> RemapSchedule:
        """Install ``new_source``'s version of each function and schedule the remap."""
        new_source = textwrap.dedent(new_source)
        module = enc_compile(new_source, self.filename)
        items = []
        for qualname in qualnames:
            function = self.function(qualname)
            old = function.__code__
            new = _only(c for c in iter_code_objects(module) if c.co_qualname == qualname)
            function.__code__ = new
            mapping = line_map if line_map is not None else editor_line_map(self.source, new_source)
            items.append(RemapItem(old, new, self.source, new_source, mapping))
        self.source = new_source
        self._cache_source(new_source)

        def record(event: RemapEvent) -> None:
            self.events.append(event)
            if on_event is not None:
                on_event(event)

        return schedule_remap(items, policy=policy, on_event=record)

    def edit_nested(
        self, new_source: str, qualname: str, *functions: FunctionType
    ) -> RemapSchedule:
        """Install ``new_source``'s version of a nested function in the given live closures
        (the runtime finds them; here the test hands them over) and schedule the remap."""
        new_source = textwrap.dedent(new_source)
        module = enc_compile(new_source, self.filename)
        new = _only(c for c in iter_code_objects(module) if c.co_qualname == qualname)
        old = functions[0].__code__
        for function in functions:
            function.__code__ = new
        item = RemapItem(old, new, self.source, new_source,
                         editor_line_map(self.source, new_source))
        self.source = new_source
        self._cache_source(new_source)
        return schedule_remap([item], on_event=self.events.append)

    def remapped(self) -> list[tuple[int, int]]:
        return [(e.old_line, e.new_line) for e in self.events if isinstance(e, Remapped)]

    def deferred(self) -> list[str]:
        return [e.reason for e in self.events if isinstance(e, RemapDeferred)]

    def stale(self) -> list[str]:
        return [e.reason for e in self.events if isinstance(e, LeftStale)]


def _only(codes: Iterator[CodeType]) -> CodeType:
    found = list(codes)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(autouse=True)
def _no_leftover_instrumentation() -> Iterator[None]:
    """Every test must leave no tracked frame and no instrumentation behind."""
    yield
    from relive.runtime.remap import tracker

    tracker = tracker._TRACKER
    tracker.prune()
    assert not tracker.frames, f"frames still tracked: {list(tracker.frames.values())}"
