"""Fuzzing the channel: whatever messages and connections come, the agent stays up, the
program's stderr stays its own, and the owner can attach and be served afterwards.

One program runs under the agent for the whole test; each example is a burst of messages
on an attached connection, or a pattern of connections that never become the owner's.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relive.agent.wire import MAX_MESSAGE_BYTES
from tests.reliability.channel import (
    WAIT,
    Program,
    attach_when_detached,
    hello,
    program,
    raw_connect,
    read_message,
)

pytestmark = pytest.mark.slow

# Commands that cannot end the program or stop its threads (the fuzz is of the channel).
COMMANDS = ["breakpoints", "threads", "modules", "settings", "jump_rules", "set_breakpoint",
            "remove_breakpoint", "change_breakpoint", "set_function_breakpoint", "stack",
            "scopes", "children", "evaluate", "completions", "disassemble", "remap", "enc",
            "set_exception_mode", "no_such_command", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {"type": st.sampled_from(["request", "request", "hello", "event", ""])},
    optional={"seq": st.integers() | json_values,
              "command": st.sampled_from(COMMANDS) | json_values,
              "arguments": st.dictionaries(
                  st.sampled_from(["thread_id", "frame", "ref", "id", "line", "path", "name",
                                   "text", "mode", "kind", "stop_all_threads", "paths"]),
                  json_values, max_size=4) | json_values},
)
HUGE = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"type": "request", "seq": ' + b"9" * 5000 + b"}",
    b'{"type": "request", "seq": 1, "command": "' + b"x" * (MAX_MESSAGE_BYTES + 5) + b'"}',
    b"x" * (2 * MAX_MESSAGE_BYTES),
    b'{"type": "request", "seq": 1, "arguments": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
]
lines = st.one_of(
    requests.map(lambda m: json.dumps(m).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64).map(lambda b: b.replace(b"\n", b" ")),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\n", b" ")),
    st.sampled_from(HUGE),
)
# a burst: whole lines, then maybe a partial one (finished by the sentinel's newline)
bursts = st.tuples(st.lists(lines, max_size=6), st.binary(max_size=30))


def exchange(sock: socket.socket, data: bytes, seq: int) -> list[dict[str, Any]]:
    """Send ``data`` and a sentinel request; the replies up to the sentinel's response."""
    sock.sendall(data + b"\n" + json.dumps(
        {"type": "request", "seq": seq, "command": "breakpoints"}).encode() + b"\n")
    buffer, replies = bytearray(), []
    while True:
        reply = read_message(sock, buffer)
        assert reply is not None, "the agent closed the owner's connection"
        if reply.get("type") == "response" and reply.get("request_seq") == seq:
            assert reply["success"], reply
            return replies
        replies.append(reply)


def test_messages_on_the_owners_connection() -> None:
    with program("waits.py", stdin=subprocess.PIPE) as prog:
        prog.conn.request("start")
        prog.detach()
        sock = owner_socket(prog)
        sentinel = iter(range(10**9, 10**10))

        @settings(deadline=None, max_examples=200, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(bursts)
        def burst(content: tuple[list[bytes], bytes]) -> None:
            whole, partial = content
            data = b"".join(line.replace(b"\n", b" ") + b"\n" for line in whole) + partial
            for reply in exchange(sock, data, next(sentinel)):
                assert reply.get("type") in ("error", "response", "event"), reply

        burst()
        sock.close()
        finish(prog)


@st.composite
def patterns(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """Connections that never become the owner's: what each sends before it goes."""
    steps = st.tuples(
        st.sampled_from(["close", "half close", "wait reply"]),
        st.one_of(lines.map(lambda line: line + b"\n"), st.just(b""), st.binary(max_size=20),
                  st.sampled_from([b'{"type": "hello", "protocol": 1, "tok',
                                   b'{"type": "hello", "protocol": true, "token": "x"}\n',
                                   hello("0" * 64)])),
    )
    return draw(st.lists(steps, min_size=1, max_size=20))


def test_connection_patterns_leave_the_owner_served() -> None:
    with program("waits.py", stdin=subprocess.PIPE) as prog:
        prog.conn.request("start")
        prog.detach()

        @settings(deadline=None, max_examples=30, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(patterns())
        def connections(steps: list[tuple[str, bytes]]) -> None:
            opened = []
            for how, data in steps:  # all at once: each stays open until the end
                try:
                    sock = raw_connect(prog.launched.socket_path, timeout=5)
                except BlockingIOError:
                    continue  # the listen queue is full
                try:
                    sock.sendall(data)
                except OSError:
                    pass  # refused (overloaded) and closed already
                opened.append((how, data, sock))
            for how, data, sock in opened:
                if how == "half close":
                    sock.shutdown(socket.SHUT_WR)
                if how != "close" and data.endswith(b"\n"):  # else: the hello's time limit
                    try:
                        reply = read_message(sock, bytearray())
                    except (OSError, ValueError):
                        reply = None
                    assert reply is None or reply.get("type") == "error", reply
                sock.close()
            conn = attach_when_detached(prog)
            assert conn.request("breakpoints") == {"breakpoints": []}
            prog.detach()

        connections()
        finish(prog)


def owner_socket(prog: Program) -> socket.socket:
    deadline = time.monotonic() + WAIT
    while True:
        sock = raw_connect(prog.launched.socket_path)
        sock.sendall(hello(prog.launched.token))
        reply = read_message(sock, bytearray())
        if reply is not None and reply["type"] == "welcome":
            return sock
        sock.close()
        assert reply is not None and reply["code"] == "busy" and time.monotonic() < deadline
        time.sleep(0.05)


def finish(prog: Program) -> None:
    """The owner attaches and is served; the program then ends as it would alone."""
    conn = attach_when_detached(prog)
    assert conn.request("breakpoints") == {"breakpoints": []}
    process = prog.launched.process
    assert process.stdin is not None
    process.stdin.write(b"\n")
    process.stdin.close()
    assert prog.launched.wait(WAIT) == 0
    assert prog.stdout() == "waiting\nbye\n"
    assert prog.stderr() == ""
