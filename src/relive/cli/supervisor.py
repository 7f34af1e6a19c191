"""``relive run``'s own process: the program runs in a child process, which is its own.

This process starts the program (:mod:`relive.agent.supervised`) as ``python`` would have run
it -- same interpreter and interpreter options, environment, directory, standard streams,
inherited file descriptors, signal mask and dispositions -- watches the directories of its
tracked modules (:mod:`relive.cli.watch`), tells it which files changed, prints what each apply
did, and restarts it after a rude edit when the policy says so. Nothing of this process
(``watchfiles``, ``rich``, argument parsing) is ever imported into the program's.

Signals: this process blocks the ones it relays and takes them with ``sigtimedwait``, which
says where each came from. A signal sent to this process (``kill``, a process manager) is
passed on to the program; one the terminal sends (Ctrl-C, Ctrl-\\, a hang-up) is not: the
program is in the same process group and got its own. (A signal a process sends to the whole
group, ``kill -- -PGID`` or ``timeout``, reaches the program twice: once directly, once
relayed; nothing in the signal tells a group's from this process's own.) When the program
ends, this process ends the same way: its exit status, or killed by the same signal (an
uncaught ``KeyboardInterrupt`` ends in SIGINT, as with ``python``). Without ``sigtimedwait``
(macOS) signals are relayed by handlers, all but SIGINT and SIGQUIT, which are taken as the
terminal's.

Every Python process the program starts joins the session and takes every edit, all of them
or none (:mod:`relive.cli.fleet`).

A restart ends the whole process tree of the program and starts it again with the same
arguments, environment and directory: the first process between two bytecodes of its main
thread (or, when that thread is blocked in a system call, from its channel thread), the
processes it started with SIGTERM; any of them still there after the grace period
(``--grace``, :data:`STOP_GRACE_S` by default) with SIGKILL. On Linux this process is the
tree's subreaper: a process the program started and left behind (a daemon, a server's worker
whose parent ended) is still found, and ended, at a restart.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from relive.cli.fleet import Fleet, Member
from relive.cli.report import Reporter, needs_restart
from relive.cli.watch import DirWatcher

# what the program's process runs first (see relive.agent.supervised): relive's directory is
# on sys.path only while that module is imported, so the program's sys.path is python's own
BOOTSTRAP = ("import sys; sys.path.insert(0, {root!r}); "
             "import relive.agent.supervised as s; del sys.path[0]; s.main()")

# signals relayed to the program when they are sent to this process
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2)
STOP_GRACE_S = 5.0  # after asking the program to stop for a restart, before SIGKILL


@dataclass(frozen=True)
class Options:
    """What ``relive run`` was asked to do, besides running the program."""

    policy: str  # after a rude edit: "ask", "restart" or "ignore"
    paths: list[str] | None
    enc: bool
    remap: str
    grace: float = STOP_GRACE_S  # at a restart, from SIGTERM to SIGKILL


def relayed(si_code: int, si_pid: int, program_pid: int) -> bool:
    """Whether a signal this process took goes on to the program. Only one that a process
    sent (``kill``: ``si_code`` <= 0); not one the kernel sent (the terminal's Ctrl-C or
    hang-up, ``SI_KERNEL``), which the program, in the same process group, got as well; and
    not one the program sent to its parent."""
    return si_code <= 0 and si_pid != program_pid


def interpreter_options() -> list[str]:
    """The interpreter options this process was started with (``-X dev``, ``-W error``,
    ``-O``...), for the program's process, without what started relive itself."""
    orig = list(getattr(sys, "orig_argv", ()))
    tail = sys.argv[1:]
    if len(orig) > len(tail) and orig[len(orig) - len(tail):] == tail:
        head = orig[1:len(orig) - len(tail)]
        if len(head) >= 2 and head[-2] in ("-m", "-c"):
            return head[:-2]  # python -m relive / python -c "..."
        if head:
            return head[:-1]  # python -mrelive, or the `relive` script
    import subprocess

    return list(subprocess._args_from_interpreter_flags())  # type: ignore[attr-defined]


class Supervisor:
    """Runs the program, again after each restart, until it ends of itself."""

    def __init__(self, program_args: Sequence[str], module: str | None, options: Options,
                 reporter: Reporter, ask: Callable[[], bool]) -> None:
        self.program_args = list(program_args)
        self.module = module
        self.options = options
        self.reporter = reporter
        self.ask = ask
        self.restarts = 0
        self._current: Member | None = None
        self._fleet: Fleet | None = None
        self._lock = threading.Lock()
        self.watcher = DirWatcher(on_changes=self._changed, on_armed=self._armed)

    # -- the main thread -----------------------------------------------------------------

    def run(self, describe: str) -> int:
        relay = hasattr(signal, "sigtimedwait")
        # blocked before any thread starts, so that every thread of this process has them
        # blocked and only sigtimedwait below takes them
        original_mask = signal.pthread_sigmask(signal.SIG_BLOCK,
                                               {*RELAYED, signal.SIGCHLD} if relay else ())
        if not relay:  # no sigtimedwait (macOS): relay with handlers, not knowing the sender
            self._relay_with_handlers()
        subreaper = _become_subreaper()
        try:
            while True:
                fleet = Fleet(self._report, self._notice)
                fleet.on_join = functools.partial(self._joined, fleet)
                program = self._spawn(original_mask, fleet)
                self.reporter.event("started", target=describe, pid=program.pid,
                                    restarts=self.restarts)
                status = self._wait(program, subreaper) if relay else self._poll(program)
                self._finish(program)
                if not program.restarting:
                    fleet.close()
                    return self._end_as(status, program.exit_signal)
                _end_tree(program, self.options.grace)
                fleet.close()
                self.restarts += 1
        finally:
            self.watcher.stop(wait=False)

    def _spawn(self, mask: set[int | signal.Signals], fleet: Fleet) -> Member:
        import relive

        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        root = os.path.dirname(os.path.dirname(os.path.abspath(relive.__file__)))
        session = {"socket": fleet.socket_path, "token": fleet.token,
                   "paths": self.options.paths, "enc": self.options.enc,
                   "remap": self.options.remap, "root": root,
                   "version": "{}.{}".format(*sys.version_info[:2])}
        config = {"read": to_read, "write": from_write, "module": self.module,
                  "session": session, "boot": os.path.join(root, "relive", "_boot")}
        argv = [sys.executable, *interpreter_options(), "-c", BOOTSTRAP.format(root=root),
                json.dumps(config), *self.program_args]
        # inheritable just for the spawn; the program's process makes them close-on-exec again
        os.set_inheritable(to_read, True)
        os.set_inheritable(from_write, True)
        # as a shell would start python: Python itself ignores these two in this process
        defaults = {signal.SIGPIPE, signal.SIGXFSZ}
        if not hasattr(signal, "sigtimedwait"):
            defaults |= set(RELAYED)
        try:
            pid = os.posix_spawn(sys.executable, argv, os.environ, setsigmask=mask,
                                 setsigdef=defaults)
        except OSError:
            os.close(to_write)
            os.close(from_read)
            raise
        finally:
            os.close(to_read)
            os.close(from_write)
        program = Member(pid, to_write, from_read, main=True)
        with self._lock:
            self._current = program
            self._fleet = fleet
        fleet.add(program, self._message)
        return program

    def _wait(self, program: Member, subreaper: bool) -> int:
        """Relay signals until the program ends; its wait status."""
        taken = {*RELAYED, signal.SIGCHLD}
        while True:
            pid, status = os.waitpid(program.pid, os.WNOHANG)
            if pid:
                program.reaped.set()
                return status
            if subreaper:
                _reap_others(program.pid)
            info = signal.sigtimedwait(taken, 0.5)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if not relayed(info.si_code, info.si_pid, program.pid):
                continue
            _send_signal(program.pid, info.si_signo)

    def _poll(self, program: Member) -> int:
        _pid, status = os.waitpid(program.pid, 0)
        program.reaped.set()
        return status

    def _relay_with_handlers(self) -> None:
        def relay(signum: int, _frame: object) -> None:
            with self._lock:
                current = self._current
            if current is not None and signum not in (signal.SIGINT, signal.SIGQUIT):
                _send_signal(current.pid, signum)

        for signum in RELAYED:
            signal.signal(signum, relay)

    def _finish(self, program: Member) -> None:
        """Read what the program said last (its last applies), then close the channel."""
        if program.reader is not None:
            # a child of the program may hold the pipe open: do not wait for it
            program.reader.join(timeout=1.0)
        with self._lock:
            if self._current is program:
                self._current = None
        program.close()

    def _end_as(self, status: int, asked_signal: int | None) -> int:
        """This process's exit status: the program's, or death by the program's signal."""
        self.watcher.stop(wait=False)
        self.reporter.close()
        if os.WIFSIGNALED(status):
            return _die_of(os.WTERMSIG(status))
        if asked_signal is not None:
            return _die_of(asked_signal)
        return os.waitstatus_to_exitcode(status)

    # -- the channel threads (one per process of the program) ------------------------------

    def _joined(self, fleet: Fleet, member: Member) -> None:
        self.reporter.event("joined", pid=member.pid)
        fleet.add(member, self._message)

    def _message(self, member: Member, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "watch":
            with self._lock:
                fleet = self._fleet
            if fleet is not None:
                fleet.told(member, message.get("files") or {})
            self.watcher.add(message["dirs"])
            if self.watcher.armed and fleet is not None:
                fleet.check(member)  # else on_armed does, once the watch is in place
        elif kind == "exit":
            member.exit_signal = int(message["signal"])
        else:
            if not member.main and "text" in message:
                message = dict(message, text=f"process {member.pid}: {message['text']}")
            self.reporter(dict(message, pid=member.pid))

    # -- the apply thread ------------------------------------------------------------------

    def _report(self, outcome: str, results: list[tuple[Member, dict[str, Any]]],
                seconds: float) -> None:
        if outcome == "ended":
            for member, _record in results:
                self.reporter.line("warn", f"process {member.pid} ended while an edit was "
                                           f"applied; the other processes are consistent")
            return
        processes = len(results) if outcome == "applied" else 1
        for i, (member, record) in enumerate(results):
            self.reporter.result(record, pid=member.pid, show=i == 0, processes=processes,
                                 took_ms=seconds * 1e3)
        if outcome == "refused" and needs_restart(results[0][1]):
            with self._lock:
                current = self._current
            if current is not None:
                self._refused(current)

    def _notice(self, path: str, message: str) -> None:
        self.reporter({"t": "notice", "file": path, "module": None, "message": message})

    def _refused(self, program: Member) -> None:
        policy = self.options.policy
        if policy == "ignore" or (policy == "ask" and not self.ask()):
            self.reporter.line("info", "keeping the running program; the edit is not applied")
            return
        if program.restarting or program.reaped.is_set():
            return
        self.reporter.line("info", "restarting the program")
        self.reporter.event("restart", pid=program.pid, restarts=self.restarts + 1)
        program.restarting = True
        # the processes it started, found now (without a subreaper they are lost once it ends)
        program.tree = _tree(program.pid)
        program.send({"t": "stop"})
        threading.Thread(target=_kill_if_alive, args=(program, self.options.grace),
                         name="relive-stop", daemon=True).start()

    # -- the watcher thread ---------------------------------------------------------------

    def _changed(self, paths: list[str]) -> None:
        with self._lock:
            fleet = self._fleet
        if fleet is not None:
            fleet.saved(paths)

    def _armed(self) -> None:
        with self._lock:
            fleet = self._fleet
        if fleet is not None:
            for member in fleet.alive():
                fleet.check(member)


# -- the program's process tree (Linux: /proc; elsewhere, the first process alone) -----------

PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> bool:
    """Make this process the subreaper of the program's tree (Linux): a process the program
    leaves behind becomes this one's child, not init's, and a restart still finds it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _reap_others(program_pid: int) -> None:
    """Reap the program's processes that ended after they were left to this subreaper."""
    for pid in _children(os.getpid()):
        if pid != program_pid:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            continue
    return found


def _tree(root: int) -> list[int]:
    """``root``'s descendants, parents before children (none where /proc has no children)."""
    found: list[int] = []
    todo = [root]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _end_tree(program: Member, grace: float) -> None:
    """After the program's first process ended for a restart: the processes it started (found
    before it ended, and this subreaper's children now) get SIGTERM and the grace period, then
    SIGKILL; returns when none is left."""
    deadline = time.monotonic() + grace
    left = [pid for pid in dict.fromkeys([*program.tree, *_tree(os.getpid())])
            if pid != program.pid]
    for pid in left:
        _send_signal(pid, signal.SIGTERM)
    while left:
        _reap_others(program.pid)
        left = [pid for pid in left if _alive(pid)]
        if not left:
            _reap_others(program.pid)
            return
        if time.monotonic() > deadline:
            for pid in left:
                _send_signal(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still a process that has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_if_alive(program: Member, grace: float) -> None:
    """The program did not stop when asked (its process is stuck): kill it."""
    if not program.reaped.wait(grace):
        _send_signal(program.pid, signal.SIGKILL)


def _send_signal(pid: int, signum: int) -> None:
    """Send ``signum`` to ``pid`` unless it has ended already."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _die_of(signum: int) -> int:
    """End this process killed by ``signum``, as the program was (128 + signum if it cannot)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        import resource

        # the program dumped its core, if it did; this process has nothing to add
        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    except (ImportError, ValueError, OSError):
        pass
    try:
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    return 128 + signum
