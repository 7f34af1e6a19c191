"""The program's process is the program's own: under ``relive run`` it sees what ``python``
gives it, and nothing of relive's front end (``watchfiles``, ``anyio``, ``rich``) is in it."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import TIMEOUT

pytestmark = pytest.mark.slow

PROBE = """
    import atexit, json, os, signal, sys, threading, warnings
    import __main__

    def name(handler):
        if callable(handler):
            return f"{handler.__module__}.{handler.__qualname__}"
        return repr(handler)

    def _target(fd):
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    spec = __main__.__spec__
    json.dump({
        "modules": sorted(sys.modules),
        "filters": [repr(f) for f in warnings.filters],
        "signals": {str(int(s)): name(signal.getsignal(s)) for s in signal.valid_signals()},
        "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        # descriptors other than shared libraries: some builds keep libffi open once ctypes
        # (part of relive's runtime, like its other standard-library modules) is imported
        "fds": len([fd for fd in os.listdir("/proc/self/fd")
                    if ".so" not in os.path.basename(_target(fd))]),
        "path": sys.path,
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "main": [__name__, __main__.__file__, __main__.__package__,
                 getattr(__main__, "__cached__", None), type(__main__.__loader__).__name__,
                 None if spec is None else [spec.name, spec.origin, spec.parent],
                 type(__main__.__builtins__).__name__],
        "hooks": [name(sys.excepthook), name(threading.excepthook), name(sys.displayhook)],
        "cwd": os.getcwd(),
        "streams": [[s.fileno(), s.isatty(), s.encoding, s.errors, s.line_buffering]
                    for s in (sys.stdin, sys.stdout, sys.stderr)],
        "environ": dict(os.environ),
        "threads": [t.name for t in threading.enumerate()],
        "atexit": atexit._ncallbacks(),
        "trace": [repr(sys.gettrace()), repr(sys.getprofile())],
        "flags": repr(sys.flags),
        "warnoptions": sys.warnoptions,
        "xoptions": sys._xoptions,
    }, sys.stdout)
"""

# what relive's own core may add to the program's modules: relive's runtime and the standard
# library modules it needs (the front end's modules and third-party ones, never)
CORE = ("relive", "relive.agent", "relive.agent.channel", "relive.agent.records",
        "relive.agent.supervised", "relive.agent.member",
        "relive.runtime", "relive.delta")


def _probe(directory: Path, command: list[str]) -> dict[str, Any]:
    out = subprocess.run(command, cwd=directory, capture_output=True, text=True,
                         timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, NO_COLOR="1"))
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def _compare(plain: dict[str, Any], relive: dict[str, Any]) -> None:
    extra = set(relive.pop("modules")) - set(plain.pop("modules"))
    foreign = sorted(m for m in extra if m.split(".")[0] not in sys.stdlib_module_names
                     and not m.startswith("_sysconfigdata_")  # the standard library's own
                     and not (m in CORE or m.startswith(("relive.runtime.", "relive.delta.",
                                                         "relive._cpython"))))
    assert foreign == []
    assert not [m for m in extra if m.startswith("relive.cli")]
    # the two ends of the channel to the front end (close-on-exec), nothing else
    assert relive.pop("fds") == plain.pop("fds") + 2
    # in the environment, what the Python processes the program starts need to join the
    # session, nothing else
    environ = relive["environ"]
    session = json.loads(environ.pop("RELIVE_SESSION"))
    assert session["version"] == "{}.{}".format(*sys.version_info[:2])
    boot, *rest = environ.pop("PYTHONPATH").split(os.pathsep)
    assert boot.endswith(os.path.join("relive", "_boot"))
    assert rest == ([plain["environ"].pop("PYTHONPATH")] if "PYTHONPATH" in plain["environ"]
                    else [])
    for key, value in plain.items():
        assert relive[key] == value, key


@pytest.mark.parametrize("options", [[], ["-W", "error::DeprecationWarning", "-X", "dev"]])
def test_a_script_sees_what_python_gives_it(tmp_path: Path, options: list[str]) -> None:
    (tmp_path / "probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    args = ["probe.py", "one", "two words"]
    plain = _probe(tmp_path, [sys.executable, *options, *args])
    relive = _probe(tmp_path, [sys.executable, *options, "-m", "relive", "run",
                               "--on-rude=ignore", *args])
    _compare(plain, relive)


def test_a_module_run_with_dash_m_sees_what_python_gives_it(tmp_path: Path) -> None:
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "tool" / "__main__.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    plain = _probe(tmp_path, [sys.executable, "-m", "tool", "x"])
    relive = _probe(tmp_path, [sys.executable, "-m", "relive", "run", "--on-rude=ignore",
                               "-m", "tool", "x"])
    _compare(plain, relive)


def _pytest_project(tmp_path: Path, test: str) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.pytest.ini_options]
        filterwarnings = ["error"]
    """), encoding="utf-8")
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (tmp_path / "test_calc.py").write_text(textwrap.dedent(test), encoding="utf-8")


def _pytest(tmp_path: Path, *args: str, relive: bool) -> subprocess.CompletedProcess[str]:
    front = ["-m", "relive", "run", "--on-rude=ignore"] if relive else []
    return subprocess.run([sys.executable, *front, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT * 2, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, NO_COLOR="1"))


def _summary(out: subprocess.CompletedProcess[str]) -> str:
    return out.stdout.strip().splitlines()[-1].split(" in ")[0]


def test_pytest_with_warnings_as_errors_runs_as_under_python(tmp_path: Path) -> None:
    _pytest_project(tmp_path, """
        import warnings
        import calc

        def test_add():
            assert calc.add(2, 3) == 5

        def test_a_warning_is_an_error():
            try:
                warnings.warn("careful", UserWarning)
            except UserWarning:
                return
            raise AssertionError("the warning was not an error")
    """)
    plain = _pytest(tmp_path, "-W", "error", relive=False)
    relive = _pytest(tmp_path, "-W", "error", relive=True)
    assert plain.returncode == 0, plain.stdout
    assert relive.returncode == 0, relive.stdout + relive.stderr
    assert _summary(relive) == _summary(plain) == "2 passed"


def test_pytest_on_tests_that_import_anyio_is_not_warned_about_rewriting(
        tmp_path: Path) -> None:
    _pytest_project(tmp_path, """
        import anyio
        import calc

        def test_add_in_an_event_loop():
            async def main():
                await anyio.sleep(0)
                return calc.add(1, 2)

            assert anyio.run(main) == 3
    """)
    args = ("-W", "error::pytest.PytestAssertRewriteWarning")
    plain = _pytest(tmp_path, *args, relive=False)
    relive = _pytest(tmp_path, *args, relive=True)
    assert plain.returncode == 0, plain.stdout
    assert relive.returncode == 0, relive.stdout + relive.stderr
    assert "PytestAssertRewriteWarning" not in relive.stdout + relive.stderr
    assert _summary(relive) == _summary(plain) == "1 passed"


def _relive(tmp_path: Path, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "relive", "run", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL,
                            env=dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1"), **kwargs)


def test_a_signal_sent_to_relive_reaches_the_programs_handler(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import signal, sys, time

        def on_usr1(signum, frame):
            print("usr1", flush=True)
            sys.exit(5)

        signal.signal(signal.SIGUSR1, on_usr1)
        print("ready", flush=True)
        # short sleeps: a signal that lands between the print and the sleep's system call
        # (a thread descheduled there on a loaded machine) runs its handler only when the
        # sleep ends, with or without relive
        for _ in range(300):
            time.sleep(0.1)
    """), encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=ignore", "app.py")
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGUSR1)
        assert process.wait(TIMEOUT) == 5
        assert process.stdout.read() == "usr1\n"
    finally:
        process.kill()
        process.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_relives_own_thread_never_takes_the_programs_signals(tmp_path: Path) -> None:
    """At the program's first line already, every thread but the main one blocks SIGUSR1: a
    signal taken by relive's channel thread would wait for the main thread's next bytecode
    (a main thread asleep in C would not see it for as long as it sleeps)."""
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import os, signal, threading
        main = threading.get_native_id()
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/status") as status:
                blocked = next(l for l in status if l.startswith("SigBlk:")).split()[1]
            usr1 = bool(int(blocked, 16) >> (signal.SIGUSR1 - 1) & 1)
            print("main" if int(tid) == main else "other", usr1, flush=True)
    """), encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=ignore", "app.py")
    out, err = process.communicate(timeout=TIMEOUT)
    lines = sorted(out.splitlines())
    assert "main False" in lines, out + err
    others = [line for line in lines if line.startswith("other")]
    assert others and all(line == "other True" for line in others), out + err


def test_when_relive_is_killed_the_program_goes_with_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import os, time
        print(os.getpid(), flush=True)
        time.sleep(60)
    """), encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=ignore", "app.py")
    assert process.stdout is not None
    pid = int(process.stdout.readline())
    process.kill()
    process.wait()
    deadline = time.monotonic() + TIMEOUT
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")


SERVER = """
    import socket, sys, time
    import handler

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
    server.bind(("127.0.0.1", int(sys.argv[1])))
    server.listen()
    print("listening", flush=True)
    while True:
        connection, _ = server.accept()
        connection.sendall(handler.answer().encode())
        connection.close()
"""


def _stderr(process: subprocess.Popen[str]) -> str:
    process.kill()
    process.wait()
    assert process.stderr is not None
    return process.stderr.read()


def _ask(port: int) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as connection:
        return connection.recv(100).decode()


def test_a_restart_frees_what_the_old_program_held(tmp_path: Path) -> None:
    """The old process ends before the new one starts: the server binds its port again."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "server.py").write_text(textwrap.dedent(SERVER), encoding="utf-8")
    (tmp_path / "handler.py").write_text(textwrap.dedent("""
        class Shape:
            pass

        def answer():
            return "one"
    """), encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=restart", "server.py", str(port))
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "listening\n"
        assert _ask(port) == "one"
        time.sleep(0.5)  # the watch is in place
        source = (tmp_path / "handler.py").read_text(encoding="utf-8")
        (tmp_path / "handler.py").write_text(
            source.replace("class Shape:", "class Shape(dict):").replace('"one"', '"two"'),
            encoding="utf-8")
        assert process.stdout.readline() == "listening\n", _stderr(process)  # port bound
        assert _ask(port) == "two"
    finally:
        process.kill()
        err = _stderr(process)
    assert "restarting the program" in err and "Address already in use" not in err


def test_ctrl_c_on_a_terminal_reaches_the_program_once(tmp_path: Path) -> None:
    """The terminal sends SIGINT to relive and the program alike: relive does not pass its own
    copy on, so the program gets one SIGINT, as under python."""
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import signal, time
        interrupts = []
        signal.signal(signal.SIGINT, lambda signum, frame: interrupts.append(signum))
        print("ready", flush=True)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not interrupts:
            time.sleep(0.05)
        time.sleep(1)  # a second copy would come now
        print("interrupts", len(interrupts), flush=True)
    """), encoding="utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # the child: relive run on a terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "relive", "run", "--on-rude=ignore",
                                  "app.py"])
    output = b""
    try:
        deadline = time.monotonic() + TIMEOUT
        sent = False
        while b"interrupts" not in output or not output.endswith(b"\n"):
            assert time.monotonic() < deadline, output
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    break
            if b"ready" in output and not sent:
                os.write(fd, b"\x03")  # Ctrl-C
                sent = True
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert b"interrupts 1" in output
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_program_that_closes_descriptors_it_does_not_know_runs_on(tmp_path: Path) -> None:
    """Closing every descriptor above 2 (as some daemons and test suites do) closes relive's
    channel too: the program runs on, without edits, and a file it opens under the same
    number is left alone."""
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import os, time
        os.closerange(3, 1024)
        with open("data.txt", "w") as f:
            time.sleep(1)
            f.write("mine")
        print("alive", flush=True)
    """), encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=ignore", "app.py")
    try:
        assert process.wait(TIMEOUT) == 0
        assert process.stdout is not None and process.stdout.read() == "alive\n"
    finally:
        process.kill()
        process.wait()
    assert (tmp_path / "data.txt").read_text(encoding="utf-8") == "mine"


def test_a_restart_never_cuts_a_line_the_program_was_printing(tmp_path: Path) -> None:
    """The old process ends between two bytecodes of its main thread: each ``print`` it began
    is finished (one print is several writes here), and no ``finally`` runs half-way."""
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import sys, time
        import shapes

        n = 0
        try:
            while True:
                n += 1
                print("a" * 40, "b" * 40, n, shapes.VERSION, flush=True)
                time.sleep(0.0005)
        finally:
            print("finally", flush=True)
    """), encoding="utf-8")
    (tmp_path / "shapes.py").write_text("VERSION = 1\n\nclass Square:\n    pass\n",
                                        encoding="utf-8")
    process = _relive(tmp_path, "--on-rude=restart", "app.py")
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while len(lines) < 200:
            lines.append(process.stdout.readline())
        time.sleep(0.5)  # the watch is in place
        (tmp_path / "shapes.py").write_text("VERSION = 2\n\nclass Square(dict):\n    pass\n",
                                            encoding="utf-8")
        deadline = time.monotonic() + TIMEOUT
        while not lines[-1].rstrip().endswith(" 2"):
            assert time.monotonic() < deadline, lines[-5:]
            lines.append(process.stdout.readline())
    finally:
        process.kill()
        process.wait()
    pattern = "a" * 40 + " " + "b" * 40 + " "
    assert all(line.startswith(pattern) and line.endswith((" 1\n", " 2\n")) for line in lines)
    assert not any("finally" in line for line in lines)


def _output_of_app(tmp_path: Path) -> str:
    """What ``relive run app.py`` prints, the program having ended well."""
    process = _relive(tmp_path, "--on-rude=ignore", "app.py")
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 0, err
    return out


def test_a_program_counting_its_objects_counts_the_same_while_relive_sets_up(
        tmp_path: Path) -> None:
    """Leak tests count ``gc.get_objects()`` again and again: while relive tells the front end
    what to watch and the front end compares the files, nothing of relive's comes and goes in
    the program's process."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import gc, time
        time.sleep(0.1)
        import pkg  # a new directory: the front end starts watching it now
        gc.collect()
        counts = set()
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pkg.f()
            counts.add(len(gc.get_objects()))
        print(len(counts), pkg.f(), flush=True)
    """), encoding="utf-8")
    assert _output_of_app(tmp_path) == "1 1\n"


def test_a_save_made_before_the_watch_was_in_place_is_applied(tmp_path: Path) -> None:
    """The program edits its module's file right after importing it, before the front end
    heard of the file: no watch sees that save, and still the program gets it."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import time
        import pkg
        with open(pkg.__file__, "w") as f:
            f.write("def f():\\n    return 2\\n")
        end = time.monotonic() + 20
        while pkg.f() == 1 and time.monotonic() < end:
            time.sleep(0.05)
        print(pkg.f(), flush=True)
    """), encoding="utf-8")
    assert _output_of_app(tmp_path) == "2\n"
