"""Every malformed message gets an error and changes nothing, before the hello and after it;
the program's stderr stays its own."""

from __future__ import annotations

import subprocess

import pytest

from relive.agent.wire import MAX_MESSAGE_BYTES, ProtocolError, decode
from relive.client.connection import AgentError
from tests.reliability.channel import PROGRAMS, WAIT, next_event, program, raw_connect, read_message

pytestmark = pytest.mark.slow

NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_REQUEST = b'{"type": "request", "seq": 1, "arguments": ' + NESTED + b"}"
HUGE_INT = b'{"type": "request", "seq": ' + b"9" * 5000 + b', "command": "breakpoints"}'
MALFORMED = [
    NESTED,
    NESTED_REQUEST,
    HUGE_INT,
    b'{"type": "request", "seq": 1e999999, "command": "breakpoints"}',
    b'{"type": "request", "seq": true, "command": "breakpoints"}',
    b'\xff\xfe{"type": 1}',
    b'"\\udcff"',
    b"\x00" * 100,
]


@pytest.mark.parametrize("data", [NESTED, NESTED_REQUEST, HUGE_INT, b"\xff", b"[" * 5000])
def test_decode_raises_only_protocol_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError) as bad:
        decode(data)
    assert bad.value.code == "malformed"


def test_malformed_messages_get_errors_and_change_nothing() -> None:
    with program("waits.py", stdin=subprocess.PIPE) as prog:
        conn = prog.conn
        path = str(PROGRAMS / "waits.py")
        conn.request("set_breakpoint", path=path, line=1)
        for data in MALFORMED:  # before the hello: an error, and the connection closes
            stranger = raw_connect(prog.launched.socket_path)
            stranger.sendall(data + b"\n")
            reply = read_message(stranger, bytearray())
            assert reply is not None and reply["type"] == "error", data[:40]
            assert reply["code"] in ("malformed", "unauthorized"), reply
            stranger.close()
        conn._sock.sendall(b"\n".join(MALFORMED) + b"\n")  # the test plays a broken client
        codes = []
        while len(codes) < len(MALFORMED):
            event = conn.events.get(timeout=WAIT)
            assert event is not None
            if event.get("type") == "error":
                codes.append(event["code"])
        assert codes == ["malformed"] * len(MALFORMED)
        breakpoints = conn.request("breakpoints")["breakpoints"]
        assert [(b["path"], b["requested_line"]) for b in breakpoints] == [(path, 1)]
        conn.request("start")
        assert next_event(conn, "stopped")["line"] == 1
        conn.request("continue")
        process = prog.launched.process
        assert process.stdin is not None
        process.stdin.write(b"\n")
        process.stdin.close()
        assert prog.launched.wait(WAIT) == 0
        assert prog.stdout() == "waiting\nbye\n"
        assert prog.stderr() == ""


def test_a_response_too_large_to_send_is_a_failed_response() -> None:
    with program("waits.py", stdin=subprocess.PIPE) as prog:
        conn = prog.conn
        conn.request("start", stop_on_entry=True)
        thread = next_event(conn, "stopped")["thread_id"]
        text = f"globals()['x' * {MAX_MESSAGE_BYTES}] = 1"
        assert conn.request("evaluate", thread_id=thread, text=text)["ok"]
        with pytest.raises(AgentError) as refused:
            conn.request("scopes", thread_id=thread, timeout=WAIT)
        assert refused.value.code == "too large"
        assert conn.request("breakpoints") == {"breakpoints": []}
        conn.request("continue")
        process = prog.launched.process
        assert process.stdin is not None
        process.stdin.write(b"\n")
        process.stdin.close()
        assert prog.launched.wait(WAIT) == 0
        assert prog.stderr() == ""
