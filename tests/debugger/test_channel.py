"""The agent's channel: only its owner gets in, junk changes nothing, a lost front end
lets the program finish."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from driver import env
from harness import PROGRAMS, WAIT, line_of

from relive.agent.wire import MAX_MESSAGE_BYTES, PROTOCOL_VERSION
from relive.client.connection import AgentError, Connection
from relive.client.launch import Launched, Target, launch

pytestmark = pytest.mark.slow


@contextmanager
def launched(name: str, *args: str) -> Iterator[Launched]:
    session = launch(Target(str(PROGRAMS / name), args), stdin=None, env=env())
    try:
        yield session
    finally:
        session.close()
        if session.process.poll() is None:
            session.kill()


def next_event(conn: Connection, name: str) -> dict[str, Any]:
    while True:
        event = conn.events.get(timeout=WAIT)
        assert event is not None, f"connection closed while waiting for {name}"
        if event.get("event") == name:
            return event["body"]


def raw_connect(session: Launched) -> tuple[socket.socket, Any]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    sock.connect(session.socket_path)
    return sock, sock.makefile("rb")


def send(sock: socket.socket, message: dict[str, Any] | bytes) -> None:
    data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
    sock.sendall(data)


def test_socket_lives_in_a_private_directory_and_is_private() -> None:
    with launched("state_prog.py") as session:
        directory = os.path.dirname(session.socket_path)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(session.socket_path).st_mode) == 0o600
        assert session.token not in " ".join(session.process.args)  # type: ignore[arg-type]
        session.conn.request("start")
        assert session.wait(WAIT) == 0


def test_wrong_token_is_refused_and_changes_nothing() -> None:
    with launched("state_prog.py") as session:
        with pytest.raises(AgentError) as refused:
            Connection.connect(session.socket_path, "0" * 64)
        assert refused.value.code == "unauthorized"
        # the owner's connection still works
        assert session.conn.request("breakpoints") == {"breakpoints": []}
        session.conn.request("start")
        assert session.wait(WAIT) == 0


def test_second_client_is_refused_while_one_is_attached() -> None:
    with launched("state_prog.py") as session:
        with pytest.raises(AgentError) as refused:
            Connection.connect(session.socket_path, session.token)
        assert refused.value.code == "busy"
        session.conn.request("start")
        assert session.wait(WAIT) == 0


def test_version_mismatch_is_refused() -> None:
    with launched("spin_prog.py") as session:  # spins until killed
        session.conn.request("start")
        session.conn.close()  # detach, so the next client is not refused as busy
        sock, reader = raw_connect(session)
        send(sock, {"type": "hello", "protocol": PROTOCOL_VERSION + 1, "token": session.token})
        reply = json.loads(reader.readline())
        assert reply["type"] == "error" and reply["code"] in ("version", "busy")
        sock.close()
        # and the owner, with the right version, can attach again once the agent has seen
        # the first connection go (it tells no one, so ask a few times)
        for _ in range(100):
            try:
                again = Connection.connect(session.socket_path, session.token)
                break
            except AgentError as exc:
                assert exc.code == "busy"
                threading.Event().wait(0.1)
        assert again.welcome["protocol"] == PROTOCOL_VERSION
        again.close()


def test_malformed_and_oversized_messages_get_errors_and_change_nothing() -> None:
    with launched("state_prog.py") as session:
        path = str(PROGRAMS / "state_prog.py")
        line = line_of("state_prog", "tag:total")
        conn = session.conn
        conn.request("set_breakpoint", path=path, line=line)
        # malformed JSON, a request without seq, an oversized line: each gets an error
        conn._sock.sendall(b"this is not json\n")  # the test plays a broken client
        conn._sock.sendall(b'{"type": "request", "command": "breakpoints"}\n')
        conn._sock.sendall(b"x" * (MAX_MESSAGE_BYTES + 10) + b"\n")
        codes = []
        while len(codes) < 3:
            event = conn.events.get(timeout=WAIT)
            assert event is not None
            if event.get("type") == "error":
                codes.append(event["code"])
        assert codes == ["malformed", "malformed", "too large"]
        with pytest.raises(AgentError) as unknown:
            conn.request("no_such_command")
        assert unknown.value.code == "unknown command"
        with pytest.raises(AgentError) as bad:
            conn.request("set_breakpoint", path=path, line="twelve")
        assert bad.value.code == "bad arguments"
        breakpoints = conn.request("breakpoints")["breakpoints"]
        assert [b["line"] for b in breakpoints] == [line]
        conn.request("start")
        assert next_event(conn, "stopped")["line"] == line
        conn.request("continue")
        assert session.wait(WAIT) == 0


def test_front_end_gone_while_stopped_lets_the_program_finish() -> None:
    with launched("state_prog.py") as session:
        line = line_of("state_prog", "tag:loop")
        session.conn.request("set_breakpoint", path=str(PROGRAMS / "state_prog.py"), line=line)
        session.conn.request("start")
        assert next_event(session.conn, "stopped")["line"] == line
        session.conn.close()  # as if the front end died
        assert session.wait(WAIT) == 0


def test_pause_stops_a_busy_program_and_set_variable_ends_its_loop() -> None:
    with launched("spin_prog.py") as session:
        conn = session.conn
        conn.request("start")
        spin = line_of("spin_prog", "tag:spin")
        for _ in range(100):  # the pause may land before the loop starts: go on until in it
            assert conn.request("pause")["requested"]
            stopped = next_event(conn, "stopped")
            assert stopped["reason"] == "pause"
            if stopped["line"] in (spin, spin + 1):
                break
            conn.request("continue")
        frames = conn.request("stack", thread_id=stopped["thread_id"])["frames"]
        module_frame = next(f["index"] for f in frames if f["name"] == "<module>")
        result = conn.request(
            "set_variable", thread_id=stopped["thread_id"], frame=module_frame,
            name="done", expression="True",
        )
        assert result["ok"]
        conn.request("continue")
        assert next_event(conn, "process exited")["exit_code"] == 3
        assert session.wait(WAIT) == 3


def test_uncaught_exception_reports_exit_status_and_event() -> None:
    with launched("exc_prog.py", "crash") as session:
        session.conn.request("start")
        raised = next_event(session.conn, "exception")
        assert raised["uncaught"] and raised["exception"].startswith("ValueError")
        assert next_event(session.conn, "process exited")["exit_code"] == 1
        assert session.wait(WAIT) == 1


def test_cancel_aborts_an_evaluation_that_runs_and_the_program_goes_on(tmp_path: Path) -> None:
    started = tmp_path / "evaluating"
    with launched("spin_prog.py") as session:
        conn = session.conn
        assert "cancel" in conn.welcome["commands"]
        conn.request("start")
        stopped = None
        for _ in range(100):  # until the pause lands in the loop
            conn.request("pause")
            stopped = next_event(conn, "stopped")
            if stopped["line"] in (line_of("spin_prog", "tag:spin"),
                                   line_of("spin_prog", "tag:spin") + 1):
                break
            conn.request("continue")
        assert stopped is not None
        thread = stopped["thread_id"]
        text = f"open({str(started)!r}, 'w').close()\nwhile True:\n    count += 1"
        running = conn.send("evaluate", thread_id=thread, frame=0, mode="exec", text=text,
                            timeout=300.0)
        waiting = conn.send("threads")  # queued behind the evaluation
        assert conn.request("cancel", request_seq=waiting.seq) == {"cancelled": True}
        with pytest.raises(AgentError) as refused:
            waiting.result(WAIT)
        assert refused.value.code == "cancelled"
        # a cancel that comes before the evaluation starts cancels the request instead:
        # wait until it runs
        deadline = time.monotonic() + WAIT
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists(), "the evaluation never started"
        assert conn.request("cancel", request_seq=running.seq) == {"cancelled": True}
        result = running.result(WAIT)
        assert not result["ok"] and "aborted" in result["error"]
        assert conn.request("cancel", request_seq=running.seq) == {"cancelled": False}
        done = conn.request("set_variable", thread_id=thread, frame=0, name="done",
                            expression="True")
        assert done["ok"]
        conn.request("continue")
        assert session.wait(WAIT) == 3
