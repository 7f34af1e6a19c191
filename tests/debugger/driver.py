"""Run ``relive debug`` as a user would, from a command file or line by line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from harness import PROGRAMS, WAIT

HERE = Path(__file__).parent


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONUNBUFFERED"] = "1"  # the program's prints reach the pipe as they happen
    out["PYTHONPATH"] = os.pathsep.join([str(HERE), out.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out.update(extra)
    return out


@dataclass
class Run:
    output: str
    code: int

    def lines(self) -> list[str]:
        return self.output.splitlines()


def relive_debug(
    program: str | Path,
    commands: list[str],
    *args: str,
    options: tuple[str, ...] = (),
    stdin: str | None = None,
    extra_env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Run:
    """``relive debug --commands FILE [options] PROGRAM [args]``; output and exit status."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(commands) + "\n")
        command_file = f.name
    target = [str(program)] if not str(program).startswith("-m") else str(program).split()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "relive", "debug", "--commands", command_file, *options,
             *target, *args],
            input=stdin if stdin is not None else "",
            capture_output=True, text=True, timeout=WAIT * 3,
            env=env(**(extra_env or {})), cwd=cwd,
        )
    finally:
        os.unlink(command_file)
    return Run(proc.stdout + proc.stderr, proc.returncode)


class Interactive:
    """``relive debug`` with commands written to its stdin one at a time."""

    def __init__(self, program: str | Path, *options: str, extra_env: dict[str, str] | None = None):
        # A process group of its own, as a terminal's foreground job (``interrupt`` sends
        # Ctrl-C to it), with Ctrl-C at its default (a test run in the background ignores it).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relive", "debug", *options, str(program)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env(**(extra_env or {})), process_group=0,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_until_asleep(self) -> None:
        """Until the program (the debugger's child) sleeps in the kernel: a pause asked now
        cannot land at a line before the sleep starts."""
        children = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                with open(children) as f:
                    kids = f.read().split()
                with open(f"/proc/{kids[0]}/wchan") as f:
                    if "sleep" in f.read():
                        return
            except (OSError, IndexError):
                if not os.path.exists(children):  # no /proc: give it a moment
                    time.sleep(0.5)
                    return
            time.sleep(0.01)
        raise AssertionError("the program did not go to sleep")

    def interrupt(self) -> None:
        """Ctrl-C at the terminal: SIGINT to the debugger and the program alike."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, text: str) -> list[str]:
        """Wait for an output line containing ``text``; returns the lines up to it."""
        got: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                line = "<timed out>"
            if line is None or line == "<timed out>":
                what = "ended" if line is None else "printed nothing more"
                raise AssertionError(
                    f"relive debug {what} before {text!r}:\n" + "\n".join(self.seen)
                )
            self.seen.append(line)
            got.append(line)
            if text in line:
                return got

    def finish(self) -> tuple[str, int]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(WAIT)
        rest = []
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                break
            rest.append(line)
        self.seen += rest
        return "\n".join(self.seen), code


def program(name: str) -> Path:
    return PROGRAMS / name
