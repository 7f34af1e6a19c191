"""A process's part in an edit under ``relive run`` (relive.agent.member): it prepares the
file's new content, answers, and commits or aborts when told; nothing of the edit is visible
before the commit."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from relive.agent.channel import Channel
from relive.agent.member import Member
from relive.runtime import REGISTRY
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


@pytest.fixture
def member() -> Iterator[tuple[Member, Callable[[], list[dict[str, Any]]]]]:
    """A member whose channel the test reads (what it says to the front end)."""
    read_fd, write_fd = os.pipe()
    unused_r, unused_w = os.pipe()
    os.set_blocking(read_fd, False)
    m = Member(Channel(unused_r, write_fd), None)

    def said() -> list[dict[str, Any]]:
        try:
            data = os.read(read_fd, 1 << 20)
        except BlockingIOError:
            return []
        return [json.loads(line) for line in data.splitlines()]

    yield m, said
    for fd in (read_fd, write_fd, unused_r, unused_w):
        os.close(fd)


def _prepare(m: Member, live: LiveModule, text: str, ident: int = 1) -> None:
    m.request({"t": "prepare", "id": ident, "path": str(live.path),
               "data": text.encode().decode("latin-1")})


def _lock_is_free() -> bool:
    """Whether another thread can take the apply lock now."""
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(
        REGISTRY.apply_lock.acquire(timeout=0.1)
        and (REGISTRY.apply_lock.release() or True)))
    thread.start()
    thread.join()
    return got == [True]


def test_an_edit_is_visible_only_once_committed(live: Live, member: Any) -> None:
    m, said = member
    mod = live("def f():\n    return 1\n")
    _prepare(m, mod, "def f():\n    return 2\n")
    answer = said()
    assert [(a["t"], a["status"]) for a in answer] == [("prepared", "ready")]
    assert mod.module.f() == 1 and not _lock_is_free()  # prepared: held, not applied
    m.request({"t": "commit", "id": 1})
    (committed,) = said()
    assert committed["t"] == "committed" and committed["record"]["applied"]
    assert committed["record"]["updated"] == ["f"]
    assert mod.module.f() == 2 and _lock_is_free()


def test_an_aborted_edit_changes_nothing_and_frees_the_lock(live: Live, member: Any) -> None:
    m, said = member
    mod = live("def f():\n    return 1\n\nX = 1\n")
    _prepare(m, mod, "def f():\n    return 2\n\nX = 1\nY = 3\n")
    assert said()[0]["status"] == "ready"
    m.request({"t": "abort", "id": 1, "reason": "process 7: refused"})
    assert said() == [{"t": "aborted", "id": 1}]
    assert mod.module.f() == 1 and not hasattr(mod.module, "Y") and _lock_is_free()
    assert REGISTRY.get(mod.module).generation == 0  # type: ignore[union-attr]
    result = mod.replace("return 1", "return 5")  # the next edit applies as usual
    assert result.applied and mod.module.f() == 5


@pytest.mark.parametrize(("source", "new", "status"), [
    ("def f():\n    return 1\n", "def f():\n    return 1\n", "same"),
    ("def f():\n    return 1\n", "", "empty"),  # an editor truncating before it writes
    ("class A:\n    pass\n", "class A(dict):\n    pass\n", "refused"),
])
def test_what_a_process_answers_when_it_has_nothing_to_commit(
        live: Live, member: Any, source: str, new: str, status: str) -> None:
    m, said = member
    mod = live(source)
    _prepare(m, mod, new)
    (answer,) = said()
    assert answer["status"] == status and _lock_is_free()
    if status == "refused":
        assert answer["record"]["rude_edits"][0]["code"] == "RL1001"


def test_a_file_the_process_does_not_track_is_not_its_own(tmp_path: Any, member: Any) -> None:
    m, said = member
    m.request({"t": "prepare", "id": 3, "path": str(tmp_path / "notes.py"), "data": "x = 1\n",
               "want": True})
    assert said() == [{"t": "prepared", "id": 3, "pid": os.getpid(), "status": "untracked"}]


def test_the_source_it_runs_is_sent_when_asked(live: Live, member: Any) -> None:
    m, said = member
    mod = live("s = 'é'\n")
    m.request({"t": "prepare", "id": 4, "path": str(mod.path),
               "data": "s = 'è'\n".encode().decode("latin-1"), "want": True})
    (answer,) = said()
    assert answer["runs"].encode("latin-1") == "s = 'é'\n".encode()
    m.request({"t": "abort", "id": 4})


def test_each_module_tracked_is_told_to_the_listeners_as_it_is_imported(live: Live) -> None:
    told: list[str] = []

    def broken(tracked: object) -> None:
        raise RuntimeError("a listener's failure is not the import's")

    stops = [REGISTRY.listen(lambda t: told.append(t.name)), REGISTRY.listen(broken)]
    try:
        m = live("x = 1\n")
    finally:
        for stop in stops:
            stop()
    assert told == [m.module.__name__] and m.module.x == 1
