"""Watching the program's source files and applying each save (``relive run``).

A daemon thread waits for changes with ``watchfiles`` on the directories of the tracked
modules (re-arming itself when a module from a new directory is imported) and reloads each
changed tracked file. What happened is reported through :mod:`relive.runtime.events`
observers; whether to restart after a refused edit is the front end's decision, asked through
``on_refused``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relive.runtime import events
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.result import ApplyResult


@dataclass(frozen=True)
class FileNotice:
    """A change that could not be applied before even computing a delta."""

    filename: str
    module: str
    message: str


class Watcher:
    """Reloads tracked files when they are saved. ``start()`` it; ``stop()`` it."""

    def __init__(self, on_refused: Callable[[ApplyResult], None] | None = None,
                 step_ms: int = 10) -> None:
        self.on_refused = on_refused
        self.step_ms = step_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gone: set[str] = set()
        self._refused: dict[str, bytes] = {}  # the last content refused, per file
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relive-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _dirs(self) -> set[str]:
        return {os.path.dirname(f) for f in REGISTRY.files()}

    def _run(self) -> None:
        import watchfiles

        while not self._stop.is_set():
            dirs = self._dirs()
            if not dirs:
                self.ready.set()
                self._stop.wait(0.2)
                continue
            armed = False
            for changes in watchfiles.watch(
                    *sorted(dirs), stop_event=self._stop, step=self.step_ms, debounce=400,
                    rust_timeout=100, yield_on_timeout=True, recursive=False,
                    raise_interrupt=False, ignore_permission_denied=True):
                if not armed:
                    # the watch is in place: catch up with saves made before it was
                    armed = True
                    self.catch_up()
                    self.ready.set()
                for path in sorted({p for _change, p in changes}):
                    self.handle(path)
                if self._dirs() - dirs:
                    break  # a module from a new directory: watch it too

    def catch_up(self) -> None:
        """Apply every tracked file whose content differs from what the program runs."""
        for tracked in REGISTRY:
            if tracked.source_bytes is None:
                continue
            try:
                current = Path(tracked.filename).read_bytes()
            except OSError:
                current = None
            if current != tracked.source_bytes:
                self.handle(tracked.filename)

    def handle(self, path: str) -> ApplyResult | None:
        """Apply the current content of ``path`` if it is a tracked module's file."""
        tracked = REGISTRY.by_file(path)
        if tracked is None:
            return None
        try:
            data = Path(tracked.filename).read_bytes()
        except FileNotFoundError:
            if tracked.filename not in self._gone:
                self._gone.add(tracked.filename)
                events.notify_observers(FileNotice(
                    tracked.filename, tracked.name,
                    "the file is gone; the program keeps its code"))
            return None
        except OSError as exc:
            events.notify_observers(FileNotice(tracked.filename, tracked.name,
                                               f"cannot read the file: {exc.strerror}"))
            return None
        if not data.strip() and tracked.baseline.source.strip():
            # editors that truncate before they write show an empty file for a moment
            events.notify_observers(FileNotice(
                tracked.filename, tracked.name,
                "the file is empty; ignored until it has content again"))
            return None
        self._gone.discard(tracked.filename)
        if tracked.source_bytes == data or self._refused.get(tracked.filename) == data:
            return None
        return self.apply(tracked, data)

    def apply(self, tracked: TrackedModule, data: bytes) -> ApplyResult:
        from relive.runtime import reload

        result = reload(tracked.module, data)
        if result.applied:
            self._refused.pop(tracked.filename, None)
        else:
            self._refused[tracked.filename] = data
            if self.on_refused is not None:
                self.on_refused(result)
        return result
