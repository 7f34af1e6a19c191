"""The ``relive`` command itself: help, version, errors, and the ask policy on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import relive


def relive_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relive", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_lists_the_commands() -> None:
    out = relive_cmd("--help")
    assert out.returncode == 0
    assert "run" in out.stdout and "demo" in out.stdout


def test_version() -> None:
    out = relive_cmd("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"relive {relive.__version__}"


def test_an_unknown_command_is_an_error_with_usage() -> None:
    out = relive_cmd("frobnicate")
    assert out.returncode == 2 and "unknown command 'frobnicate'" in out.stderr


def test_run_without_a_program_prints_usage() -> None:
    out = relive_cmd("run")
    assert out.returncode == 2 and "usage: relive run" in out.stdout


def test_run_a_missing_script_says_so() -> None:
    out = relive_cmd("run", "no_such_script_here.py")
    assert out.returncode == 2 and "can't open file" in out.stderr


@pytest.mark.slow
def test_on_a_terminal_a_rude_edit_asks_before_restarting(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import time
        import shapes
        n = 0
        while n < 3000:
            n += 1
            print("tick", n, flush=True)
            time.sleep(0.02)
    """), encoding="utf-8")
    (tmp_path / "shapes.py").write_text("class Square:\n    pass\n", encoding="utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # the child: relive run on a terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "relive", "run", "app.py"])
    output = b""

    def read_until(needle: bytes, timeout: float = 30.0) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while needle not in output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen in {output[-2000:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    break

    try:
        read_until(b"tick 3")
        (tmp_path / "shapes.py").write_text("class Square(dict):\n    pass\n",
                                            encoding="utf-8")
        read_until(b"restart the program to apply it? [y/N]")
        os.write(fd, b"n\n")
        read_until(b"keeping the running program")
        mark = len(output)
        read_until(b"tick", timeout=10)
        assert b"restarting" not in output[mark:]
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


@pytest.mark.slow
def test_on_a_terminal_relive_debug_reads_pause_and_kill_while_the_program_runs(
        tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import time
        n = 0
        while True:
            n += 1
            time.sleep(0.01)
    """), encoding="utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # the child: relive debug on a terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "relive", "debug", "app.py"])
    output = b""

    def read_until(needle: bytes, timeout: float = 30.0) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while needle not in output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen in {output[-2000:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    break

    try:
        read_until(b"(relive) ")
        os.write(fd, b"go\n")
        time.sleep(0.5)
        os.write(fd, b"status\n")
        read_until(b"the program is running")
        os.write(fd, b"pause\n")
        read_until(b"Stopped (pause)")
        read_until(b"(relive) ")
        os.write(fd, b"print n > 0\n")
        read_until(b"True")
        os.write(fd, b"go\n")
        time.sleep(0.3)
        os.write(fd, b"kill\n")
        read_until(b"Program exited")
        read_until(b"(relive) ")
        os.write(fd, b"quit\n")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.WIFEXITED(status), status
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
