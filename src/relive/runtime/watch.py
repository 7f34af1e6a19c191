"""Applying saved files to the tracked modules they belong to (``relive run``).

Watching the files is not done here: it is the front end's job, in its own process, so that
nothing of the file watcher (``watchfiles`` and what it imports) enters the program's process.
The front end says which files changed; :class:`SavedFiles` reloads the tracked ones. What
happened is reported through :mod:`relive.runtime.events` observers.
"""

from __future__ import annotations

from dataclasses import dataclass

from relive.runtime import events
from relive.runtime.api import looks_truncated, reload
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.result import ApplyResult


def _read(filename: str) -> bytes:
    with open(filename, "rb") as f:
        return f.read()


@dataclass(frozen=True)
class FileNotice:
    """A change that could not be applied before even computing a delta."""

    filename: str
    module: str
    message: str


class SavedFiles:
    """Reloads tracked files when they are saved (one instance per program process)."""

    def __init__(self) -> None:
        self._gone: set[str] = set()
        self._refused: dict[str, bytes] = {}  # the last content refused, per file

    def handle(self, path: str) -> ApplyResult | None:
        """Apply the current content of ``path`` if it is a tracked module's file."""
        tracked = REGISTRY.by_file(path)
        if tracked is None:
            return None
        try:
            data = _read(tracked.filename)
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
        if looks_truncated(tracked, data):
            events.notify_observers(FileNotice(
                tracked.filename, tracked.name,
                "the file is empty; ignored until it has content again"))
            return None
        self._gone.discard(tracked.filename)
        if tracked.source_bytes == data or self._refused.get(tracked.filename) == data:
            return None
        return self.apply(tracked, data)

    def apply(self, tracked: TrackedModule, data: bytes) -> ApplyResult:
        result = reload(tracked.module, data)
        if result.applied:
            self._refused.pop(tracked.filename, None)
        else:
            self._refused[tracked.filename] = data
        return result
