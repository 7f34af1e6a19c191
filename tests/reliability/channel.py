"""Helpers for the channel's reliability tests: programs under the agent with their own
streams collected, an agent served in the test's own process, and raw connections that play
broken or hostile clients."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from relive.agent.server import Agent
from relive.agent.session import Session
from relive.client.connection import AgentError, Connection
from relive.client.launch import Launched, Target, launch
from relive.debugger.engine import Engine

PROGRAMS = Path(__file__).parent / "programs"
WAIT = float(os.environ.get("RELIVE_TEST_WAIT", "60"))  # generous: the machine may be loaded
TOKEN = "5" * 64


class Program:
    """A program launched under the agent; its stdout and stderr go to files of their own."""

    def __init__(self, launched: Launched, out: IO[bytes], err: IO[bytes]) -> None:
        self.launched = launched
        self.conn = launched.conn
        self._out = out
        self._err = err

    @staticmethod
    def _text(stream: IO[bytes]) -> str:
        stream.seek(0)
        return stream.read().decode("utf-8", "backslashreplace")

    def stdout(self) -> str:
        return self._text(self._out)

    def stderr(self) -> str:
        return self._text(self._err)

    def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + WAIT
        while text not in self.stdout():
            assert self.launched.process.poll() is None, f"ended early: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {text!r} in {self.stdout()!r}"
            time.sleep(0.02)

    def attach(self, timeout: float = WAIT) -> Connection:
        """The owner connects again (after :meth:`detach`)."""
        self.conn = Connection.connect(self.launched.socket_path, self.launched.token, timeout)
        return self.conn

    def detach(self) -> None:
        self.conn.close()


@contextmanager
def program(name: str, *args: str, stdin: int | IO[bytes] | None = None) -> Iterator[Program]:
    """``programs/<name>`` under the agent, attached, not started yet."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        launched = launch(
            Target(str(PROGRAMS / name), args), stdin=stdin, stdout=out, stderr=err,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        try:
            yield Program(launched, out, err)
        finally:
            launched.close()
            if launched.process.poll() is None:
                launched.kill()


def attach_when_detached(prog: Program, timeout: float = WAIT) -> Connection:
    """The owner attaches again once the agent has seen its last connection go (it tells
    no one: a refusal as ``busy`` until then)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return prog.attach(max(deadline - time.monotonic(), 0.1))
        except AgentError as exc:
            if exc.code != "busy" or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def agent_here() -> Iterator[Agent]:
    """An agent serving a session of an engine that watches nothing, in this process."""
    directory = tempfile.mkdtemp(prefix="relive-")
    agents: list[Agent] = []
    engine = Engine(lambda event: agents[0].emit(event) if agents else None)
    agent = Agent(os.path.join(directory, "agent.sock"), TOKEN, Session(engine))
    agents.append(agent)
    agent.listen()
    try:
        yield agent
    finally:
        agent.close()
        shutil.rmtree(directory, ignore_errors=True)


def raw_connect(path: str, timeout: float = WAIT) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def hello(token: str, protocol: Any = 1) -> bytes:
    return line({"type": "hello", "protocol": protocol, "token": token})


def read_message(sock: socket.socket, buffer: bytearray) -> dict[str, Any] | None:
    """The next message on ``sock`` (``None``: closed); ``buffer`` keeps what follows it."""
    while b"\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(b"\n")
    message: dict[str, Any] = json.loads(bytes(buffer[:end]))
    del buffer[: end + 1]
    return message


def closed_by_peer(sock: socket.socket) -> bool:
    """Read until the agent closes ``sock``; False if it sends a message instead."""
    buffer = bytearray()
    return read_message(sock, buffer) is None and not buffer


def line_of(name: str, marker: str) -> int:
    """The line of ``programs/<name>`` that holds ``marker`` (a comment tag)."""
    for number, text in enumerate((PROGRAMS / name).read_text().splitlines(), 1):
        if marker in text:
            return number
    raise AssertionError(f"no {marker!r} in {name}")


def next_event(conn: Connection, name: str) -> dict[str, Any]:
    while True:
        event = conn.events.get(timeout=WAIT)
        assert event is not None, f"connection closed while waiting for {name}"
        if event.get("event") == name:
            body: dict[str, Any] = event["body"]
            return body
