"""Which instruction offsets of an EnC code object are remap points."""

from __future__ import annotations

import dis
import os
import sys
from types import CodeType

import pytest

from relive._cpython.bytecode import FOR_STACK_ITEMS, WITH_STACK_ITEMS
from relive.runtime.enc import enc_compile_with_trees, is_enc_code, iter_code_objects
from relive.runtime.remap.layout import Layout, compute_layout


def _layout(source: str, name: str) -> tuple[CodeType, Layout]:
    module, trees = enc_compile_with_trees(source, "<layout>")
    code = next(c for c in iter_code_objects(module) if c.co_name == name)
    return code, compute_layout(code, trees[(code.co_firstlineno, code.co_name)])


def _point_lines(code: CodeType, layout: Layout) -> list[tuple[int | None, str]]:
    lines = {i.offset: i.positions.lineno for i in dis.get_instructions(code) if i.positions}
    return sorted((lines.get(offset), p.mode) for offset, p in layout.points.items()
                  if dis.opname[code.co_code[offset]] != "EXTENDED_ARG")


def test_each_simple_statement_start_is_a_point() -> None:
    code, layout = _layout("def f(a):\n    b = a + 1\n    c = b * 2\n    print(c)\n", "f")
    assert _point_lines(code, layout) == [(2, "start"), (3, "start"), (4, "start")]


def test_a_for_loop_has_a_start_point_and_a_head_point() -> None:
    source = "def f(xs):\n    for x in xs:\n        print(x)\n    print('done')\n"
    code, layout = _layout(source, "f")
    assert _point_lines(code, layout) == [(2, "head"), (2, "start"), (3, "start"), (4, "start")]


def test_try_except_finally_and_with_bodies_are_jump_points() -> None:
    source = """def f(cm):
    try:
        a = 1
    except KeyError:
        b = 2
    finally:
        c = 3
    with cm, cm:
        d = 4
    e = 5
"""
    code, layout = _layout(source, "f")
    lines = {line for line, _mode in _point_lines(code, layout)}
    assert {3, 5, 7, 8, 9, 10} <= lines
    at = {i.offset: i.positions.lineno for i in dis.get_instructions(code) if i.positions}
    by_line = {at[offset]: point for offset, point in layout.points.items()}
    items = WITH_STACK_ITEMS
    assert by_line[3].jump and by_line[3].withs == () and by_line[3].handled == ()
    assert by_line[9].jump and by_line[9].withs == (0, items)  # one exit per item
    assert not by_line[8].jump and not by_line[10].jump  # the signal reaches them
    # the handlers sit on the exception they saved, at the try's stack depth
    assert by_line[5].jump and by_line[5].handled == (0,)
    assert by_line[7].jump and by_line[7].handled == (0,)
    assert layout.landing is not None and layout.landing > 10


def test_the_copies_of_a_finally_body_run_before_a_break_have_no_points() -> None:
    source = """def f(xs):
    for x in xs:
        try:
            if x:
                break
            print(x)
        finally:
            for y in xs:
                print(y)
    print("after")
"""
    code, layout = _layout(source, "f")
    on_line = [i for i in dis.get_instructions(code)
               if i.positions and i.positions.lineno == 9]
    copies = [i.offset for i in on_line if i.opname == "LOAD_GLOBAL"]  # `print`, once a copy
    pointed = [i.offset for i in on_line if i.offset in layout.points]
    # three copies of `print(y)`: after the body, before the break, and for an exception;
    # the one before the break has no point (it must break afterwards)
    assert len(copies) == 3 and len(pointed) == 2
    loop = FOR_STACK_ITEMS  # the outer loop's items, below the try's
    assert sorted(layout.points[o].finals for o in pointed) == [(False,), (True,)]
    assert {layout.points[o].handled for o in pointed} == {(), (loop,)}
    # the inner loop's head there: its items above the saved and the raised exception
    heads = [p for p in layout.points.values() if p.mode == "head" and p.handled]
    assert heads and all(p.fors[-1][1] == loop + 2 for p in heads)


def test_the_middle_of_a_multi_line_expression_is_not_a_point() -> None:
    source = """def f(a, b):
    x = (a if
         b else 0)
    y = [i
         for i in range(x)]
    return y
"""
    code, layout = _layout(source, "f")
    starts = [line for line, _mode in _point_lines(code, layout)]
    # `x = ...` starts by evaluating `b` (line 3); `y = ...` starts where its first instruction
    # is (3.11 makes the comprehension's function on line 4, 3.12+ inlines it and evaluates
    # `range(x)` first); the comprehension's loop and the `a` branch are mid-statement
    assert starts == [3, 4 if sys.version_info < (3, 12) else 5, 6]


def test_a_return_of_a_constant_is_not_a_point() -> None:
    # a `return` inside the remap `try` leaves its handler's range before returning: the
    # signal could not be caught there
    source = "def f(a):\n    a += 1\n    return None\n"
    code, layout = _layout(source, "f")
    assert _point_lines(code, layout) == [(2, "start")]


def test_code_compiled_without_enc_mode_has_no_points() -> None:
    source = "def f(a):\n    return a\n"
    module = compile(source, "<layout>", "exec")
    code = next(c for c in iter_code_objects(module) if c.co_name == "f")
    _module, trees = enc_compile_with_trees(source, "<layout>")
    layout = compute_layout(code, trees[(2 - 1, "f")])
    assert layout.points == {} and layout.reason == "not compiled in EnC mode"


@pytest.mark.parametrize("name", ["json/decoder.py", "argparse.py", "asyncio/tasks.py",
                                  "dataclasses.py", "inspect.py"])
def test_every_function_of_stdlib_modules_gets_a_layout(name: str) -> None:
    path = os.path.join(os.path.dirname(os.__file__), name)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    module, trees = enc_compile_with_trees(source, path)
    functions = [c for c in iter_code_objects(module) if is_enc_code(c)]
    assert functions
    for code in functions:
        layout = compute_layout(code, trees[(code.co_firstlineno, code.co_name)])
        assert layout.reason is None, (code.co_qualname, layout.reason)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="comprehensions are inlined from 3.12")
def test_an_inlined_comprehension_loop_is_not_a_point() -> None:
    source = "def f(xs):\n    ys = [x * 2 for x in xs]\n    return ys\n"
    code, layout = _layout(source, "f")
    assert _point_lines(code, layout) == [(2, "start"), (3, "start")]


def test_an_async_for_loop_body_has_points() -> None:
    # 3.14's END_ASYNC_FOR carries a jump-style argument but does not jump: taken for a jump,
    # it made the stack check fail and the whole coroutine lose its points
    source = ("async def f(xs):\n    async for x in xs:\n        print(x)\n"
              "    print('done')\n")
    code, layout = _layout(source, "f")
    assert layout.reason is None
    lines = {line for line, _mode in _point_lines(code, layout)}
    assert {2, 3, 4} <= lines
