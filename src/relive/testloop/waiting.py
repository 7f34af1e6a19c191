"""Waiting between runs: saves under the rootdir (watchfiles) and keypresses (a terminal).

The watcher runs in a daemon thread from the first wait on, so saves made while tests run
are not lost: they are handled at the next wait. Keys are read only when stdin is a
terminal, in cbreak mode only while waiting; the terminal's mode is restored before tests
run again and when the session ends.
"""

from __future__ import annotations

import os
import queue
import select
import threading
from collections.abc import Callable
from typing import Any

_IGNORED_PARTS = ("__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                  ".hg", ".tox", ".nox", "node_modules", "site-packages")


def ignored(path: str) -> bool:
    """Is ``path`` (a changed file) outside what the session follows: not Python source, or
    in VCS data, caches or a virtual environment?"""
    if not path.endswith(".py"):
        return True
    parts = path.split(os.sep)
    return any(p in _IGNORED_PARTS or p.startswith((".venv", "venv")) for p in parts[:-1])


class Waiter:
    """Hands out, one at a time, batches of saved files (``("files", paths)``) and keys
    (``("key", "a")``)."""

    def __init__(self, root: str, debounce_ms: int = 80) -> None:
        self.root = root
        self.debounce_ms = debounce_ms
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._armed = threading.Event()
        self._tty_fd: int | None = None
        self._saved_mode: Any = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="relive-pytest-watch",
                                            daemon=True)
            self._thread.start()
            self._armed.wait(5)

    def _watch(self) -> None:
        import watchfiles

        for changes in watchfiles.watch(
                self.root, watch_filter=lambda _c, p: not ignored(p), stop_event=self._stop,
                debounce=self.debounce_ms, step=20, rust_timeout=200, yield_on_timeout=True,
                raise_interrupt=False, ignore_permission_denied=True):
            self._armed.set()
            if changes:
                self._events.put(("files", sorted({p for _c, p in changes})))

    def next(self, prompt: Callable[[], None] | None = None) -> tuple[str, Any]:
        """The next batch of saves or key; blocks. ``prompt`` is called once keys are read
        one by one (a key pressed before that waits for Enter, the terminal's usual mode)."""
        self.start()
        self._cbreak()
        try:
            if prompt is not None:
                prompt()
            while True:
                try:
                    return self._events.get(timeout=0.05)
                except queue.Empty:
                    pass
                key = self._key()
                if key is not None:
                    return ("key", key)
        finally:
            self._restore()

    def pending_files(self) -> list[str]:
        """Saves queued meanwhile (more of the same batch), without waiting."""
        out: list[str] = []
        kept: list[tuple[str, Any]] = []
        while True:
            try:
                kind, value = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "files":
                out.extend(value)
            else:
                kept.append((kind, value))
        for item in kept:
            self._events.put(item)
        return out

    def _key(self) -> str | None:
        fd = self._tty_fd
        if fd is None:
            return None
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                return None
            data = os.read(fd, 1)
        except OSError:
            return None
        return data.decode("utf-8", "replace").lower() if data else None

    def _cbreak(self) -> None:
        # file descriptor 0, asked each time: pytest's capture replaces sys.stdin, and puts
        # /dev/null on descriptor 0 while it captures (never while the session waits)
        try:
            self._tty_fd = 0 if os.isatty(0) else None
        except OSError:
            self._tty_fd = None
        if self._tty_fd is None or self._saved_mode is not None:
            return
        try:
            import termios
            import tty

            self._saved_mode = termios.tcgetattr(self._tty_fd)
            tty.setcbreak(self._tty_fd)
        except Exception:  # not a real terminal after all: keys are just not read
            self._saved_mode = None
            self._tty_fd = None

    def _restore(self) -> None:
        if self._saved_mode is None or self._tty_fd is None:
            return
        try:
            import termios

            termios.tcsetattr(self._tty_fd, termios.TCSADRAIN, self._saved_mode)
        except Exception:
            pass
        self._saved_mode = None

    def stop(self) -> None:
        self._restore()
        self._stop.set()
