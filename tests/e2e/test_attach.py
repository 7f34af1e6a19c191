"""``relive attach`` and ``relive debug --attach``: a program started with plain ``python``,
running for a while, is attached to, debugged, edited and detached from, and runs on.

Each CPython gets in through its own route: ``sys.remote_exec`` on 3.14+, gdb before."""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT, RunningProgram

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.version_info < (3, 14) and shutil.which("gdb") is None,
                       reason="attaching to CPython before 3.14 needs gdb"),
    pytest.mark.skipif(not os.path.isdir("/proc"), reason="relive attach needs /proc"),
]

TICKING = """\
import time


def tick(n):
    word = "old"
    print(word, n, flush=True)


def main():
    n = 0
    while True:
        tick(n)
        n += 1
        time.sleep(0.05)


main()
"""


class Plain:
    """A program run by plain ``python`` (no relive), its output lines in a queue."""

    def __init__(self, directory: Path, source: str, env: dict[str, str] | None = None) -> None:
        self.path = directory / "prog.py"
        self.path.write_text(textwrap.dedent(source), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, str(self.path)], cwd=directory, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})})
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.seen.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r}; last: {self.seen[-5:]}") from None
            if text in line:
                return line

    def edit(self, old: str, new: str) -> None:
        source = self.path.read_text(encoding="utf-8")
        assert old in source
        self.path.write_text(source.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[type[Plain]]:
    started: list[Plain] = []

    class Started(Plain):
        def __init__(self, source: str, env: dict[str, str] | None = None) -> None:
            super().__init__(tmp_path, source, env)
            started.append(self)

    yield Started  # type: ignore[misc]
    for p in started:
        if p.process.poll() is None:
            p.process.kill()
        p.process.wait()


def relive(*args: str, cwd: Path, stdin: str | None = None,
           timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relive", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, NO_COLOR="1"))


class Watching:
    """``relive attach PID --watch DIR`` in the background; stop() is its Ctrl-C."""

    def __init__(self, pid: int, directory: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relive", "attach", str(pid), "--watch", str(directory)],
            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, NO_COLOR="1"),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.err: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.err.append(line.rstrip("\n"))

    def wait_err(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for line in list(self.err):
                if text in line:
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no {text!r} from relive attach: {self.err}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=TIMEOUT)


def test_attach_debug_edit_detach_and_attach_again(plain: type[Plain], tmp_path: Path) -> None:
    program = plain(TICKING)
    program.wait_line("old 1")
    pid = program.process.pid
    session = relive("debug", "--attach", str(pid), cwd=tmp_path, stdin=textwrap.dedent("""\
        break prog.py:6
        go
        print word
        !word = "set by the debugger"
        detach
    """))
    assert session.returncode == 0, session.stdout + session.stderr
    assert f"attached to process {pid}" in session.stdout
    assert "Stopped (breakpoint 1) in tick at prog.py:6" in session.stdout
    assert "'old'" in session.stdout
    assert f"Detached from process {pid}" in session.stdout
    program.wait_line("set by the debugger")
    after = program.wait_line("old")  # no breakpoint left: it runs on
    assert program.process.poll() is None, after

    watching = Watching(pid, tmp_path)
    watching.wait_err("watching")
    program.edit('word = "old"', 'word = "new"')
    assert "prog.py: gen 1: updated tick" in watching.wait_err("gen 1")
    program.wait_line("new")
    # main() was running before relive came: it cannot move, and says so
    program.edit("time.sleep(0.05)", "time.sleep(0.04)")
    assert "cannot move" in watching.wait_err("still running the old code: frame of main")
    second = relive("debug", "--attach", str(pid), cwd=tmp_path, stdin="")
    assert second.returncode == 2
    assert "relive is attached to this process already" in second.stdout + second.stderr
    assert watching.stop() == 0
    assert f"detached from process {pid}" in watching.wait_err("detached")
    program.wait_line("new")  # the edit stays after relive has left

    again = relive("debug", "--attach", str(pid), cwd=tmp_path, stdin="where\ndetach\n")
    assert again.returncode == 0 and f"attached to process {pid}" in again.stdout, (
        again.stdout + again.stderr)
    program.wait_line("new")


def test_a_busy_loop_and_a_threaded_server(plain: type[Plain], tmp_path: Path) -> None:
    program = plain("""\
        import socketserver
        import threading


        def reply(text):
            return "hello " + text


        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write((reply(self.rfile.readline().decode().strip()) + "\\n").encode())


        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print("port", server.server_address[1], flush=True)
        spins = 0
        while True:  # busy, never sleeps
            spins += 1
    """)
    port = int(program.wait_line("port").split()[1])

    def ask(text: str) -> str:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
            conn.sendall(text.encode() + b"\n")
            return conn.makefile().readline().strip()

    assert ask("one") == "hello one"
    watching = Watching(program.process.pid, tmp_path)
    watching.wait_err("watching")
    program.edit('return "hello " + text', 'return "goodbye " + text')
    watching.wait_err("updated reply")
    assert ask("two") == "goodbye two"
    assert watching.stop() == 0

    # a breakpoint in a handler thread, hit by a request made while the debugger waits (the
    # client asks again and again until one request is held at the breakpoint)
    answers: list[str] = []
    done = threading.Event()

    def keep_asking() -> None:
        n = 0
        while not done.is_set():
            n += 1
            answers.append(ask(f"three-{n}"))
            time.sleep(0.2)

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    session = relive("debug", "--attach", str(program.process.pid), cwd=tmp_path,
                     stdin="break prog.py:6\ngo\nprint text\ndetach\n")
    done.set()
    asker.join(TIMEOUT)
    assert "Stopped (breakpoint 1) in reply" in session.stdout, session.stdout + session.stderr
    held = session.stdout.split("'three-")[1].split("'")[0]
    assert f"goodbye three-{held}" in answers  # answered once the debugger had left
    assert ask("four") == "goodbye four"
    assert program.process.poll() is None


def test_a_process_blocked_in_a_system_call_is_attached_when_it_runs_python(
        plain: type[Plain], tmp_path: Path) -> None:
    program = plain("""\
        import time

        print("sleeping", flush=True)
        time.sleep(4)
        while True:
            time.sleep(0.05)
    """)
    program.wait_line("sleeping")
    session = relive("debug", "--attach", str(program.process.pid), cwd=tmp_path,
                     stdin="detach\n")
    assert session.returncode == 0, session.stdout + session.stderr
    assert "Waiting for process" in session.stdout and "system call" in session.stdout
    assert "attached to process" in session.stdout


def test_refusals_say_why(plain: type[Plain], tmp_path: Path) -> None:
    missing = relive("attach", "999999999", "--watch", str(tmp_path), cwd=tmp_path)
    assert missing.returncode == 1 and "there is no process 999999999" in missing.stderr
    not_python = subprocess.Popen(["sleep", "30"])
    try:
        refused = relive("debug", "--attach", str(not_python.pid), cwd=tmp_path, stdin="")
        assert refused.returncode == 2 and "does not run CPython" in refused.stdout + \
            refused.stderr
    finally:
        not_python.kill()
        not_python.wait()


@pytest.mark.skipif(sys.version_info < (3, 14), reason="remote debugging is 3.14's")
def test_remote_debugging_switched_off_is_refused(plain: type[Plain], tmp_path: Path) -> None:
    program = plain(TICKING, env={"PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    program.wait_line("old 1")
    refused = relive("debug", "--attach", str(program.process.pid), cwd=tmp_path, stdin="")
    assert refused.returncode == 2
    assert "remote debugging switched off" in refused.stdout + refused.stderr


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14+ needs no gdb")
def test_without_gdb_the_message_says_to_install_it(plain: type[Plain],
                                                   tmp_path: Path) -> None:
    program = plain(TICKING)
    program.wait_line("old 1")
    bare = tmp_path / "bin"
    bare.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "relive", "debug", "--attach", str(program.process.pid)],
        cwd=tmp_path, input="", capture_output=True, text=True, timeout=TIMEOUT,
        env=dict(os.environ, PATH=str(bare), NO_COLOR="1"))
    assert done.returncode == 2 and "needs gdb" in done.stdout + done.stderr
    program.wait_line("old")  # untouched


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to start a process as another user")
def test_another_users_process_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from relive.client.attach import AttachError, inspect_process

    other = subprocess.Popen(["sleep", "30"], user=65534, cwd="/")
    try:
        monkeypatch.setattr(os, "getuid", lambda: 4242)  # as a user who is not root
        with pytest.raises(AttachError) as refused:
            inspect_process(other.pid)
    finally:
        other.kill()
        other.wait()
    name = pwd.getpwuid(65534).pw_name
    assert f"process {other.pid} belongs to {name}, not to you (uid 4242)" in str(refused.value)
    assert f"run it as {name}" in str(refused.value)


def test_code_an_apply_put_in_moves_at_the_next_edit(plain: type[Plain],
                                                     tmp_path: Path) -> None:
    program = plain("""\
        import time


        def phase(k):
            for i in range(40):
                print("A", k, i, flush=True)
                time.sleep(0.05)


        k = 0
        while True:
            phase(k)
            k += 1
    """)
    program.wait_line("A 0 1")
    watching = Watching(program.process.pid, tmp_path)
    watching.wait_err("watching")
    program.edit('"A", k, i', '"B", k, i')
    watching.wait_err("gen 1")
    # a new call runs the new code, compiled so that it can move
    last_b = program.wait_line("B")
    assert last_b.split()[2] == "0"
    program.edit('"B", k, i', '"C", k, i')
    watching.wait_err("gen 2")
    next_c = ""
    while not next_c:
        line = program.wait_line("")
        if line.startswith("B"):
            last_b = line
        elif line.startswith("C"):
            next_c = line
    k_b, i_b = map(int, last_b.split()[1:])
    k_c, i_c = map(int, next_c.split()[1:])
    assert (k_c, i_c) == (k_b, i_b + 1), (last_b, next_c)  # moved mid-loop, state kept
    assert watching.stop() == 0


def test_debug_a_program_that_relive_run_runs(program: Callable[..., RunningProgram],
                                              tmp_path: Path) -> None:
    run = program({"app.py": TICKING}, ["app.py"])
    run.wait_line(lambda line: line.startswith("old"))
    with open(f"/proc/{run.process.pid}/task/{run.process.pid}/children") as f:
        pid = int(f.read().split()[0])  # the program's process, under relive run
    session = relive("debug", "--attach", str(pid), cwd=tmp_path,
                     stdin="break app.py:6\ngo\nprint n >= 0\ndetach\n")
    assert "Stopped (breakpoint 1) in tick at app.py:6" in session.stdout, (
        session.stdout + session.stderr)
    assert "True" in session.stdout
    run.edit("app.py", 'word = "old"', 'word = "new"')  # relive run goes on applying
    run.wait_line(lambda line: line.startswith("new"))
