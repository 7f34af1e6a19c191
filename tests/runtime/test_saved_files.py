"""Saved files applied to the tracked modules they belong to (what ``relive run``'s program
process does with each path the front end says changed)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from relive.runtime import REGISTRY, events
from relive.runtime.watch import FileNotice, SavedFiles
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


@pytest.fixture
def heard() -> Iterator[list[object]]:
    items: list[object] = []
    unsubscribe = events.observe(items.append)
    yield items
    unsubscribe()


def test_a_saved_tracked_file_is_applied_once(live: Live) -> None:
    m = live("def f():\n    return 1\n")
    saved = SavedFiles()
    m.path.write_text("def f():\n    return 2\n", encoding="utf-8")
    result = saved.handle(str(m.path))
    assert result is not None and result.applied and m.module.f() == 2
    assert saved.handle(str(m.path)) is None  # the same content again: nothing to do


def test_a_file_that_is_not_tracked_is_left_alone(live: Live) -> None:
    m = live("x = 1\n")
    other = m.path.with_name("notes.py")
    other.write_text("y = 2\n", encoding="utf-8")
    assert SavedFiles().handle(str(other)) is None


def test_a_refused_content_is_not_tried_again(live: Live) -> None:
    m = live("class A:\n    pass\n")
    saved = SavedFiles()
    m.path.write_text("class A(dict):\n    pass\n", encoding="utf-8")
    first = saved.handle(str(m.path))
    assert first is not None and not first.applied
    assert saved.handle(str(m.path)) is None


def test_a_deleted_file_is_told_once_and_changes_nothing(live: Live,
                                                         heard: list[object]) -> None:
    m = live("def f():\n    return 1\n")
    saved = SavedFiles()
    os.remove(m.path)
    assert saved.handle(str(m.path)) is None
    assert saved.handle(str(m.path)) is None
    notices = [i for i in heard if isinstance(i, FileNotice)]
    assert len(notices) == 1 and "gone" in notices[0].message
    assert m.module.f() == 1


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
