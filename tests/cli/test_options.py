"""``relive run``'s and ``relive debug``'s own options: their help, and what a mistyped one
prints (the same style for both)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, cwd: Path, command: str = "run") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relive", command, *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_an_unknown_option_prints_the_synopsis_once_and_the_error(tmp_path: Path) -> None:
    out = _run("--bogus", "app.py", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("usage:") == 1
    assert out.stderr.splitlines() == [
        "usage: relive run [options] script.py [args...]",
        "       relive run [options] -m module [args...]",
        "relive run: error: unrecognized arguments: --bogus",
    ]


def test_a_bad_choice_names_the_choices(tmp_path: Path) -> None:
    out = _run("--on-rude=later", "app.py", cwd=tmp_path)
    assert out.returncode == 2
    assert "argument --on-rude: invalid choice: 'later'" in out.stderr
    assert out.stderr.count("usage:") == 1


def test_help_prints_the_whole_usage(tmp_path: Path) -> None:
    out = _run("--help", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("usage: relive run [options] script.py")
    assert "--on-rude=ask|restart|ignore" in out.stdout and out.stdout.count("usage:") == 1


@pytest.mark.parametrize("command", ["run", "debug"])
def test_both_commands_say_the_same_things_the_same_way(tmp_path: Path, command: str) -> None:
    synopsis = [f"usage: relive {command} [options] script.py [args...]",
                f"       relive {command} [options] -m module [args...]"]
    if command == "debug":
        synopsis.append("       relive debug [options] --attach PID")
    bogus = _run("--bogus", "app.py", cwd=tmp_path, command=command)
    assert bogus.returncode == 2 and bogus.stderr.splitlines() == [
        *synopsis, f"relive {command}: error: unrecognized arguments: --bogus"]
    helped = _run("--help", cwd=tmp_path, command=command)
    lines = helped.stdout.splitlines()
    assert helped.returncode == 0 and lines[:len(synopsis)] == synopsis and "options:" in lines
    assert "  -h, --help                     show this help" in lines
