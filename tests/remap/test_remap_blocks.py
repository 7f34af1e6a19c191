"""Remapping frames inside `if`, `except` and `match` blocks, and across changed locals
(`try` and `with` bodies: test_remap_try_with.py)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from .conftest import Program
from .test_remap_loops import _once


def test_if_elif_branch_continues_in_the_new_branch_without_testing_again() -> None:
    source = """
    def run(x, hook, log):
        if x < 0:
            log.append("neg")
        elif x == 0:
            hook()
            log.append("zero")
        else:
            log.append("pos")
        log.append("end")
    """
    new = (
        source.replace('"zero"', '"ZERO"')
        .replace('"end"', '"END"')
        .replace("elif x == 0:", "elif x == 1:")  # the test that led here is not run again
    )
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(0, _once(lambda: prog.edit(new, "run")), log)
    assert log == ["ZERO", "END"]


def test_match_case_body_continues_in_the_new_case_body() -> None:
    source = """
    def run(command, hook, log):
        match command:
            case ("go", where):
                hook()
                log.append(("going", where))
            case _:
                log.append("unknown")
        log.append("end")
    """
    new = source.replace('("going", where)', '("GOING", where)').replace('"end"', '"END"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(("go", "north"), _once(lambda: prog.edit(new, "run")), log)
    assert log == [("GOING", "north"), "END"]


def test_a_deleted_current_statement_runs_old_and_the_frame_moves_at_the_next_one() -> None:
    source = """
    def run(hook, log):
        hook()
        log.append("a")
        log.append("b")
    """
    new = """
    def run(hook, log):
        hook()
        log.append("B")
    """
    prog = Program(source)
    log: list[Any] = []
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: None, 5: 4}
    prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert log == ["a", "B"]
    assert prog.deferred() == ["line 4 was deleted by the edit"]
    assert prog.remapped() == [(5, 4)]


def test_a_new_local_assigned_before_use_is_available_after_the_remap() -> None:
    source = """
    def run(hook, log):
        for i in range(5):
            if i == 2:
                hook()
            log.append(i)
    """
    new = """
    def run(hook, log):
        for i in range(5):
            if i == 2:
                hook()
            square = i * i
            log.append((i, square))
    """
    prog = Program(source)
    log: list[Any] = []
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: 4, 5: 5, 6: 6}
    prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert log == [0, 1, (2, 4), (3, 9), (4, 16)]


def test_a_new_local_read_before_it_is_assigned_keeps_the_frame_waiting() -> None:
    source = """
    def run(hook, log):
        for i in range(4):
            if i == 1:
                hook()
            log.append(i)
        return ("old", len(log))
    """
    new = """
    def run(hook, log):
        total = 100
        for i in range(4):
            if i == 1:
                hook()
            total += i
            log.append(total)
        return ("new", len(log))
    """
    prog = Program(source)
    log: list[Any] = []
    line_map: dict[int, int | None] = {2: 2, 3: 4, 4: 5, 5: 6, 6: 7, 7: 9}
    result = prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    # every point inside the loop would read `total`, unbound in the frame; after the loop
    # the frame moves, so the return is the new one
    assert log == [0, 1, 2, 3]
    assert result == ("new", 4)
    assert "the new code reads 'total' before assigning it" in prog.deferred()[0]


def test_locals_the_new_version_no_longer_has_are_not_carried_over() -> None:
    source = """
    def run(hook, log):
        scratch = "old only"
        kept = 1
        hook()
        log.append(sorted(n for n in locals() if not n.startswith("__relive_")))
    """
    new = """
    def run(hook, log):
        kept = 1
        kept += 0
        hook()
        log.append(sorted(n for n in locals() if not n.startswith("__relive_")))
    """
    prog = Program(source)
    log: list[Any] = []
    line_map: dict[int, int | None] = {2: 2, 3: None, 4: 3, 5: 5, 6: 6}
    prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert log == [["hook", "kept", "log"]]


def test_global_declarations_still_apply_after_the_remap() -> None:
    source = """
    counter = 0

    def bump(hook, log):
        global counter
        for i in range(3):
            if i == 1:
                hook()
            counter += 1
            log.append(("old", counter))
    """
    prog = Program(source)
    log: list[Any] = []
    prog.function("bump")(_once(lambda: prog.edit(source.replace('"old"', '"new"'), "bump")), log)
    assert log == [("old", 1), ("new", 2), ("new", 3)]
    assert prog.ns["counter"] == 3


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type parameter syntax is 3.12+")
def test_a_generic_function_with_type_parameters_remaps() -> None:
    source = """
    def first[T](items: list[T], hook, log) -> T:
        for x in items:
            if x == 2:
                hook()
            log.append(("old", x))
        return items[0]
    """
    prog = Program(source)
    log: list[Any] = []
    hook = _once(lambda: prog.edit(source.replace('"old"', '"new"'), "first"))
    assert prog.function("first")([1, 2, 3], hook, log) == 1
    assert log == [("old", 1), ("new", 2), ("new", 3)]
