"""``relive attach PID``: Edit and Continue and debugging for a process already running.

    relive attach PID                  debug it at a prompt (as relive debug --attach PID)
    relive attach PID --watch DIR ...  apply every save under DIR to it, as relive run does

relive is brought into the process (:mod:`relive.client.attach`), which keeps running with
all its state. With ``--watch``, each save of a ``.py`` file under a watched directory is
applied at once: the process is paused where it runs Python code, the saved edits are
applied, and it runs on; one line per apply says what changed. Ctrl-C (or the end of the
front end) detaches: relive leaves the process, which runs on as it was, edits kept.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from relive.client.attach import AttachError, attach
from relive.client.connection import AgentError
from relive.client.launch import Launched
from relive.runtime.result import changes_text

USAGE = """\
usage: relive attach PID [--watch DIR ...]

Bring relive into the running CPython process PID (of your user) and:
  without --watch   debug it at a prompt (relive debug's commands; `detach` leaves it
                    running)
  --watch DIR       apply every save of a .py file under DIR to it, live (repeatable);
                    Ctrl-C detaches and the process runs on, with the edits
On CPython 3.14+ this uses the interpreter's remote execution (PEP 768); before 3.14, gdb.
"""

PAUSE_TIMEOUT_S = 10.0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="relive attach", usage=USAGE, add_help=False)
    parser.add_argument("pid", nargs="?")
    parser.add_argument("--watch", action="append", default=[], metavar="DIR")
    parser.add_argument("-h", "--help", action="store_true")
    args = parser.parse_args(list(argv))
    if args.help:
        print(USAGE, end="")
        return 0
    if args.pid is None or not args.pid.isdigit():
        print(USAGE, end="", file=sys.stderr)
        return 2
    if not args.watch:
        from relive.cli import debug

        return debug.main(["--attach", args.pid])
    for directory in args.watch:
        if not os.path.isdir(directory):
            print(f"relive attach: {directory} is not a directory", file=sys.stderr)
            return 2
    pid = int(args.pid)
    launched = connect(pid)
    if launched is None:
        return 1
    return Watcher(launched, pid, [os.path.abspath(d) for d in args.watch]).run()


def connect(pid: int) -> Launched | None:
    """Attach to ``pid``, saying what happens on stderr; None when it cannot."""
    def waiting() -> None:
        print(f"relive attach: waiting for process {pid} to run Python code (its main "
              "thread may be blocked in a system call); Ctrl-C gives up", file=sys.stderr,
              flush=True)

    try:
        launched = attach(pid, waiting=waiting)
    except AttachError as exc:
        print(f"relive attach: {exc}", file=sys.stderr)
        return None
    except KeyboardInterrupt:
        print("relive attach: given up", file=sys.stderr)
        return None
    welcome = launched.conn.welcome
    print(f"relive attach: attached to process {pid} (Python {welcome.get('python')}, "
          f"{welcome.get('backend')})", file=sys.stderr, flush=True)
    return launched


class Watcher:
    """Applies the saved edits under the watched directories to the attached process."""

    def __init__(self, launched: Launched, pid: int, directories: list[str]) -> None:
        self.launched = launched
        self.pid = pid
        self.directories = directories
        self._stop = threading.Event()
        self._stopped: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        # a stale frame moves to the new code by itself, as under relive run (nobody is
        # here to choose at a remap opportunity)
        launched.conn.request("settings", remap="auto")
        threading.Thread(target=self._events, daemon=True, name="relive-events").start()

    def _events(self) -> None:
        while True:
            event = self.launched.conn.events.get()
            if event is None:
                self._stop.set()
                return
            if event.get("event") == "stopped":
                self._stopped.put(event.get("body") or {})
            elif event.get("event") == "output":  # notes on an apply
                print(str((event.get("body") or {}).get("text", "")).rstrip("\n"),
                      file=sys.stderr, flush=True)
            elif event.get("event") == "process exited":
                self._stop.set()

    def run(self) -> int:
        import logging

        from watchfiles import watch

        logging.getLogger("watchfiles").setLevel(logging.ERROR)  # its own Ctrl-C notice
        # Ctrl-C detaches once the apply under way (if any) is done, never in its middle
        previous = signal.signal(signal.SIGINT, lambda signum, frame: self._stop.set())
        armed = False
        try:
            for changes in watch(*self.directories, stop_event=self._stop, debounce=50,
                                 step=20, raise_interrupt=False, rust_timeout=100,
                                 yield_on_timeout=True):
                if not armed:  # the first answer: the watch is in place
                    armed = True
                    print(f"relive attach: watching {', '.join(self.directories)}; Ctrl-C "
                          "detaches", file=sys.stderr, flush=True)
                    self.apply(quiet=True)  # a save made before the watch was in place
                if any(path.endswith(".py") for _change, path in changes):
                    self.apply()
        finally:
            signal.signal(signal.SIGINT, previous)
            ended = self.launched.process.poll() is not None
            self.launched.close()
        if ended:
            print(f"relive attach: process {self.pid} has ended", file=sys.stderr)
            return 0
        print(f"relive attach: detached from process {self.pid}; it runs on, with the "
              "edits", file=sys.stderr)
        return 0

    def apply(self, quiet: bool = False) -> None:
        """Pause the process, apply the saved edits, let it run on (``quiet``: only if
        there are saved edits, and say nothing otherwise)."""
        conn = self.launched.conn
        if quiet and not conn.request("pending")["paths"]:
            return
        try:
            if conn.request("pause").get("requested", True):
                try:
                    stop = self._stopped.get(timeout=PAUSE_TIMEOUT_S)
                except queue.Empty:
                    print(f"relive attach: process {self.pid} ran no Python code for "
                          f"{PAUSE_TIMEOUT_S:g} s; the edit is applied at the next save",
                          file=sys.stderr)
                    return
            else:
                stop = {}
            try:
                outcome = conn.request("enc")
            finally:
                conn.request("continue", **({"thread_id": stop["thread_id"]}
                                            if "thread_id" in stop else {}))
        except AgentError as exc:
            print(f"relive attach: the edit was not applied: {exc}", file=sys.stderr)
            return
        for line in outcome_lines(outcome):
            print(line, file=sys.stderr, flush=True)


def outcome_lines(outcome: dict[str, Any]) -> list[str]:
    """What an ``enc`` did, one line per file, in ``relive run``'s words."""
    lines = []
    took_ms = float(outcome.get("duration_s") or 0.0) * 1000.0
    for path in outcome.get("files") or []:
        changes: dict[str, list[str]] = {}
        for edit in outcome.get("edits") or []:
            if edit["path"] == path:
                changes.setdefault(edit["kind"], []).append(edit["definition"])
        generation = (outcome.get("generation") or {}).get(path)
        lines.append(f"{os.path.basename(path)}: gen {generation}: {changes_text(changes)} "
                     f"({took_ms:.1f} ms)")
    for rude in outcome.get("rude_edits") or []:
        lines.append(f"{os.path.basename(str(rude['path']))}:{rude['line']}: {rude['code']} "
                     f"{rude['severity']}: {rude['message']}")
    if not outcome.get("applied") and outcome.get("message"):
        lines.append(f"not applied: {outcome['message']}")
    return lines
