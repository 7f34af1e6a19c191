"""Watching the program's source directories, in the front end's process (``relive run``).

``watchfiles`` (and ``anyio``, which it imports) lives here, never in the program's process.
The program's process tells which directories hold its tracked modules; this thread watches
them (re-arming when a new one comes) and hands every batch of changed paths on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class _Either:
    """Stops a ``watchfiles.watch`` loop when either event is set."""

    def __init__(self, *events: threading.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


class DirWatcher:
    """Watches directories (non-recursively) in a daemon thread, started by the first
    :meth:`add`; ``stop()`` it.

    ``on_changes(paths)`` gets each batch of changed paths; ``on_armed()`` is called each time
    the watch is in place over all the directories added (:attr:`armed`), so that saves made
    before it can be caught up with.
    """

    def __init__(self, on_changes: Callable[[list[str]], None],
                 on_armed: Callable[[], None], step_ms: int = 10) -> None:
        self.on_changes = on_changes
        self.on_armed = on_armed
        self.step_ms = step_ms
        self._dirs: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rearm = threading.Event()
        self._thread: threading.Thread | None = None
        self._armed = False

    @property
    def armed(self) -> bool:
        """Whether the watch is in place over every directory added so far."""
        with self._lock:
            return self._armed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relive-watch", daemon=True)
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Stop watching; ``wait=False`` when the process is about to exit anyway."""
        self._stop.set()
        self._rearm.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def add(self, dirs: list[str]) -> bool:
        """Watch these directories too; False if all were watched already."""
        with self._lock:
            new = set(dirs) - self._dirs
            self._dirs |= new
            if new:
                self._armed = False
                self._rearm.set()
                if self._thread is None:
                    # only now: importing watchfiles would slow the program's own start
                    self.start()
        return bool(new)

    def _run(self) -> None:
        import watchfiles

        while not self._stop.is_set():
            with self._lock:
                dirs = sorted(self._dirs)
                self._rearm.clear()
            if not dirs:
                self._rearm.wait()
                continue
            armed = False
            for changes in watchfiles.watch(
                    *dirs, stop_event=_Either(self._stop, self._rearm), step=self.step_ms,
                    debounce=400, rust_timeout=100, yield_on_timeout=True, recursive=False,
                    raise_interrupt=False, ignore_permission_denied=True):
                if not armed:
                    armed = True
                    with self._lock:  # not if more directories came meanwhile: rearm first
                        self._armed = not self._rearm.is_set()
                        now = self._armed
                    if now:
                        self.on_armed()
                if changes:
                    self.on_changes(sorted({path for _change, path in changes}))
