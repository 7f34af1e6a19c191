"""Location tables: written back exactly, and moved in place under a running frame."""

from __future__ import annotations

import _pydecimal
import inspect
import sys
from collections.abc import Iterator
from types import CodeType

import pytest

from relive._cpython import linetable

RELOCATES_ONLY = pytest.mark.skipif(
    not linetable.RELOCATES,
    reason="a running code object's lines are moved in place on CPython 3.11-3.13 only")


def _codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def test_encoded_tables_read_back_as_the_positions_they_were_made_from() -> None:
    module = compile(inspect.getsource(_pydecimal), "_pydecimal.py", "exec")
    for code in _codes(module):
        table = linetable.encode(list(code.co_positions()), code.co_firstlineno)
        again = code.replace(co_linetable=table)
        assert list(again.co_positions()) == list(code.co_positions()), code.co_qualname
        assert _lines(again) == _lines(code), code.co_qualname


def _lines(code: CodeType) -> list[tuple[int, int, int | None]]:
    """``co_lines`` with neighbouring ranges of one line joined (entries may be cut
    differently; what each instruction's line is must not change)."""
    out: list[tuple[int, int, int | None]] = []
    for start, end, line in code.co_lines():
        if out and out[-1][2] == line and out[-1][1] == start:
            out[-1] = (out[-1][0], end, line)
        else:
            out.append((start, end, line))
    return out


def test_a_moved_table_moves_every_line_and_keeps_the_columns() -> None:
    code = compile("a = 1\nb = (2 +\n     3)\nc = a\n", "m.py", "exec")
    table = linetable.moved_table(code, lambda n: n + 5 if n >= 2 else n)
    moved = list(code.replace(co_linetable=table).co_positions())
    for before, after in zip(code.co_positions(), moved, strict=True):
        if before[0] is None:
            assert after == before
            continue
        shift = 5 if before[0] >= 2 else 0
        assert after == (before[0] + shift, (before[1] or 0) + shift, before[2], before[3])


@RELOCATES_ONLY
def test_a_running_frame_reports_the_lines_its_code_was_moved_to() -> None:
    seen: list[tuple[str | None, int, int]] = []

    def move_caller() -> None:
        frame = sys._getframe(1)
        before = frame.f_lineno
        why = linetable.relocate(frame.f_code, lambda n: n + 100, [frame])
        seen.append((why, before, frame.f_lineno))

    namespace = {"move_caller": move_caller, "sys": sys}
    exec(compile("x = 1\nmove_caller()\nafter = sys._getframe().f_lineno\n", "m.py", "exec"),
         namespace)
    assert seen == [(None, 2, 102)]
    assert namespace["after"] == 103


def test_a_frame_whose_line_would_not_follow_keeps_its_table() -> None:
    code = compile("x = 1\n", "m.py", "exec")
    table = code.co_linetable

    class Stuck:  # stands for a frame whose line the interpreter answers from a cache
        f_lineno = 1
        f_trace = None

    assert linetable.relocate(code, lambda n: n + 1, [Stuck()]) is not None  # type: ignore[list-item]
    assert code.co_linetable is table and next(code.co_positions())[0] in (None, 0, 1)


@RELOCATES_ONLY
def test_a_traced_frame_keeps_its_lines_since_its_line_events_would_not_follow() -> None:
    seen: list[str | None] = []

    def move_caller() -> None:
        frame = sys._getframe(1)
        seen.append(linetable.relocate(frame.f_code, lambda n: n + 100, [frame]))

    def tracer(frame: object, event: str, arg: object) -> object:
        return tracer

    namespace = {"move_caller": move_caller}
    sys.settrace(tracer)  # type: ignore[arg-type]
    try:
        exec(compile("x = 1\nmove_caller()\n", "m.py", "exec"), namespace)
    finally:
        sys.settrace(None)
    assert seen == ["its line events are traced"]
