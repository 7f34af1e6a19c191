"""``%load_ext relive``: Edit and Continue in IPython and Jupyter, in place of ``%autoreload``.

Loading the extension tracks the session's modules (:func:`relive.install`, in EnC mode): the
ones imported from then on from birth, the ones imported before from their file as it is now.
Before each cell runs, every tracked module whose file was saved since it was last taken is
applied exactly as ``relive run`` applies it: functions, classes, Enum members and registries
keep their identity, and an edit that cannot be applied with its meaning intact is refused
with its code and reason, the module left as it was (the cell then runs on its old code).
Nothing raises into the cell: a syntax error in a saved file is reported and changes nothing.

``%relive`` shows what is tracked and what the last apply did; ``%relive off`` / ``%relive on``
pause and resume applying; ``%relive apply`` applies now; ``%relive watch`` applies each save
as it happens, from a thread, so that a cell that is still running (a loop calling a function
of a tracked module) takes the new code at its next call, or at the next statement of a
running function of the module (remap); ``%relive watch off`` stops it.

The code of the cells (``__main__``, ``<ipython-input-...>``) is not tracked: a cell is run
once, and the next cell is the way to change it. Applied modules are told on stdout, refusals
and caveats on stderr, one ``relive:`` line each, in the words of ``relive run``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from relive.display import display_path

__all__ = ["ReliveExtension", "load_ipython_extension", "unload_ipython_extension"]

# modules that are the notebook's or the shell's own running script, never a module to follow
_NOT_FOLLOWED = ("__main__", "__mp_main__")


class ReliveExtension:
    """The extension's state in one shell: whether it applies, what it last said, the
    watcher. ``out`` and ``err`` (default: the shell's current ``sys.stdout`` and
    ``sys.stderr``) receive the ``relive:`` lines."""

    def __init__(self, shell: Any, out: Callable[[str], None] | None = None,
                 err: Callable[[str], None] | None = None) -> None:
        self.shell = shell
        self.enabled = True
        self.last: list[str] = []  # the lines of the last sweep that found a saved edit
        self._out = out
        self._err = err
        # a file's content whose apply was refused (told in full once, then recalled briefly)
        self._refused: dict[str, bytes] = {}
        self._sweep_lock = threading.Lock()  # one sweep at a time: a cell's or the watcher's
        self._watcher: Any = None
        self._armed = threading.Event()
        self._stop_listening: Callable[[], None] | None = None
        self._installed_hook = False
        self._stop_observing: Callable[[], None] | None = None
        self._deferred: set[tuple[str, str]] = set()  # remap waits told (told once each)

    # -- load / unload ---------------------------------------------------------------------

    def load(self) -> None:
        from relive.runtime import importhook
        from relive.runtime.registry import REGISTRY

        self._installed_hook = not importhook.installed()
        for tracked in importhook.install():
            if tracked.name in _NOT_FOLLOWED:
                REGISTRY.unregister(tracked)
                continue
            # it runs its file as it is now: a later save is an edit to apply
            tracked.take_file_now()
        for tracked in REGISTRY:  # tracked before, by an earlier install: same for those
            if tracked.source_bytes is None and tracked.name not in _NOT_FOLLOWED:
                tracked.take_file_now()
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        from relive.runtime import events

        self._stop_observing = events.observe(self._observed)
        if any("autoreload" in name for name in self.shell.extension_manager.loaded):
            self._say("warn", "%autoreload is loaded too: it runs edited modules again, "
                              "which makes new classes beside the old; turn it off with "
                              "`%autoreload off`")
        self.shell.register_magic_function(self.magic, magic_kind="line", magic_name="relive")

    def unload(self) -> None:
        self.stop_watching()
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        try:
            self.shell.events.unregister("pre_run_cell", self.pre_run_cell)
        except ValueError:
            pass
        self.shell.magics_manager.magics["line"].pop("relive", None)
        if self._installed_hook:
            from relive.runtime import importhook

            importhook.uninstall()  # the modules tracked so far stay tracked

    # -- applying --------------------------------------------------------------------------

    def pre_run_cell(self, info: object = None) -> None:
        """Before each cell: apply every saved edit (the ``pre_run_cell`` event)."""
        if self.enabled:
            self.sweep(None, recall=True)

    def sweep(self, paths: list[str] | None, recall: bool = False) -> list[str]:
        """Apply the saved edits of the tracked modules (those whose file is in ``paths``,
        when given) and tell each; the lines told. ``recall``: say again, briefly, which
        modules run old code because their saved edit was refused. Never raises."""
        try:
            with self._sweep_lock:
                lines = self._sweep_locked(paths, recall)
        except Exception as exc:  # a relive bug: the cell must run all the same
            lines = [("error", f"failed to look for saved edits: {exc!r}")]
        for style, text in lines:
            self._say(style, text)
        return [text for _style, text in lines]

    def _sweep_locked(self, paths: list[str] | None,
                      recall: bool) -> list[tuple[str, str]]:
        from relive.runtime.registry import REGISTRY

        if paths is None:
            candidates = list(REGISTRY)
        else:
            candidates = [t for t in (REGISTRY.by_file(p) for p in paths) if t is not None]
        lines: list[tuple[str, str]] = []
        told = False
        for tracked in candidates:
            if tracked.name in _NOT_FOLLOWED or tracked.source_bytes is None:
                continue
            try:
                with open(tracked.filename, "rb") as f:
                    data = f.read()
            except OSError:
                continue  # moved away or deleted: the module runs on as it is
            if data == tracked.source_bytes:
                self._refused.pop(tracked.filename, None)
                continue
            if self._refused.get(tracked.filename) == data:
                if recall:
                    lines.append(("warn", f"{display_path(tracked.filename)}: this cell runs "
                                          f"the old code of {tracked.name} (its saved edit "
                                          f"was refused, see above)"))
                continue
            if _looks_truncated(tracked, data):
                if paths is not None:
                    continue  # an editor's truncation before it writes: the write follows
                lines.append(("error", f"{display_path(tracked.filename)}: not applied: the "
                                       f"file is empty; cells run the old code of "
                                       f"{tracked.name}"))
                self._refused[tracked.filename] = data
                told = True
                continue
            try:
                lines += self._apply(tracked, data)
            except Exception as exc:  # a relive bug: told, and the other modules go on
                self._refused[tracked.filename] = data
                lines.append(("error", f"{display_path(tracked.filename)}: not applied: relive "
                                       f"failed: {exc!r}; cells run the old code of "
                                       f"{tracked.name}"))
            told = True
        if told:
            self.last = [text for _style, text in lines]
        return lines

    def _apply(self, tracked: Any, data: bytes) -> list[tuple[str, str]]:
        from relive.agent.records import result_record
        from relive.cli.report import apply_lines
        from relive.runtime import events
        from relive.runtime.api import reload
        from relive.runtime.events import HandlerError, RuntimeEvent

        notes: list[tuple[str, str]] = []
        me = threading.get_ident()

        def note(event: RuntimeEvent) -> None:
            if isinstance(event, HandlerError) and threading.get_ident() == me:
                notes.append(("warn", f"{display_path(event.result.filename)}: the edit was "
                                      f"applied, then update handler {event.handler} raised "
                                      f"{event.error!r}"))

        unsubscribe = events.observe(note)
        try:
            result = reload(tracked.module, data)
        finally:
            unsubscribe()
        lines = apply_lines(result_record(result))
        if result.applied:
            self._refused.pop(tracked.filename, None)
        else:
            self._refused[tracked.filename] = data
            lines.append(("error", f"{display_path(tracked.filename)}: cells run the old code "
                                   f"of {tracked.name} until its file can be applied"))
        return lines + notes

    def _observed(self, event: object) -> None:
        """A runtime event (any thread, maybe the cell's own, at a statement boundary): a
        running frame that moved to its new code, that waits to, or that cannot."""
        from relive.runtime.remap.events import (
            LeftStale,
            RemapDeferred,
            Remapped,
            describe_event,
        )

        if isinstance(event, Remapped):
            self._say("info", describe_event(event))
        elif isinstance(event, LeftStale):
            self._say("warn", describe_event(event))
        elif isinstance(event, RemapDeferred):
            key = (event.frame.qualname, event.reason)
            if key not in self._deferred:
                self._deferred.add(key)
                self._say("warn", describe_event(event))

    def _say(self, style: str, text: str) -> None:
        line = f"relive: {text}"
        if style in ("ok", "info"):
            if self._out is not None:
                self._out(line)
            else:
                print(line, file=sys.stdout, flush=True)
        elif self._err is not None:
            self._err(line)
        else:
            print(line, file=sys.stderr, flush=True)

    # -- the watcher -----------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    def start_watching(self) -> None:
        """Apply each save as it happens, from a thread (see the module docstring)."""
        if self._watcher is not None:
            return
        from relive.cli.watch import DirWatcher
        from relive.runtime.registry import REGISTRY, TrackedModule

        self._armed = threading.Event()
        self._watcher = watcher = DirWatcher(self._changed, self._on_armed)
        def watch_its_directory(tracked: TrackedModule) -> None:
            watcher.add([os.path.dirname(tracked.filename)])

        self._stop_listening = REGISTRY.listen(watch_its_directory)
        watcher.add(sorted({os.path.dirname(t.filename) for t in REGISTRY}) or [os.getcwd()])

    def stop_watching(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def wait_armed(self, timeout: float) -> bool:
        """Wait until the watcher watches every directory it was given (for tests and for
        ``%relive watch`` to say so)."""
        return self._watcher is not None and self._armed.wait(timeout)

    def _on_armed(self) -> None:
        self._armed.set()
        if self.enabled:  # saves made before the watch was in place
            self.sweep(None)

    def _changed(self, paths: list[str]) -> None:
        if self.enabled:
            self.sweep(paths)

    # -- %relive ---------------------------------------------------------------------------

    def magic(self, line: str = "") -> None:
        """``%relive`` [``on`` | ``off`` | ``apply`` | ``watch`` | ``watch off``]: status,
        resume or pause applying saved edits before each cell, apply them now, apply them
        as they are saved (from a thread) or stop doing so."""
        words = line.split()
        if not words:
            print(self.status())
        elif words == ["on"]:
            self.enabled = True
            print("relive: on: saved edits are applied before each cell")
        elif words == ["off"]:
            self.enabled = False
            print("relive: off: saved edits wait until `%relive on`")
        elif words == ["apply"]:
            if not self.sweep(None, recall=True):
                print("relive: no saved edits to apply: every file is as it runs")
        elif words == ["watch"]:
            self.start_watching()
            armed = self.wait_armed(5.0)
            print("relive: watching: each save is applied as it happens"
                  + ("" if armed else " (the watch is still starting)"))
        elif words in (["watch", "off"], ["nowatch"]):
            self.stop_watching()
            print("relive: not watching: saved edits are applied before each cell")
        else:
            print("usage: %relive [on | off | apply | watch | watch off]", file=sys.stderr)

    def status(self) -> str:
        from relive.runtime.registry import REGISTRY

        state = "on" if self.enabled else "off (saved edits wait until `%relive on`)"
        if self.enabled and self.watching:
            state += ", watching: each save is applied as it happens"
        elif self.enabled:
            state += ": saved edits are applied before each cell"
        out = [f"relive: {state}"]
        modules = sorted((t for t in REGISTRY if t.name not in _NOT_FOLLOWED),
                         key=lambda t: t.name)
        out.append(f"{len(modules)} tracked module{'s' if len(modules) != 1 else ''}:")
        for t in modules:
            notes = [f"gen {t.generation}"]
            if not t.enc:
                notes.append("imported before %load_ext relive: its running frames are not moved")
            if self._refused.get(t.filename) is not None:
                notes.append("runs old code: its saved edit was refused")
            elif _pending(t):
                notes.append("saved edit not applied yet")
            out.append(f"  {t.name:<24} {display_path(t.filename)}  ({'; '.join(notes)})")
        if self.last:
            out.append("last apply:")
            out += [f"  relive: {text}" for text in self.last]
        return "\n".join(out)


def _pending(tracked: Any) -> bool:
    try:
        with open(tracked.filename, "rb") as f:
            return tracked.source_bytes is not None and f.read() != tracked.source_bytes
    except OSError:
        return False


def _looks_truncated(tracked: Any, data: bytes) -> bool:
    from relive.runtime.api import looks_truncated

    return looks_truncated(tracked, data)


_EXTENSIONS: dict[int, ReliveExtension] = {}


def load_ipython_extension(ip: Any) -> None:
    """Called by ``%load_ext relive``: see the module docstring."""
    if id(ip) in _EXTENSIONS:
        return
    extension = ReliveExtension(ip)
    extension.load()
    _EXTENSIONS[id(ip)] = extension


def unload_ipython_extension(ip: Any) -> None:
    """Called by ``%unload_ext relive``: stop applying (modules stay tracked)."""
    extension = _EXTENSIONS.pop(id(ip), None)
    if extension is not None:
        extension.unload()


def extension_for(ip: Any) -> ReliveExtension | None:
    """The extension loaded in shell ``ip``, if any."""
    return _EXTENSIONS.get(id(ip))
