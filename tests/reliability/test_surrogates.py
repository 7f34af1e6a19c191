"""Whatever text the program holds, relive can send it: a string with lone surrogates (a
file name that is not UTF-8, as ``os.fsdecode`` gives it) in an event or a reply neither
kills the program nor reaches its exception handlers."""

from __future__ import annotations

import pytest

from relive.agent.wire import decode, encode
from tests.reliability.channel import PROGRAMS, WAIT, line_of, program

pytestmark = pytest.mark.slow

NAME = "report-\udcff.txt"


def test_a_lone_surrogate_travels_escaped_and_comes_back_whole() -> None:
    message = {"type": "event", "event": "output", "body": {"text": NAME, NAME: [NAME]}}
    data = encode(message)
    assert data.isascii() and b"\\udcff" in data
    assert decode(data) == message


def test_program_raising_and_showing_an_undecodable_name_runs_as_without_relive() -> None:
    with program("surrogates.py") as prog:
        conn = prog.conn
        conn.request("set_exception_mode", mode="raised")
        risky = line_of("surrogates.py", "tag:risky")
        conn.request(
            "set_breakpoint", path=str(PROGRAMS / "surrogates.py"), line=risky,
            log_message="held {held}",
        )
        conn.request("start")
        logged, raised = [], []
        while True:
            event = conn.events.get(timeout=WAIT)
            assert event is not None and event["type"] == "event", event
            body = event["body"]
            if event["event"] == "process exited":
                assert body["exit_code"] == 0
                break
            if event["event"] == "output":
                logged.append(body["text"])
            if event["event"] != "stopped":
                continue
            assert body["reason"] == "exception"
            raised.append(body["exception"])
            if body["function"] == "risky":  # where it is raised (then where it passes)
                thread = body["thread_id"]
                names = [v["name"] for v in conn.request("scopes", thread_id=thread)["locals"]]
                assert names == ["path"]
                shown = conn.request("evaluate", thread_id=thread, text="path")
                assert shown["ok"] and shown["value"] == repr(NAME)
                failed = conn.request("evaluate", thread_id=thread, text="risky(path)")
                assert not failed["ok"] and failed["error"] == f"RuntimeError: {NAME}"
                conn.request("evaluate", thread_id=thread, text=f"globals()[{NAME!r}] = 1")
                globals_ = conn.request("scopes", thread_id=thread)["globals"]
                assert NAME in [v["name"] for v in globals_]
            conn.request("continue")
        assert logged == [f"held {NAME}\n"] * 2
        # where it is raised, twice (and, on some backends, where it passes through guarded)
        assert len(raised) >= 2 and set(raised) == {f"RuntimeError: {NAME}"}
        assert prog.launched.wait(WAIT) == 0
        shown_name = ascii(NAME)
        assert prog.stdout() == f"first {shown_name}\nsecond {shown_name}\n"
        assert prog.stderr() == ""
