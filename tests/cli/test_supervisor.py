"""The pieces of ``relive run``'s front end process: what it relays, how it starts python."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relive.agent.channel import fingerprint
from relive.cli import supervisor
from relive.cli.report import Reporter
from relive.cli.supervisor import Options, Program, Supervisor, interpreter_options, relayed

SI_USER, SI_QUEUE, SI_TKILL, SI_KERNEL = 0, -1, -6, 0x80


def test_a_signal_a_process_sent_is_relayed_to_the_program() -> None:
    assert relayed(SI_USER, 4321, program_pid=1000)
    assert relayed(SI_QUEUE, 4321, program_pid=1000)
    assert relayed(SI_TKILL, 4321, program_pid=1000)


def test_a_signal_from_the_terminal_is_not_relayed_the_program_has_its_own() -> None:
    assert not relayed(SI_KERNEL, 0, program_pid=1000)


def test_a_signal_the_program_sent_its_parent_does_not_come_back_to_it() -> None:
    assert not relayed(SI_USER, 1000, program_pid=1000)


@pytest.mark.parametrize(("orig", "argv", "options"), [
    (["py", "-m", "relive", "run", "app.py"], ["relive/__main__.py", "run", "app.py"], []),
    (["py", "-X", "dev", "-W", "error", "-m", "relive", "run", "-m", "pytest"],
     ["relive/__main__.py", "run", "-m", "pytest"], ["-X", "dev", "-W", "error"]),
    (["py", "-O", "-mrelive", "run", "a.py"], ["relive/__main__.py", "run", "a.py"], ["-O"]),
    (["py", "-E", "/venv/bin/relive", "run", "a.py"], ["/venv/bin/relive", "run", "a.py"],
     ["-E"]),
    (["py", "-c", "import relive.cli as c; c.main()", "run", "a.py"], ["-c", "run", "a.py"],
     []),
])
def test_the_program_gets_the_interpreter_options_relive_was_started_with(
        monkeypatch: pytest.MonkeyPatch, orig: list[str], argv: list[str],
        options: list[str]) -> None:
    monkeypatch.setattr(sys, "orig_argv", orig)
    monkeypatch.setattr(sys, "argv", argv)
    assert interpreter_options() == options


def test_the_signals_relayed_include_the_usual_ones() -> None:
    assert {signal.SIGINT, signal.SIGTERM, signal.SIGHUP} <= set(supervisor.RELAYED)


class _Watcher:
    """Stands for the directory watcher: armed or not, as the test says."""

    def __init__(self) -> None:
        self.armed = False
        self.dirs: list[str] = []

    def add(self, dirs: list[str]) -> bool:
        self.dirs += dirs
        return bool(dirs)

    def stop(self, wait: bool = True) -> None:
        pass


@pytest.fixture
def front_end() -> Iterator[tuple[Supervisor, Program, Any]]:
    """A supervisor with a stand-in watcher, and a program whose messages the test reads."""
    sup = Supervisor([], None, Options("ignore", None, True, "auto"),
                     Reporter(stream=io.StringIO()), ask=lambda: False)
    sup.watcher = _Watcher()  # type: ignore[assignment]
    read_fd, write_fd = os.pipe()
    program = Program(os.getpid(), write_fd, -1)
    os.set_blocking(read_fd, False)

    def sent() -> list[dict[str, Any]]:
        try:
            data = os.read(read_fd, 65536)
        except BlockingIOError:
            return []
        return [json.loads(line) for line in data.splitlines()]

    yield sup, program, sent
    os.close(read_fd)
    os.close(write_fd)


def _watch(tmp_path: Path, **files: str) -> dict[str, Any]:
    return {"t": "watch", "dirs": [str(tmp_path)],
            "files": {str(tmp_path / name): fingerprint(text.encode()) for name, text in
                      files.items()}}


def test_files_the_program_runs_as_they_are_on_disk_cost_it_no_message(
        tmp_path: Path, front_end: tuple[Supervisor, Program, Any]) -> None:
    sup, program, sent = front_end
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    sup.watcher.armed = True  # type: ignore[attr-defined]
    sup._message(program, _watch(tmp_path, **{"a.py": "x = 1\n"}))
    assert sent() == []


def test_a_file_saved_before_the_watch_is_sent_as_changed_once_the_watch_is_in_place(
        tmp_path: Path, front_end: tuple[Supervisor, Program, Any]) -> None:
    sup, program, sent = front_end
    (tmp_path / "a.py").write_text("x = 2\n", encoding="utf-8")  # saved after the import
    (tmp_path / "b.py").write_text("y = 1\n", encoding="utf-8")
    sup._message(program, _watch(tmp_path, **{"a.py": "x = 1\n", "b.py": "y = 1\n"}))
    assert sent() == []  # not before the watch is in place: a later save would be lost
    assert sup.watcher.dirs == [str(tmp_path)]  # type: ignore[attr-defined]
    sup.watcher.armed = True  # type: ignore[attr-defined]
    sup._current = program
    sup._armed()
    assert sent() == [{"t": "changed", "paths": [str(tmp_path / "a.py")]}]
    sup._armed()  # armed again (a new directory): each file is compared once
    assert sent() == []


def test_a_file_gone_before_the_watch_is_sent_for_the_program_to_report(
        tmp_path: Path, front_end: tuple[Supervisor, Program, Any]) -> None:
    sup, program, sent = front_end
    sup.watcher.armed = True  # type: ignore[attr-defined]
    sup._message(program, _watch(tmp_path, **{"gone.py": "x = 1\n"}))
    assert sent() == [{"t": "changed", "paths": [str(tmp_path / "gone.py")]}]
