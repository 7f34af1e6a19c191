"""The hello: a total time limit however slowly it comes, only the integer 1 as version 1, any
token string refused cleanly; the owner's connect outlasts a full listen queue."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest

from relive.agent import server
from relive.client.connection import Connection
from tests.reliability.channel import (
    TOKEN,
    WAIT,
    agent_here,
    closed_by_peer,
    hello,
    raw_connect,
    read_message,
)


def test_the_hello_time_limit_is_for_the_whole_hello(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "HELLO_TIMEOUT_S", 1.0)
    with agent_here() as agent:
        sock = raw_connect(agent.socket_path)
        start = time.monotonic()
        stop = threading.Event()

        def drip() -> None:  # a byte every 0.2 s: each read is quick, the hello never ends
            for byte in hello(TOKEN)[:-1]:
                if stop.wait(0.2):
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return

        dripping = threading.Thread(target=drip, daemon=True)
        dripping.start()
        assert closed_by_peer(sock)
        elapsed = time.monotonic() - start
        stop.set()
        dripping.join()
        sock.close()
        assert 0.9 < elapsed < 2.5


@pytest.mark.parametrize("version", [True, 1.0, "1", None, [1], 2, 10**40])
def test_only_the_integer_1_is_protocol_1(
    version: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with agent_here() as agent:
        sock = raw_connect(agent.socket_path)
        sock.sendall(hello(TOKEN, version))
        reply = read_message(sock, bytearray())
        assert reply is not None and reply["type"] == "error" and reply["code"] == "version"
        sock.close()
        conn = Connection.connect(agent.socket_path, TOKEN, timeout=WAIT)
        assert conn.welcome["protocol"] == 1
        conn.close()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    "token", ["\udcff" * 64, "\x00", "é" * 64, "", TOKEN + "0"],
    ids=["surrogates", "nul", "not-ascii", "empty", "too-long"],
)
def test_any_wrong_token_is_refused_cleanly(token: str, capfd: pytest.CaptureFixture[str]) -> None:
    with agent_here() as agent:
        sock = raw_connect(agent.socket_path)
        sock.sendall(json.dumps({"type": "hello", "protocol": 1, "token": token}).encode() + b"\n")
        reply = read_message(sock, bytearray())
        assert reply is not None and reply["code"] == "unauthorized"
        sock.close()
    assert capfd.readouterr() == ("", "")


def test_the_owner_connects_through_a_full_listen_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    accept = socket.socket.accept

    def slow_accept(self: socket.socket) -> Any:  # an agent that falls behind for a while
        gate.wait(WAIT)
        return accept(self)

    monkeypatch.setattr(socket.socket, "accept", slow_accept)
    with agent_here() as agent:
        storm: list[socket.socket] = []
        while True:
            try:
                storm.append(raw_connect(agent.socket_path))
            except BlockingIOError:
                break
        assert len(storm) >= server.LISTEN_BACKLOG

        def catch_up() -> None:
            for sock in storm:
                sock.close()
            gate.set()

        threading.Timer(0.3, catch_up).start()
        conn = Connection.connect(agent.socket_path, TOKEN, timeout=WAIT)
        assert conn.request("breakpoints") == {"breakpoints": []}
        conn.close()
