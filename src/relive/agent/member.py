"""One process of a program under ``relive run``: its channel to the front end, and how every
process of the program takes part in an edit.

The first process (:mod:`relive.agent.supervised`) talks to the front end over two pipes. Every
other Python process of the program joins the session over the front end's socket: a child it
forks (``multiprocessing``'s fork and forkserver workers, gunicorn's workers, ``os.fork``), by
the fork hook here; a new interpreter it starts (``multiprocessing``'s spawn, ``subprocess`` with
``sys.executable``, uvicorn's workers), by :mod:`relive._boot`'s ``sitecustomize``, which finds
the session in the environment (:data:`SESSION_VARIABLE`). A process joins with the session's
token (the socket's directory is its owner's alone as well), and gets the sources the session
runs where they are not the files' (an edit that was refused stays on disk): it imports those.

An edit is applied to every process in two phases (:class:`Member` carries out a process's
part): the front end sends ``prepare`` with the file's new content; each process computes the
delta from its own baseline, checks and plans the apply (holding its apply lock) and answers
``prepared``; only when every process is ready does the front end send ``commit`` (else
``abort``), and each answers with what the apply did. The messages, one JSON object per line:

- from the front end: ``{"t": "prepare", "id": N, "path": P, "data": TEXT}`` (``data``: the
  file's bytes as Latin-1 text; ``"want": true`` asks for the source the process runs, sent
  back as ``"runs"``), ``{"t": "commit", "id": N}``, ``{"t": "abort", "id": N, "reason": R}``,
  ``{"t": "stop"}`` (end now, for a restart); in answer to a joining process's ``hello``,
  ``{"t": "welcome", "pinned": {path: TEXT}}`` (or ``{"t": "refused"}``: a wrong token);
- to the front end: ``{"t": "hello", "token": T, "pid": PID}`` (a joining process, first),
  ``{"t": "prepared", "id": N, "status": "ready" | "refused" | "same" | "untracked" |
  "empty" | "failed", "record": ...}`` (a refusal's ``result`` record; ``same``: it runs that
  content already; ``empty``: an empty file where the module is not, which editors show for a
  moment; ``failed``: relive itself failed, with ``error``), ``{"t": "committed", "id": N,
  "record": ...}``, ``{"t": "aborted", "id": N}``; ``watch``, ``exit`` and the records of
  :mod:`relive.agent.records` as :mod:`relive.agent.supervised` describes them.
"""

from __future__ import annotations

import _thread
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from relive.agent.channel import Channel, fingerprint, read_line
from relive.agent.records import record, result_record
from relive.runtime import events, importhook
from relive.runtime.api import looks_truncated, prepare_reload
from relive.runtime.apply.pipeline import Prepared, told
from relive.runtime.registry import REGISTRY, TrackedModule

SESSION_VARIABLE = "RELIVE_SESSION"
"""The environment variable that leads a new interpreter of the program to its session: JSON
with the socket, the token, the tracking options, relive's directory and the Python version."""

_STOP_WAIT_S = 0.3  # for the main thread to reach a bytecode; longer: it is blocked in C
_JOIN_TIMEOUT_S = 10.0  # for the front end to welcome a joining process


class Member:
    """This process's part in the session: the channel, and the applies it has prepared."""

    def __init__(self, channel: Channel, session: dict[str, Any] | None) -> None:
        self.channel = channel
        self.session = session  # how a child joins (None: children do not)
        self.pending: dict[int, Prepared] = {}
        self.dirs: set[str] = set()
        self._quiet = threading.local()  # set while a phase's own results are answered

    # -- what this process tells the front end -------------------------------------------

    def tracked(self, tracked: TrackedModule) -> None:
        """A module is tracked (from the importing thread): the directory to watch when it is
        new, and the fingerprint of the source this process runs, which the front end
        compares with the file once the watch is in place."""
        directory = os.path.dirname(tracked.filename)
        dirs = [] if directory in self.dirs else [directory]
        self.dirs.add(directory)
        source = tracked.source_bytes
        files = {} if source is None else {tracked.filename: fingerprint(source)}
        if dirs or files:
            self.channel.send({"t": "watch", "dirs": dirs, "files": files})

    def observed(self, item: events.RuntimeEvent) -> None:
        """An events observer: what happens here goes to the front end, but for the results
        of a phase, which the phase's answer carries."""
        found = record(item)
        if getattr(self._quiet, "on", False) and found["t"] == "result":
            return
        self.channel.send(found)

    # -- the channel thread --------------------------------------------------------------

    def serve(self) -> None:
        """Carry out what the front end asks until the channel closes."""
        channel = self.channel
        pending = b""
        while True:
            try:
                chunk = channel.receive() if channel.ours() else b""
            except OSError:
                chunk = b""
            if self.channel is not channel:
                return  # a forked child: this thread is its parent's
            if not channel.ours():
                return  # the program closed the channel: it runs on without edits
            if not chunk:
                self._front_end_gone()
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                try:
                    self.request(json.loads(line))
                except Exception:  # one bad request must not end the channel
                    continue

    def _front_end_gone(self) -> None:
        """relive was killed: so is every process of the program, as with its terminal."""
        os.kill(os.getpid(), signal.SIGKILL)

    def request(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "prepare":
            ident = int(message["id"])
            try:
                answer = self.prepare(ident, str(message["path"]),
                                      str(message["data"]).encode("latin-1"),
                                      bool(message.get("want")))
            except Exception as exc:  # a relive bug: this process refuses, and says why
                answer = {"t": "prepared", "id": ident, "pid": os.getpid(),
                          "status": "failed", "error": f"relive failed here: {exc!r}"}
            self.channel.send(answer)
        elif kind == "commit":
            prepared = self.pending.pop(int(message["id"]), None)
            if prepared is not None:
                result = self._phase(prepared.commit)
                self.channel.send({"t": "committed", "id": message["id"],
                                   "record": result_record(result)})
        elif kind == "abort":
            prepared = self.pending.pop(int(message["id"]), None)
            if prepared is not None:
                self._phase(lambda: prepared.abort(str(message.get("reason") or "aborted")))
                self.channel.send({"t": "aborted", "id": message["id"]})
        elif kind == "stop":
            stop_program()

    def prepare(self, ident: int, path: str, data: bytes, want: bool) -> dict[str, Any]:
        """The first phase of an edit of ``path`` here; the answer."""
        answer: dict[str, Any] = {"t": "prepared", "id": ident, "pid": os.getpid()}
        tracked = REGISTRY.by_file(path)
        if tracked is None:
            return {**answer, "status": "untracked"}
        runs = tracked.source_bytes
        if want and runs is not None:
            answer["runs"] = runs.decode("latin-1")
        if runs == data:
            return {**answer, "status": "same"}
        if looks_truncated(tracked, data):
            return {**answer, "status": "empty"}
        found = prepare_reload(tracked, data)
        if isinstance(found, Prepared):
            self.pending[ident] = found
            return {**answer, "status": "ready"}
        self._phase(lambda: told(found))
        return {**answer, "status": "refused", "record": result_record(found)}

    def _phase(self, act: Callable[[], Any]) -> Any:
        self._quiet.on = True
        try:
            return act()
        finally:
            self._quiet.on = False

    # -- children ------------------------------------------------------------------------

    def after_fork(self) -> None:
        """In a forked child: its own connection to the session (the pipes and socket of the
        parent stay the parent's), or none, and the child runs on without edits."""
        self.pending.clear()  # the parent's to commit or abort
        REGISTRY.apply_lock = threading.RLock()  # held, maybe, by a thread the child lacks
        self.channel.close()  # the parent's: the front end must see it end with the parent
        self.channel = Channel.closed()
        if self.session is None:
            return
        child = dict(self.session, main=False)
        channel = connect(child)
        if channel is not None:
            self.channel = channel
            self.session = child
            self.dirs.clear()
            start_thread(self.serve)
            for tracked in list(REGISTRY):
                self.tracked(tracked)


MEMBER: Member | None = None


def listen(member: Member) -> None:
    """Make ``member`` this process's part in the session: what the runtime tracks and does
    goes to the front end through it, and a forked child makes its own."""
    global MEMBER
    first = MEMBER is None
    MEMBER = member
    if first:
        REGISTRY.listen(lambda tracked: _current().tracked(tracked))
        events.observe(lambda item: _current().observed(item))
        os.register_at_fork(after_in_child=lambda: _current().after_fork())


def _current() -> Member:
    assert MEMBER is not None
    return MEMBER


def join(session: dict[str, Any]) -> None:
    """A new interpreter the program started joins its session (from ``sitecustomize``,
    before the interpreter runs anything of the program's): its modules are tracked as the
    first process's are, and it takes every edit from now on."""
    channel = connect(session)
    if channel is None:
        return
    member = Member(channel, dict(session, main=False))
    listen(member)
    from relive.runtime import install
    from relive.runtime.remap import schedule

    install(session["paths"], enc=session["enc"])
    schedule.set_default_policy(session["remap"])
    _track_multiprocessing_main()
    start_thread(member.serve)


def _track_multiprocessing_main() -> None:
    """In a child that ``multiprocessing`` started (spawn, forkserver), the parent's main
    script runs again as ``__mp_main__``: through relive, so that it is tracked like the
    parent's ``__main__`` (the functions a pool runs are mostly there)."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-c" not in argv[:-1] or "multiprocessing" not in argv[argv.index("-c") + 1]:
        return
    import multiprocessing.spawn as spawn

    from relive.runtime.program import run_script_as

    original = spawn._fixup_main_from_path  # type: ignore[attr-defined]

    def fixup(main_path: str) -> None:
        current = sys.modules["__main__"]
        name = os.path.splitext(os.path.basename(main_path))[0]
        if (name == "ipython" or getattr(current, "__file__", None) == main_path
                or not REGISTRY.filter.accepts(os.path.abspath(main_path))):
            original(main_path)
            return
        spawn.old_main_modules.append(current)
        sys.modules["__main__"] = run_script_as("__mp_main__", main_path)

    spawn._fixup_main_from_path = fixup  # type: ignore[attr-defined]


def start_thread(target: Callable[[], None]) -> None:
    """Start ``target`` in relive's thread, which never takes the program's signals: it starts
    with them blocked (a mask set in the thread itself could come too late on a loaded
    machine, and a signal it took would wait for the main thread's next bytecode, which a main
    thread sleeping in C may not run for long). Started with ``_thread``, so that
    ``threading.enumerate()`` stays the program's."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _thread.start_new_thread(target, ())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def connect(session: dict[str, Any]) -> Channel | None:
    """Join the session over its socket: a channel, with the sources the session pins put in
    place for imports to come; None when the front end does not answer (or is gone)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(_JOIN_TIMEOUT_S)
        sock.connect(session["socket"])
        hello = {"t": "hello", "token": session["token"], "pid": os.getpid(),
                 "ppid": os.getppid()}
        sock.sendall((json.dumps(hello) + "\n").encode())
        welcome = read_line(sock)
        sock.settimeout(None)
    except (OSError, ValueError):
        sock.close()
        return None
    if welcome is None or welcome.get("t") != "welcome":
        sock.close()
        return None
    importhook.PINNED.clear()
    from relive.runtime.files import normalize

    for path, text in (welcome.get("pinned") or {}).items():
        importhook.PINNED[normalize(path)] = str(text).encode("latin-1")
    fd = sock.detach()
    return Channel(fd, fd)


def session_variable(session: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in session.items() if k != "main"})


def pass_on(session: dict[str, Any], boot: str) -> None:
    """Let the program's new interpreters join: the session in the environment, and
    relive's ``sitecustomize`` first on ``PYTHONPATH`` (it runs the program's own after)."""
    os.environ[SESSION_VARIABLE] = session_variable(session)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = boot if not old else boot + os.pathsep + old


def stop_program() -> None:
    """End the program for a restart: from its main thread between two bytecodes, or from
    here if the main thread is blocked (in a system call, not in the middle of a print)."""
    main = threading.main_thread()
    if main.ident is not None and main.is_alive():
        from relive._cpython.threadstate import raise_in

        raise_in(main.ident, _EndNow)
        time.sleep(_STOP_WAIT_S)
    _end_now()


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
