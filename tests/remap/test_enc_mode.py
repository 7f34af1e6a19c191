"""EnC mode changes nothing a program or its tools can observe, until a remap happens."""

from __future__ import annotations

import asyncio
import dis
import inspect
import linecache
import pickle
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from relive.runtime.enc import (
    HIDDEN_PREFIX,
    enc_compile,
    in_remap_machinery,
    is_enc_code,
    iter_code_objects,
    remap_handler_offset,
)

CORPUS = '''
"""A module exercising the constructs EnC mode rewrites or wraps."""
import asyncio
import contextlib


def loops(n):
    """Nested loops with else, break and continue."""
    total = 0
    for i in range(n):
        for j in [1, 2, i]:
            if j % 3 == 0:
                continue
            if j > 6:
                break
            total += j
        else:
            total -= 1
    while total > 50:
        total //= 2
    else:
        total += 1
    for k in {1, 2}:
        total += k
    return total


def handlers(n):
    out = []
    for i in range(n):
        try:
            if i % 2:
                raise ValueError(i)
            out.append(i)
        except ValueError as exc:
            out.append(-exc.args[0])
        finally:
            out.append("f")
        with contextlib.suppress(KeyError):
            {}[i]
    return out


def else_loops(n):
    out = []
    for i in range(n):
        out.append(i)
    else:
        for j in range(2):
            out.append(-j)
    for k in range(n):
        out.append(k * 10)
    return out


def early(n):
    for i in range(n):
        if i == 3:
            return i
    return None


def closure(n):
    count = 0

    def bump(step=1):
        nonlocal count
        count += step
        return count

    for _ in range(n):
        bump()
    return bump, count


def gen(n):
    total = 0
    for i in range(n):
        sent = yield i
        total += sent or 0
    return total


async def coro(n):
    await asyncio.sleep(0)
    return n * 2


async def agen(n):
    for i in range(n):
        yield i
        await asyncio.sleep(0)


def matcher(value):
    match value:
        case [x, y]:
            return x + y
        case {"k": v}:
            return v
        case _:
            return None


def deep(n):
    if n == 0:
        raise RuntimeError("bottom")
    return deep(n - 1)


def multi_line(a,
               b):
    x = (a +
         b)
    return [i
            for i in range(x)
            if i % 2]


class Shape:
    """A class whose methods use super() and private names."""

    def __init__(self, side):
        self.__side = side

    def area(self):
        return self.__side ** 2

    def __repr__(self):
        return super().__repr__()[:1] + str(self.area())


class Square(Shape):
    def area(self):
        return super().area() + 0
'''


def _load(code: types.CodeType, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = code.co_filename
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


@pytest.fixture
def modules() -> Iterator[tuple[types.ModuleType, types.ModuleType]]:
    filename = "<relive-corpus>"
    linecache.cache[filename] = (len(CORPUS), None, CORPUS.splitlines(True), filename)
    # dont_inherit: as an import does, and as enc_compile does by default
    plain = _load(compile(CORPUS, filename, "exec", dont_inherit=True), "relive_corpus_plain")
    enc = _load(enc_compile(CORPUS, filename), "relive_corpus_enc")
    yield plain, enc
    del sys.modules["relive_corpus_plain"], sys.modules["relive_corpus_enc"]


def _run_all(module: types.ModuleType) -> list[Any]:
    results: list[Any] = [module.loops(7), module.handlers(4), module.early(9),
                          module.else_loops(3)]
    try:
        module.deep(3)  # an exception unwinding through four frames
    except RuntimeError as exc:
        results.append(str(exc))
    bump, count = module.closure(3)
    results += [count, bump(), bump(5)]
    g = module.gen(4)
    results.append(next(g))
    results += [g.send(i) for i in range(1, 4)]
    with pytest.raises(StopIteration) as stop:
        g.send(10)
    results.append(stop.value.value)
    results.append(asyncio.run(module.coro(21)))

    async def collect() -> list[int]:
        return [i async for i in module.agen(3)]

    results.append(asyncio.run(collect()))
    results += [module.matcher([1, 2]), module.matcher({"k": 3}), module.matcher(0)]
    results += [module.multi_line(3, 4), repr(module.Square(3)), module.Shape(2).area()]
    return results


def test_enc_mode_computes_the_same_results(modules: Any) -> None:
    plain, enc = modules
    assert _run_all(enc) == _run_all(plain)


def _line_events(module: types.ModuleType) -> list[tuple[str, str, int | None]]:
    events: list[tuple[str, str, int | None]] = []
    names = {"loops", "handlers", "early", "else_loops", "closure", "bump", "gen", "coro",
             "agen", "matcher", "multi_line", "area", "__repr__", "__init__", "<listcomp>",
             "deep"}

    def tracer(frame: types.FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_name in names and frame.f_code.co_filename == "<relive-corpus>":
            events.append((event, frame.f_code.co_name, frame.f_lineno))
            return tracer
        return None

    sys.settrace(tracer)
    try:
        _run_all(module)
    finally:
        sys.settrace(None)
    return events


def test_enc_mode_emits_the_same_trace_events_and_line_numbers(modules: Any) -> None:
    plain, enc = modules
    assert _line_events(enc) == _line_events(plain)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_enc_mode_emits_the_same_monitoring_line_and_exception_events(modules: Any) -> None:
    monitoring: Any = sys.monitoring  # type: ignore[attr-defined]
    tool = 5
    events = monitoring.events
    kinds = {
        events.LINE: "line", events.RAISE: "raise", events.RERAISE: "reraise",
        events.EXCEPTION_HANDLED: "handled", events.PY_UNWIND: "unwind",
    }

    def lines(module: types.ModuleType) -> list[tuple[str, str, int | None]]:
        seen: list[tuple[str, str, int | None]] = []

        def recorder(kind: str) -> Callable[..., None]:
            def record(code: types.CodeType, where: int, *_rest: object) -> None:
                if code.co_filename == "<relive-corpus>":
                    line = where if kind == "line" else next(
                        (ln for start, end, ln in code.co_lines() if start <= where < end), None)
                    seen.append((kind, code.co_name, line))
            return record

        monitoring.use_tool_id(tool, "relive-test")
        for event, kind in kinds.items():
            monitoring.register_callback(tool, event, recorder(kind))
        monitoring.set_events(tool, sum(kinds))
        try:
            _run_all(module)
        finally:
            monitoring.set_events(tool, 0)
            for event in kinds:
                monitoring.register_callback(tool, event, None)
            monitoring.free_tool_id(tool)
        return seen

    plain, enc = modules
    assert lines(enc) == lines(plain)


def _traceback_entries(call: Callable[[], object]) -> list[tuple[Any, ...]]:
    try:
        call()
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        return [
            (f.name, f.lineno, f.end_lineno, f.colno, f.end_colno, f.line)
            for f in frames
            if f.filename == "<relive-corpus>"
        ] + [(type(exc).__name__, str(exc))]
    raise AssertionError("expected an exception")


def test_enc_mode_tracebacks_are_identical(modules: Any) -> None:
    plain, enc = modules
    calls: list[Callable[[types.ModuleType], object]] = [
        lambda m: m.deep(3), lambda m: m.handlers("x"), lambda m: m.multi_line("a", 1),
        lambda m: m.loops(None), lambda m: list(m.gen(None)),
    ]
    for call in calls:
        expected = _traceback_entries(lambda call=call: call(plain))  # type: ignore[misc]
        assert len(expected) > 1
        assert _traceback_entries(lambda call=call: call(enc)) == expected  # type: ignore[misc]


def test_enc_mode_keeps_names_signatures_docstrings_and_sources(modules: Any) -> None:
    plain, enc = modules
    pairs = [(plain.loops, enc.loops), (plain.gen, enc.gen), (plain.coro, enc.coro),
             (plain.multi_line, enc.multi_line), (plain.Shape.area, enc.Shape.area),
             (plain.Square.area, enc.Square.area)]
    for p, e in pairs:
        pc, ec = p.__code__, e.__code__
        assert (ec.co_name, ec.co_qualname, ec.co_firstlineno, ec.co_flags, ec.co_argcount,
                ec.co_posonlyargcount, ec.co_kwonlyargcount, ec.co_filename) == (
                pc.co_name, pc.co_qualname, pc.co_firstlineno, pc.co_flags, pc.co_argcount,
                pc.co_posonlyargcount, pc.co_kwonlyargcount, pc.co_filename)
        assert e.__doc__ == p.__doc__
        assert inspect.signature(e) == inspect.signature(p)
        assert inspect.getsource(e) == inspect.getsource(p)
        assert is_enc_code(ec) and not is_enc_code(pc)
        assert remap_handler_offset(ec) is not None
        # every instruction of the user's body is before the remap machinery: the machinery's
        # lines are the def line and the landing, a line after the function's last one
        plain_lines = {line for _start, _end, line in pc.co_lines() if line is not None}
        lines = [(start, line) for start, _end, line in ec.co_lines() if line is not None]
        landing = max(line for _start, line in lines)
        assert landing > max(plain_lines)
        assert {line for start, line in lines if in_remap_machinery(ec, start)} <= {
            ec.co_firstlineno, landing}
    assert enc.Shape.__doc__ == plain.Shape.__doc__


def test_enc_code_has_exactly_the_locals_of_the_plain_code(modules: Any) -> None:
    """No hidden local: each one would cost every call (cleared on entry and exit); a running
    loop's iterator is read from the frame's value stack when a remap needs it."""
    plain, enc = modules
    for p, e in [(plain.loops, enc.loops), (plain.closure, enc.closure),
                 (plain.else_loops, enc.else_loops)]:
        pc, ec = p.__code__, e.__code__
        assert ec.co_varnames == pc.co_varnames
        assert ec.co_cellvars == pc.co_cellvars and ec.co_freevars == pc.co_freevars
    # an async generator's trailer delegates by hand, with locals of its own, after the user's
    pc, ec = plain.agen.__code__, enc.agen.__code__
    assert ec.co_varnames[:len(pc.co_varnames)] == pc.co_varnames
    assert all(n.startswith(HIDDEN_PREFIX) for n in ec.co_varnames[len(pc.co_varnames):])


def test_functions_and_instances_of_an_enc_module_pickle_by_reference(modules: Any) -> None:
    _plain, enc = modules
    assert pickle.loads(pickle.dumps(enc.loops)) is enc.loops
    assert pickle.loads(pickle.dumps(enc.Square)) is enc.Square
    square = pickle.loads(pickle.dumps(enc.Square(4)))
    assert type(square) is enc.Square and square.area() == 16


def test_closures_of_one_definition_share_one_code_object(modules: Any) -> None:
    _plain, enc = modules
    first, _ = enc.closure(1)
    second, _ = enc.closure(2)
    assert first is not second and first.__code__ is second.__code__


def test_a_loop_iterator_is_released_when_the_loop_ends_not_when_the_function_returns() -> None:
    source = '''
def first_match(items, log):
    for item in items:
        if item:
            break
    log.append("after loop")
    return item
'''
    namespace: dict[str, Any] = {}
    exec(enc_compile(source, "<relive-iter>"), namespace)
    log: list[str] = []

    class Items:
        """Each iteration gets a fresh generator: only the loop refers to it."""

        def __iter__(self) -> Iterator[int]:
            try:
                yield 0
                yield 1
                yield 2
            finally:
                log.append("closed")

    assert namespace["first_match"](Items(), log) == 1
    assert log == ["closed", "after loop"]


def test_loop_displays_are_folded_to_constants_as_without_enc_mode() -> None:
    source = "def f():\n    for x in [1, 2, 3]:\n        pass\n    for y in {4, 5}:\n        pass\n"
    plain = next(c for c in iter_code_objects(compile(source, "s", "exec")) if c.co_name == "f")
    enc = next(c for c in iter_code_objects(enc_compile(source, "s")) if c.co_name == "f")
    assert (1, 2, 3) in enc.co_consts and (1, 2, 3) in plain.co_consts
    assert frozenset({4, 5}) in enc.co_consts and frozenset({4, 5}) in plain.co_consts


def test_an_exception_passing_through_an_enc_frame_keeps_its_context_and_traceback() -> None:
    source = '''
def inner():
    raise KeyError("k")

def outer():
    try:
        raise ValueError("first")
    except ValueError:
        inner()
'''
    namespace: dict[str, Any] = {}
    exec(enc_compile(source, "<relive-ctx>"), namespace)
    with pytest.raises(KeyError) as caught:
        namespace["outer"]()
    assert isinstance(caught.value.__context__, ValueError)
    names = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert names[-2:] == ["outer", "inner"]


@pytest.mark.parametrize("iterable", [[1, 2, 3], (1, 2, 3), "abc", range(3), {1: 0, 2: 0},
                                      iter([1, 2, 3])])
def test_a_running_loops_position_is_read_from_the_value_stack(iterable: Any) -> None:
    """The loop's iterator, from the stack (3.15 makes none for a list, tuple or string: one is
    made at the loop's index), so a remap resumes where the loop was."""
    from relive._cpython import valuestack

    source = '''
import sys

def at_first(items, read):
    for item in items:
        return read(sys._getframe())
'''
    namespace: dict[str, Any] = {}
    exec(enc_compile(source, "<relive-iter>"), namespace)
    expected = list(iterable)[1:] if not hasattr(iterable, "__next__") else None
    kept = namespace["at_first"](iterable, lambda frame: valuestack.for_iterator(frame, 0))
    assert iter(kept) is kept  # an iterator, not the iterable
    assert list(kept) == (expected if expected is not None else [2, 3])


def test_the_stack_items_of_a_running_loop_are_what_the_layout_expects() -> None:
    from relive._cpython.bytecode import FOR_STACK_ITEMS
    from relive._cpython.exception_table import decode
    from relive.runtime.remap.layout import _stack_depths

    code = next(c for c in iter_code_objects(compile(
        "def f(xs):\n    for x in xs:\n        pass\n", "s", "exec")) if c.co_name == "f")
    instrs = list(dis.get_instructions(code))
    depths = _stack_depths(instrs, decode(code.co_exceptiontable))
    assert depths is not None
    head = next(i for i in instrs if i.opname == "FOR_ITER")
    assert depths[head.offset] == FOR_STACK_ITEMS
