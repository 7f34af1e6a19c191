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
reads the channel from the front end, two pipes carrying one JSON object per line; a message
to the front end is written by the thread where it arises (an import, an apply, a remap):

- from the front end: ``{"t": "changed", "paths": [...]}`` (apply these saved files) and
  ``{"t": "stop"}`` (end the program now, for a restart);
- to the front end: ``{"t": "watch", "dirs": [...], "files": {path: fingerprint}}`` (as the
  program imports each tracked module: its directory if new, and the
  :func:`~relive.agent.channel.fingerprint` of the source the program runs; once the watch
  covers them, the front end compares the files on disk and sends those that differ as
  ``changed``: a save made before the watch was in place is applied too), the records of
  :mod:`relive.agent.records`, and ``{"t": "exit", "signal": 2}`` (the program ends of an
  uncaught ``KeyboardInterrupt``: the front end ends the same way, killed by SIGINT, as
  ``python`` does).

When the front end is gone (its end of the pipe closes: it was killed), the program is killed
too, as it would be with its terminal.
"""

from __future__ import annotations

import _thread
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from relive.agent.channel import Channel, fingerprint
from relive.agent.records import record
from relive.runtime import events, install
from relive.runtime.program import MainTarget, ProgramError, execute, prepare, report_uncaught
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.watch import SavedFiles

_STOP_WAIT_S = 0.3  # for the main thread to reach a bytecode; longer: it is blocked in C


def main() -> None:
    """Run the program given on the command line (see the module docstring)."""
    config = json.loads(sys.argv[1])
    args = tuple(sys.argv[2:])
    _restore_orig_argv(config["module"], args)
    channel = Channel(config["read"], config["write"])
    REGISTRY.listen(_Told(channel))
    install(config["paths"], enc=config["enc"])
    from relive.runtime.remap import schedule

    schedule.set_default_policy(config["remap"])
    target = (MainTarget(module=config["module"], args=args) if config["module"] is not None
              else MainTarget(path=args[0], args=args[1:]))
    # applies, refusals, notices and remaps go to the front end
    events.observe(lambda item: channel.send(record(item)))
    if config["module"] is not None:
        import runpy  # noqa: F401  (python -m has it imported when the module starts)
    try:
        main_module, code = prepare(target)
    except ProgramError as exc:
        print(f"relive run: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # The channel thread never takes the program's signals: it starts with them blocked (a
    # mask set in the thread itself could come too late on a loaded machine, and a signal it
    # took would wait for the main thread's next bytecode, which a main thread sleeping in C
    # may not run for long).
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _thread.start_new_thread(_serve, (channel, SavedFiles()))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
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
    """The channel thread: carries out what the front end asks.

    It waits in a read and does nothing else: a program that counts its objects
    (``len(gc.get_objects())``, as leak tests do) counts the same whenever it looks, as under
    ``python``; only an edit makes objects come and go."""
    pending = b""
    while True:
        try:
            chunk = os.read(channel.read_fd, 65536) if channel.ours() else b""
        except OSError:
            chunk = b""
        if not channel.ours():
            return  # the program closed the channel: it runs on without edits
        if not chunk:
            _front_end_gone()
            return
        pending = _requests(pending + chunk, saved)


def _requests(data: bytes, saved: SavedFiles) -> bytes:
    """Carry out the requests on the whole lines of ``data``; the start of a line to come."""
    *lines, rest = data.split(b"\n")
    for line in lines:
        try:
            _request(json.loads(line), saved)
        except Exception:  # one bad request must not end the channel
            continue
    return rest


class _Told:
    """Tells the front end of each module tracked, from the thread that imports it: the
    directory to watch when it is new, and the fingerprint of the source the program runs,
    which the front end compares with the file once the watch is in place (a save made in
    between is sent back as a change)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.dirs: set[str] = set()

    def __call__(self, tracked: TrackedModule) -> None:
        directory = os.path.dirname(tracked.filename)
        dirs = [] if directory in self.dirs else [directory]
        self.dirs.add(directory)
        source = tracked.source_bytes
        files = {} if source is None else {tracked.filename: fingerprint(source)}
        if dirs or files:
            self.channel.send({"t": "watch", "dirs": dirs, "files": files})


def _request(message: dict[str, Any], saved: SavedFiles) -> None:
    kind = message.get("t")
    if kind == "changed":
        for path in message.get("paths", ()):
            saved.handle(path)
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
        from relive._cpython.threadstate import raise_in

        raise_in(main.ident, _EndNow)
        time.sleep(_STOP_WAIT_S)
    _end_now()


def _front_end_gone() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
