"""``relive run``'s own options: what a mistyped one prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "relive", "run", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


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
