"""The channel keeps serving its owner when the program runs short of file descriptors, and
a flood of connections that never say hello cannot use them up."""

from __future__ import annotations

import errno
import socket
import subprocess
from typing import Any

import pytest

from relive.agent import server
from relive.client.connection import Connection
from tests.reliability.channel import (
    TOKEN,
    WAIT,
    agent_here,
    attach_when_detached,
    program,
    raw_connect,
)

pytestmark = pytest.mark.slow


def test_failed_accepts_are_tried_again_and_the_owner_attaches(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    accept = socket.socket.accept
    failures = [errno.EMFILE] * 3 + [errno.ENFILE, errno.ENOBUFS, errno.ECONNABORTED]

    def failing_accept(self: socket.socket) -> Any:
        if failures:
            raise OSError(failures.pop(0), "out of resources")
        return accept(self)

    monkeypatch.setattr(socket.socket, "accept", failing_accept)
    with agent_here() as agent:
        conn = Connection.connect(agent.socket_path, TOKEN, timeout=WAIT)
        assert conn.request("breakpoints") == {"breakpoints": []}
        conn.close()
    assert not failures
    assert capfd.readouterr() == ("", "")


def test_owner_attaches_again_after_accept_ran_out_of_descriptors() -> None:
    with program("descriptors.py", "exhaust", stdin=subprocess.PIPE) as prog:
        prog.conn.request("start")
        process = prog.launched.process
        assert process.stdin is not None
        process.stdin.write(b"fill\n")
        process.stdin.flush()
        prog.wait_for_output("full")
        # A waiting accept holds its descriptor already: this connection gets it, and the
        # next accept finds none left while the program holds every other one.
        silent = raw_connect(prog.launched.socket_path)
        prog.wait_for_output("free")
        silent.close()
        prog.detach()
        conn = attach_when_detached(prog)
        assert conn.request("breakpoints") == {"breakpoints": []}
        process.stdin.write(b"go\n")
        process.stdin.close()
        assert prog.launched.wait(WAIT) == 0
        assert prog.stdout() == "full\nfree\nbye\n"
        assert prog.stderr() == ""


def test_a_flood_without_hello_leaves_the_program_its_descriptors_and_lets_the_owner_in() -> None:
    with program("descriptors.py", "count", stdin=subprocess.PIPE) as prog:
        prog.conn.request("start")
        prog.wait_for_output("counting")
        prog.detach()
        flood: list[socket.socket] = []
        refused = 0
        for _ in range(200):
            try:
                flood.append(raw_connect(prog.launched.socket_path))
            except BlockingIOError:  # the listen queue is full: the agent is behind
                refused += 1
        assert len(flood) > 3 * server.MAX_WAITING
        for sock in flood:
            sock.close()
        conn = attach_when_detached(prog)
        assert conn.request("breakpoints") == {"breakpoints": []}
        process = prog.launched.process
        assert process.stdin is not None
        process.stdin.write(b"done\n")
        process.stdin.close()
        assert prog.launched.wait(WAIT) == 0
        opened, failed = prog.stdout().splitlines()[-1].split()[1::2]
        assert int(opened) > 0 and int(failed) == 0, prog.stdout()
        assert prog.stderr() == ""
