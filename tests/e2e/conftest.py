"""Helpers for end-to-end tests: a real program under ``relive run`` in a subprocess."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 30.0  # generous: the machine may be busy


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class RunningProgram:
    def __init__(self, directory: Path, args: list[str], stdin: bool = False,
                 options: tuple[str, ...] = ("--on-rude=ignore",)) -> None:
        self.directory = directory
        self.events_path = directory / "events.jsonl"
        self.lines: queue.Queue[str] = queue.Queue()
        self.all_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relive", "run", *options, "--events",
             str(self.events_path), *args],
            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1"),
            # as a terminal starts a command: a test run started in the background (where a
            # shell ignores SIGINT) must not give the program an ignored Ctrl-C; a process
            # group of its own, so that stop() ends every process the program started
            preexec_fn=_interruptible, process_group=0)
        threading.Thread(target=self._pump_out, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.all_lines.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def _pump_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def wait_line(self, predicate: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching output line; stderr: {self.stderr_lines}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(line):
                return line

    def wait_stderr(self, predicate: Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        """The first stderr line matching ``predicate``, once the pump has read it (an event in
        the events file can be seen before the line relive printed with it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stderr_lines):
                if predicate(line):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no matching stderr line: {self.stderr_lines}")

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in
                self.events_path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def wait_event(self, kind: str, count: int = 1, timeout: float = TIMEOUT,
                   **match: Any) -> dict[str, Any]:
        """The ``count``-th event of ``kind`` whose fields equal ``match``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["event"] == kind
                     and all(e.get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no {kind!r} event #{count}; events: {self.events()}; "
                             f"stderr: {self.stderr_lines}")

    def write(self, name: str, text: str) -> None:
        (self.directory / name).write_text(textwrap.dedent(text), encoding="utf-8")

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.directory / name
        source = path.read_text(encoding="utf-8")
        assert old in source
        path.write_text(source.replace(old, new, 1), encoding="utf-8")

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """End relive and every process of the program (pool workers whose parent was
        killed would otherwise wait for work for ever)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def program(tmp_path: Path) -> Iterator[Callable[..., RunningProgram]]:
    started: list[RunningProgram] = []

    def start(files: dict[str, str], args: list[str], **kwargs: Any) -> RunningProgram:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        p = RunningProgram(tmp_path, args, **kwargs)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()
