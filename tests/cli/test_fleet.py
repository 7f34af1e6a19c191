"""The session's side of every process of the program (relive.cli.fleet): the two phases of
an edit, joining, the sources a late process gets. Each process here is played by the test
over a pair of pipes, as relive.agent.member would answer."""

from __future__ import annotations

import json
import os
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relive.agent.channel import fingerprint
from relive.cli.fleet import Fleet, Member

WAIT_S = 10.0


class FakeProcess:
    """One process of the program, as the test plays it."""

    def __init__(self, fleet: Fleet, pid: int) -> None:
        self.fleet = fleet
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self.inbox = to_child_r
        self.outbox = from_child_w
        self.member = Member(pid, to_child_w, from_child_r, main=pid == 1)
        self.told: list[dict[str, Any]] = []
        fleet.add(self.member, lambda member, message: self.told.append(message))
        self._pending = b""

    def receive(self, timeout: float = WAIT_S) -> dict[str, Any] | None:
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self.inbox], [], [], timeout)
            if not ready:
                return None
            self._pending += os.read(self.inbox, 65536)
        line, self._pending = self._pending.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def say(self, message: dict[str, Any]) -> None:
        os.write(self.outbox, (json.dumps(message) + "\n").encode())

    def end(self) -> None:
        os.close(self.outbox)

    def close(self) -> None:
        for fd in (self.inbox, self.outbox, self.member.to_child):
            try:
                os.close(fd)
            except OSError:
                pass


def _record(applied: bool, what: str = "gen 1: updated f") -> dict[str, Any]:
    return {"t": "result", "module": "m", "file": "m.py", "generation": 1, "applied": applied,
            "describe": what if applied else f"not applied: {what}", "what": what,
            "duration_ms": 1.0, "updated": ["f"], "inserted": [], "deleted": [],
            "replaced": [], "warnings": [], "stale": [], "errors": [] if applied else [what],
            "edits": [], "rude_edits": [], "source_errors": []}


@pytest.fixture
def fleet() -> Iterator[tuple[Fleet, list[tuple[str, Any]]]]:
    reports: list[tuple[str, Any]] = []
    f = Fleet(lambda outcome, results, _s: reports.append(
        (outcome, [(m.pid, r) for m, r in results])),
        lambda path, message: reports.append(("notice", (path, message))))
    yield f, reports
    f.close()


def _wait(predicate: Any) -> None:
    import time

    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _module(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.py"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _save(f: Fleet, tmp_path: Path, processes: int, told_by: int = 0
          ) -> tuple[str, list[FakeProcess], list[dict[str, Any]]]:
    """``processes`` processes, one of which (``told_by``) runs m.py as "x = 0"; m.py saved
    as "x = 1". The file, the processes, and the ``prepare`` each of them got."""
    path = _module(tmp_path, "x = 1\n")
    fakes = [FakeProcess(f, pid) for pid in range(1, processes + 1)]
    f.told(fakes[told_by].member, {path: fingerprint(b"x = 0\n")})
    f.saved([path])
    prepares = []
    for fake in fakes:
        message = fake.receive()
        assert message is not None and message["t"] == "prepare", message
        prepares.append(message)
    return path, fakes, prepares


def test_an_edit_commits_only_when_every_process_is_ready(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    path, (a, b), (first, second) = _save(f, tmp_path, 2)
    assert first["data"] == second["data"] == "x = 1\n"
    assert first["want"] and second["want"]  # what the session runs is not known yet
    a.say({"t": "prepared", "id": first["id"], "status": "ready", "runs": "x = 0\n"})
    assert b.receive(timeout=0.2) is None  # nobody commits before every process is ready
    b.say({"t": "prepared", "id": first["id"], "status": "ready"})
    assert a.receive() == {"t": "commit", "id": first["id"]}
    assert b.receive() == {"t": "commit", "id": first["id"]}
    a.say({"t": "committed", "id": first["id"], "record": _record(True)})
    b.say({"t": "committed", "id": first["id"], "record": _record(True)})
    _wait(lambda: reports)
    assert reports == [("applied", [(1, _record(True)), (2, _record(True))])]
    assert f.sources == {path: b"x = 1\n"}
    for p in (a, b):
        p.close()


def test_one_refusal_aborts_the_edit_everywhere_and_is_not_tried_again(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    path, (a, b), (first, _) = _save(f, tmp_path, 2)
    a.say({"t": "prepared", "id": first["id"], "status": "ready", "runs": "x = 0\n"})
    b.say({"t": "prepared", "id": first["id"], "status": "refused",
           "record": _record(False, "RL2001 live closures")})
    abort = a.receive()
    assert abort is not None and abort["t"] == "abort" and abort["id"] == first["id"]
    assert "process 2" in abort["reason"]
    assert b.receive(timeout=0.2) is None  # the refusing process has nothing to undo
    _wait(lambda: reports)
    outcome, results = reports[0]
    assert outcome == "refused" and [pid for pid, _ in results] == [2]
    # the session runs what it ran: a process that joins now imports that, not the file
    assert f.sources == {path: b"x = 0\n"}
    f.saved([path])  # the same text saved again: refused already
    assert a.receive(timeout=0.3) is None
    for p in (a, b):
        p.close()


def test_a_process_that_ends_before_it_answers_leaves_the_edit_to_the_others(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    _path, (a, b), (first, _) = _save(f, tmp_path, 2)
    a.say({"t": "prepared", "id": first["id"], "status": "ready"})
    b.end()
    assert a.receive() == {"t": "commit", "id": first["id"]}
    a.say({"t": "committed", "id": first["id"], "record": _record(True)})
    _wait(lambda: len(reports) == 2)
    assert reports[0][0] == "applied" and [pid for pid, _ in reports[0][1]] == [1]
    assert reports[1][0] == "ended" and [pid for pid, _ in reports[1][1]] == [2]
    assert [m.pid for m in f.alive()] == [1]
    for p in (a, b):
        p.close()


def test_files_no_process_runs_are_not_the_programs(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    a = FakeProcess(f, 1)
    other = tmp_path / "notes.py"
    other.write_text("x = 1\n", encoding="utf-8")
    f.saved([str(other), str(tmp_path / "sedXYZ")])  # an editor's temporary file
    assert a.receive(timeout=0.3) is None and reports == []
    a.close()


def test_a_file_saved_before_the_watch_is_applied_once_compared(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, _reports = fleet
    path = _module(tmp_path, "x = 2\n")  # saved after the import
    same = tmp_path / "same.py"
    same.write_text("y = 1\n", encoding="utf-8")
    a = FakeProcess(f, 1)
    f.told(a.member, {path: fingerprint(b"x = 1\n"), str(same): fingerprint(b"y = 1\n")})
    f.check(a.member)
    message = a.receive()
    assert message is not None and message["path"] == path and message["data"] == "x = 2\n"
    f.check(a.member)  # each file is compared once
    assert a.receive(timeout=0.3) is None
    a.close()


def test_a_file_gone_is_reported_once(tmp_path: Path,
                                      fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    a = FakeProcess(f, 1)
    gone = str(tmp_path / "gone.py")
    f.told(a.member, {gone: fingerprint(b"x = 1\n")})
    f.saved([gone])
    f.saved([gone])
    assert reports == [("notice", (gone, "the file is gone; the program keeps its code"))]
    assert a.receive(timeout=0.2) is None
    a.close()


def _join(f: Fleet, token: str) -> dict[str, Any]:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(WAIT_S)
    conn.connect(f.socket_path)
    conn.sendall((json.dumps({"t": "hello", "token": token, "pid": 7, "ppid": 1}) + "\n")
                 .encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    answer: dict[str, Any] = json.loads(data)
    return answer


def test_a_process_joins_with_the_token_and_gets_the_sources_the_session_runs(
        fleet: tuple[Fleet, list[Any]]) -> None:
    f, _ = fleet
    joined: list[Member] = []
    f.on_join = joined.append
    assert _join(f, "not the token") == {"t": "refused"}
    assert joined == []
    f.sources["/app/m.py"] = "é = 1\n".encode()
    assert _join(f, f.token) == {"t": "welcome", "pinned": {"/app/m.py": "é = 1\n".encode()
                                                                          .decode("latin-1")}}
    _wait(lambda: joined)
    assert [m.pid for m in joined] == [7]
    assert oct(os.stat(os.path.dirname(f.socket_path)).st_mode & 0o777) == "0o700"


def test_a_process_where_relive_failed_refuses_and_says_so(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    f, reports = fleet
    path, (a,), (first,) = _save(f, tmp_path, 1)
    a.say({"t": "prepared", "id": first["id"], "status": "failed",
           "error": "relive failed here: KeyError('x')"})
    _wait(lambda: reports)
    outcome, [(pid, record)] = reports[0]
    assert (outcome, pid, record["file"]) == ("refused", 1, path)
    assert record["errors"] == ["process 1: relive failed here: KeyError('x')"]
    a.close()


def test_the_source_the_session_runs_comes_from_a_process_that_runs_the_file(
        tmp_path: Path, fleet: tuple[Fleet, list[Any]]) -> None:
    """The first process may not run the file at all (a gunicorn master imports the app in
    its workers only): after a refusal, what the session runs is a worker's source."""
    f, reports = fleet
    path, (master, worker), (first, second) = _save(f, tmp_path, 2, told_by=1)
    master.say({"t": "prepared", "id": first["id"], "status": "untracked"})
    worker.say({"t": "prepared", "id": first["id"], "status": "refused",
                "record": _record(False, "RL1001 bases changed"),
                **({"runs": "x = 0\n"} if second["want"] else {})})  # as a process answers
    _wait(lambda: reports)
    assert f.sources == {path: b"x = 0\n"}
    for p in (master, worker):
        p.close()
