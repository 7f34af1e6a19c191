"""The program's own process under ``relive run``.

``relive run`` (the front end, :mod:`relive.cli.supervisor`) watches the files and starts the
program in a process of its own::

    python [the front end's interpreter options] -c BOOTSTRAP CONFIG [script | -m module] ARGS

:data:`relive.cli.supervisor.BOOTSTRAP` imports this module and calls :func:`main`, which
tracks the program's modules (:func:`relive.install`), makes ``__main__`` as ``python`` would,
and runs the program in the main thread. Before the program's first line, this process holds
relive's runtime and the standard library modules it needs, nothing else: no third-party
module (``watchfiles``, ``rich`` and the front end stay in the front end's process), no signal
handler, warnings filter, environment variable, ``atexit`` function or ``threading`` thread of
relive's; ``sys.argv``, ``sys.orig_argv``, ``sys.path`` and ``__main__`` are python's.

One thread (started with ``_thread``, so that ``threading.enumerate()`` stays the program's)
serves the channel to the front end, two pipes carrying one JSON object per line:

- from the front end: ``{"t": "changed", "paths": [...]}`` (apply these saved files),
  ``{"t": "catch_up"}`` (the watch is in place: apply whatever differs from what runs), and
  ``{"t": "stop"}`` (end the program now, for a restart);
- to the front end: ``{"t": "watch", "dirs": [...]}`` (directories of tracked files, as the
  program imports them), the records of :mod:`relive.agent.records`, and
  ``{"t": "exit", "signal": 2}`` (the program ends of an uncaught ``KeyboardInterrupt``: the
  front end ends the same way, killed by SIGINT, as ``python`` does).

When the front end is gone (its end of the pipe closes: it was killed), the program is killed
too, as it would be with its terminal.
"""

from __future__ import annotations

import _thread
import json
import os
import select
import signal
import sys
import threading
import time
from typing import Any

from relive.agent.records import record
from relive.runtime import events, install
from relive.runtime.events import RuntimeEvent
from relive.runtime.program import MainTarget, ProgramError, execute, prepare, report_uncaught
from relive.runtime.watch import SavedFiles

_POLL_S = 0.2  # how often the thread looks for directories of newly imported modules
_STOP_WAIT_S = 0.3  # for the main thread to reach a bytecode; longer: it is blocked in C


class Channel:
    """The two pipes to the front end; writes are whole lines, from any thread."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        # the program's own child processes must not hold them (nor see them)
        os.set_inheritable(read_fd, False)
        os.set_inheritable(write_fd, False)
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._ids = (self._id(read_fd), self._id(write_fd))

    @staticmethod
    def _id(fd: int) -> tuple[int, int] | None:
        try:
            st = os.fstat(fd)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def ours(self) -> bool:
        """Both descriptors are still the channel's pipes: the program may close descriptors
        it does not know (``os.closerange``) and open others under the same numbers."""
        return (self._id(self.read_fd), self._id(self.write_fd)) == self._ids

    def send(self, message: dict[str, Any]) -> None:
        if os.getpid() != self._pid:
            return  # a forked child of the program: the channel is its parent's
        data = (json.dumps(message, default=str) + "\n").encode()
        with self._lock:
            if not self.ours():
                return
            try:
                while data:
                    data = data[os.write(self.write_fd, data):]
            except OSError:
                pass  # the front end is gone; the thread finds out and acts

    def observe(self, item: RuntimeEvent) -> None:
        """An events observer: applies, refusals, notices and remaps go to the front end."""
        self.send(record(item))


def main() -> None:
    """Run the program given on the command line (see the module docstring)."""
    config = json.loads(sys.argv[1])
    args = tuple(sys.argv[2:])
    _restore_orig_argv(config["module"], args)
    channel = Channel(config["read"], config["write"])
    install(config["paths"], enc=config["enc"])
    from relive.runtime.remap import schedule

    schedule.set_default_policy(config["remap"])
    target = (MainTarget(module=config["module"], args=args) if config["module"] is not None
              else MainTarget(path=args[0], args=args[1:]))
    events.observe(channel.observe)
    if config["module"] is not None:
        import runpy  # noqa: F401  (python -m has it imported when the module starts)
    try:
        main_module, code = prepare(target)
    except ProgramError as exc:
        print(f"relive run: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    _thread.start_new_thread(_serve, (channel, SavedFiles()))
    try:
        execute(main_module, code)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        report_uncaught(exc)
        channel.send({"t": "exit", "signal": int(signal.SIGINT)})
        raise SystemExit(130) from None
    except BaseException as exc:
        report_uncaught(exc)
        raise SystemExit(1) from None


def _restore_orig_argv(module: str | None, args: tuple[str, ...]) -> None:
    """``sys.orig_argv`` as ``python [options] script args`` (or ``-m module args``) gives it,
    without the bootstrap: a program that starts itself again from it runs as it was run."""
    orig = sys.orig_argv
    options = orig[1:len(orig) - len(sys.argv) - 1]  # before "-c BOOTSTRAP CONFIG ARGS"
    sys.orig_argv = [orig[0], *options, *(("-m", module) if module is not None else ()), *args]


def _serve(channel: Channel, saved: SavedFiles) -> None:
    """The channel thread: what the front end asks, and the directories it must watch."""
    told: set[str] = set()
    pending = b""
    while True:
        dirs = saved.dirs()
        if dirs - told:
            channel.send({"t": "watch", "dirs": sorted(dirs - told)})
            told |= dirs
        try:
            ready, _, _ = select.select([channel.read_fd], [], [], _POLL_S)
            if not ready:
                continue
            chunk = os.read(channel.read_fd, 65536) if channel.ours() else b""
        except OSError:
            chunk = b""
        if not channel.ours():
            return  # the program closed the channel: it runs on without edits
        if not chunk:
            _front_end_gone()
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            try:
                _request(json.loads(line), saved)
            except Exception:  # one bad request must not end the channel
                continue


def _request(message: dict[str, Any], saved: SavedFiles) -> None:
    kind = message.get("t")
    if kind == "changed":
        for path in message.get("paths", ()):
            saved.handle(path)
    elif kind == "catch_up":
        saved.catch_up()
    elif kind == "stop":
        _stop_program()


class _EndNow(BaseException):
    """Raised in the main thread to end the process where it stands.

    CPython makes the exception object (and so runs this ``__init__``) before any handler of
    the program runs -- no ``except`` or ``finally`` block, no ``with`` exit -- so the
    process ends between two bytecodes: a line being printed is finished, not cut.
    """

    def __init__(self, *args: object) -> None:
        _end_now()


def _end_now() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed stream must not stop the restart
            pass
    os._exit(0)


def _stop_program() -> None:
    """End the program for a restart: from its main thread between two bytecodes, or from
    here if the main thread is blocked (in a system call, not in the middle of a print)."""
    main = threading.main_thread()
    if main.ident is not None and main.is_alive():
        import ctypes

        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(main.ident),
                                                   ctypes.py_object(_EndNow))
        time.sleep(_STOP_WAIT_S)
    _end_now()


def _front_end_gone() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
