"""The pieces of ``relive run``'s front end process: what it relays, how it starts python."""

from __future__ import annotations

import signal
import sys

import pytest

from relive.cli import supervisor
from relive.cli.supervisor import interpreter_options, relayed

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
