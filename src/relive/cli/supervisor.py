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

A restart ends the program between two bytecodes of its main thread (or, when that thread is
blocked in a system call, from the program's channel thread; or with SIGKILL after
:data:`STOP_GRACE_S`) and starts a new process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from relive.agent.channel import fingerprint
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


class Program:
    """One process of the program, and the channel to it."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self.to_child = to_child
        self.from_child = from_child
        self.restarting = False
        self.exit_signal: int | None = None  # what it asked to end with (SIGINT)
        self.reaped = threading.Event()
        self._lock = threading.Lock()
        self.reader: threading.Thread | None = None
        # files the program told of, with the fingerprint of the source it runs, not yet
        # compared with the disk (that waits until the watch covers them)
        self.unchecked: dict[str, str] = {}

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._lock:
            try:
                while data:
                    data = data[os.write(self.to_child, data):]
            except OSError:
                pass  # it has ended; the main thread finds out

    def close(self) -> None:
        """Close the way to the program (the reader closes the way back when it is done)."""
        try:
            os.close(self.to_child)
        except OSError:
            pass


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
        self._current: Program | None = None
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
        try:
            while True:
                program = self._spawn(original_mask)
                self.reporter.event("started", target=describe, pid=program.pid,
                                    restarts=self.restarts)
                status = self._wait(program) if relay else self._poll(program)
                self._finish(program)
                if not program.restarting:
                    return self._end_as(status, program.exit_signal)
                self.restarts += 1
        finally:
            self.watcher.stop(wait=False)

    def _spawn(self, mask: set[int | signal.Signals]) -> Program:
        import relive

        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        config = {"read": to_read, "write": from_write, "paths": self.options.paths,
                  "enc": self.options.enc, "remap": self.options.remap,
                  "module": self.module}
        root = os.path.dirname(os.path.dirname(os.path.abspath(relive.__file__)))
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
        program = Program(pid, to_write, from_read)
        program.reader = threading.Thread(target=self._read, args=(program,),
                                          name="relive-channel", daemon=True)
        with self._lock:
            self._current = program
        program.reader.start()
        return program

    def _wait(self, program: Program) -> int:
        """Relay signals until the program ends; its wait status."""
        taken = {*RELAYED, signal.SIGCHLD}
        while True:
            pid, status = os.waitpid(program.pid, os.WNOHANG)
            if pid:
                program.reaped.set()
                return status
            info = signal.sigtimedwait(taken, 0.5)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if not relayed(info.si_code, info.si_pid, program.pid):
                continue
            try:
                os.kill(program.pid, info.si_signo)
            except ProcessLookupError:
                pass

    def _poll(self, program: Program) -> int:
        _pid, status = os.waitpid(program.pid, 0)
        program.reaped.set()
        return status

    def _relay_with_handlers(self) -> None:
        def relay(signum: int, _frame: object) -> None:
            with self._lock:
                current = self._current
            if current is not None and signum not in (signal.SIGINT, signal.SIGQUIT):
                try:
                    os.kill(current.pid, signum)
                except ProcessLookupError:
                    pass

        for signum in RELAYED:
            signal.signal(signum, relay)

    def _finish(self, program: Program) -> None:
        """Read what the program said last (its last applies), then close the channel."""
        if program.reader is not None:
            # a forked child of the program may hold the pipe open: do not wait for it
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

    # -- the channel thread (one per program process) --------------------------------------

    def _read(self, program: Program) -> None:
        with os.fdopen(program.from_child, "rb") as stream:
            for line in stream:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                try:
                    self._message(program, message)
                except Exception:  # a bad record must not stop the relay
                    continue

    def _message(self, program: Program, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "watch":
            with self._lock:
                program.unchecked.update(message.get("files") or {})
            self.watcher.add(message["dirs"])
            if self.watcher.armed:
                self._check(program)  # else on_armed does, once the watch is in place
        elif kind == "exit":
            program.exit_signal = int(message["signal"])
        else:
            self.reporter(message)
            if kind == "result" and needs_restart(message):
                self._refused(program)

    def _refused(self, program: Program) -> None:
        policy = self.options.policy
        if policy == "ignore" or (policy == "ask" and not self.ask()):
            self.reporter.line("info", "keeping the running program; the edit is not applied")
            return
        if program.restarting or program.reaped.is_set():
            return
        self.reporter.line("info", "restarting the program")
        self.reporter.event("restart", pid=program.pid, restarts=self.restarts + 1)
        program.restarting = True
        program.send({"t": "stop"})
        threading.Thread(target=_kill_if_alive, args=(program,), name="relive-stop",
                         daemon=True).start()

    # -- the watcher thread ---------------------------------------------------------------

    def _changed(self, paths: list[str]) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            current.send({"t": "changed", "paths": paths})

    def _armed(self) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            self._check(current)

    def _check(self, program: Program) -> None:
        """Send as changed the files the program told of whose content on disk is not what it
        runs: saved after the program read them and before the watch was in place."""
        with self._lock:
            files, program.unchecked = program.unchecked, {}
        changed = sorted(path for path, runs in files.items() if _on_disk(path) != runs)
        if changed:
            program.send({"t": "changed", "paths": changed})


def _on_disk(path: str) -> str | None:
    """The fingerprint of the file's content; None if it cannot be read (then the program,
    told it changed, reports why)."""
    try:
        with open(path, "rb") as f:
            return fingerprint(f.read())
    except OSError:
        return None


def _kill_if_alive(program: Program) -> None:
    """The program did not stop when asked (its process is stuck): kill it."""
    if not program.reaped.wait(STOP_GRACE_S):
        try:
            os.kill(program.pid, signal.SIGKILL)
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
