"""EnC mode never breaks an import or a reload.

Code that plain Python runs runs under relive too: a lambda on the line of a ``def`` with
closure cells (real code from more-itertools) imports, runs, takes edits and has its frames
remapped. And when EnC mode cannot compile a unit (forced here), the unit is compiled plainly,
the program keeps running, the unit still takes edits, and RL5002 says its running frames
cannot be remapped: at import (an event) and at every apply that installs such code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from relive.runtime import events
from relive.runtime.enc import EncFallbackNotice, is_enc_code
from relive.runtime.enc import compile as enc
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]

MORE_ITERTOOLS = """
    from itertools import groupby
    from operator import itemgetter


    def consecutive_groups(iterable, ordering=lambda x: x):
        for k, g in groupby(enumerate(iterable), key=lambda x: x[0] - ordering(x[1])):
            yield map(itemgetter(1), g)
"""


@pytest.fixture
def seen() -> Iterator[list[object]]:
    """Every event the runtime reports during the test."""
    found: list[object] = []
    unsubscribe = events.observe(found.append)
    yield found
    unsubscribe()


def _rl5002(items: object) -> list[Any]:
    if isinstance(items, EncFallbackNotice):
        items = items.rude_edits
    return [r for r in items if r.code == "RL5002"]  # type: ignore[attr-defined]


def _notices(seen: list[object]) -> list[EncFallbackNotice]:
    return [e for e in seen if isinstance(e, EncFallbackNotice)]


def test_a_lambda_default_beside_closure_cells_imports_and_runs_in_enc_mode(
        live: Live, seen: list[object]) -> None:
    m = live(MORE_ITERTOOLS)
    groups = [list(g) for g in m.module.consecutive_groups([1, 2, 3, 5, 6, 8])]
    assert groups == [[1, 2, 3], [5, 6], [8]]
    assert is_enc_code(m.module.consecutive_groups.__code__)
    assert not _notices(seen), "nothing fell back: the function is compiled in EnC mode"


def test_an_edit_of_that_function_applies_and_its_suspended_frame_remaps(live: Live) -> None:
    m = live(MORE_ITERTOOLS)
    running = m.module.consecutive_groups([1, 2, 3, 5, 6, 8, 9])
    assert list(next(running)) == [1, 2, 3]
    result = m.replace("yield map(itemgetter(1), g)", "yield ('new', list(map(itemgetter(1), g)))")
    assert result.applied, result.errors
    assert not _rl5002(result.rude_edits)
    # the suspended generator moves onto the new body and carries on with its live groupby
    assert next(running) == ("new", [5, 6])
    assert next(running) == ("new", [8, 9])
    assert [g for g in m.module.consecutive_groups([4, 5])] == [("new", [4, 5])]


def test_a_reload_that_introduces_such_a_line_applies(live: Live) -> None:
    m = live("""
        from itertools import groupby
        from operator import itemgetter


        def consecutive_groups(iterable):
            return [list(map(itemgetter(1), g)) for _, g in groupby(enumerate(iterable),
                    key=lambda x: x[0] - x[1])]
    """)
    old = m.module.consecutive_groups
    result = m.edit(MORE_ITERTOOLS)
    assert result.applied, result.errors
    assert not _rl5002(result.rude_edits)
    assert m.module.consecutive_groups is old, "updated in place"
    assert [list(g) for g in old([1, 2, 4])] == [[1, 2], [4]]
    assert is_enc_code(old.__code__)


TRICKY = """
    def deco(f):
        return f


    def two(a=lambda: 1, b=lambda: 2):
        x = a() + b()
        return (lambda: x)()


    def one_line(x, g=lambda y: y * 10): return (lambda: x + g(1))()


    def comp(a=[i for i in range(3)], b={i: i * 2 for i in range(2)}):
        n = len(a) + len(b)
        return [(lambda: n)() for _ in a]


    def outer(k=lambda: 5):
        z = k()
        def inner(m=lambda: z): return (lambda: m() + z)()
        return inner()


    @(lambda f: f)
    @deco
    def decorated(x=lambda: 3):
        y = x()
        return (lambda: y)()


    class C:
        def m(self, f=lambda s: s): c = 7; return (lambda: f(c))()
"""


def test_tricky_one_line_shapes_import_in_enc_mode_and_take_an_edit(
        live: Live, seen: list[object]) -> None:
    m = live(TRICKY)
    mod = m.module
    assert (mod.two(), mod.one_line(1), mod.comp(), mod.outer(), mod.decorated(),
            mod.C().m()) == (3, 11, [5, 5, 5], 10, 3, 7)
    assert not _notices(seen)
    for fn in (mod.two, mod.one_line, mod.comp, mod.outer, mod.decorated, mod.C.m):
        assert is_enc_code(fn.__code__), fn.__qualname__
    result = m.replace("return (lambda: x + g(1))()", "return (lambda: x + g(2))()")
    assert result.applied, result.errors
    result = m.replace("x = a() + b()", "x = a() * 10 + b()")
    assert result.applied, result.errors
    assert not _rl5002(result.rude_edits)
    assert (mod.one_line(1), mod.two()) == (21, 12)


# --- the safety net, forced -------------------------------------------------------------------

FORCED = """
    def fragile(items):
        total = 0
        for item in items:
            total += item
        return total


    def sturdy(x):
        return x + 1
"""


def _fail_transformation_of(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, EnC mode's transformation of functions called ``name`` raises."""
    original = enc.transform_function

    def failing(fn: Any, *args: Any, **kwargs: Any) -> None:
        if fn.name == name:
            raise AssertionError("forced failure")
        original(fn, *args, **kwargs)

    monkeypatch.setattr(enc, "transform_function", failing)


@pytest.fixture
def transformation_fails_for_fragile(monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_transformation_of("fragile", monkeypatch)


@pytest.mark.usefixtures("transformation_fails_for_fragile")
def test_a_function_whose_transformation_fails_is_compiled_plainly_and_reported(
        live: Live, seen: list[object]) -> None:
    m = live(FORCED)
    assert m.module.fragile([1, 2]) == 3 and m.module.sturdy(1) == 2
    assert not is_enc_code(m.module.fragile.__code__)
    assert is_enc_code(m.module.sturdy.__code__), "only the failing unit is plain"
    [notice] = _notices(seen)
    [warning] = _rl5002(notice)
    assert warning.severity == "warning" and warning.lineno == 2
    assert "fragile could not be compiled in EnC mode" in warning.message
    assert "forced failure" in warning.message
    assert "its running frames cannot be remapped" in warning.message


@pytest.mark.usefixtures("transformation_fails_for_fragile")
def test_a_plainly_compiled_function_still_takes_edits_with_the_warning(
        live: Live, seen: list[object]) -> None:
    m = live(FORCED)
    fragile = m.module.fragile
    result = m.replace("total += item", "total += item * 2")
    assert result.applied, result.errors
    assert m.module.fragile is fragile and fragile([1, 2]) == 6
    [warning] = _rl5002(result.rude_edits)
    assert warning.path == "fragile" and warning.lineno == 2
    result = m.replace("return x + 1", "return x + 2")
    assert result.applied and not _rl5002(result.rude_edits), "sturdy is compiled in EnC mode"
    assert m.module.sturdy(1) == 3 and is_enc_code(m.module.sturdy.__code__)


@pytest.mark.usefixtures("transformation_fails_for_fragile")
def test_the_plainly_compiled_function_is_reported_again_from_the_cache(
        live: Live, seen: list[object]) -> None:
    import importlib
    import sys

    m = live(FORCED)
    name = m.module.__name__
    sys.modules.pop(name)
    from relive.runtime import REGISTRY

    tracked = REGISTRY.get(m.module)
    assert tracked is not None
    REGISTRY.unregister(tracked)
    again = importlib.import_module(name)  # from the EnC cache this time
    assert again.fragile([1]) == 1
    assert len(_notices(seen)) == 2
    assert _rl5002(_notices(seen)[1])[0].message == _rl5002(_notices(seen)[0])[0].message


def test_unverifiable_enc_code_is_replaced_by_plain_code(
        live: Live, seen: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    original = enc.shape_problems

    def suspicious(plain: Any, code: Any) -> Any:
        problems = dict(original(plain, code))
        for item in enc.iter_code_objects(code):
            if item.co_name == "sturdy" and is_enc_code(item):
                problems[(item.co_firstlineno, "sturdy")] = "forced mismatch"
        return problems

    monkeypatch.setattr(enc, "shape_problems", suspicious)
    m = live(FORCED)
    assert m.module.sturdy(1) == 2 and not is_enc_code(m.module.sturdy.__code__)
    assert is_enc_code(m.module.fragile.__code__)
    [warning] = _rl5002(_notices(seen)[0])
    assert "sturdy" in warning.message and "forced mismatch" in warning.message


def test_a_unit_that_fails_as_a_whole_is_compiled_plainly_as_a_whole(
        live: Live, seen: list[object], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("forced bytecode failure")

    monkeypatch.setattr(enc, "_narrow_handlers", broken)
    m = live(FORCED)
    assert m.module.fragile([2]) == 2 and m.module.sturdy(2) == 3
    assert not is_enc_code(m.module.fragile.__code__)
    [warning] = _rl5002(_notices(seen)[0])
    assert warning.message.startswith("the module could not be compiled in EnC mode")
    result = m.replace("return x + 1", "return x + 5")
    assert result.applied, result.errors
    assert m.module.sturdy(0) == 5
    [warning] = _rl5002(result.rude_edits)
    assert warning.path == "sturdy"


# CPython 3.11 and 3.12 refuse more than 20 statically nested blocks; 3.13 has no such limit
BLOCK_LIMIT = 20 if sys.version_info < (3, 13) else None


@pytest.mark.skipif(BLOCK_LIMIT is None, reason="CPython 3.13 has no limit of nested blocks")
def test_a_function_beyond_cpython_block_limit_in_enc_mode_falls_back_alone(
        live: Live, seen: list[object]) -> None:
    # 20 nested blocks compile plainly; the remap `try` would be the 21st
    depth = 20
    body = "".join(f"{'    ' * (i + 1)}for i{i} in range(1):\n" for i in range(depth))
    source = (f"def deep():\n{body}{'    ' * (depth + 1)}return 'deep'\n\n\n"
              "def shallow():\n    return 'shallow'\n")
    m = live(source)
    assert (m.module.deep(), m.module.shallow()) == ("deep", "shallow")
    assert is_enc_code(m.module.shallow.__code__)
    [warning] = _rl5002(_notices(seen)[0])
    assert warning.path == "deep" and "nested blocks" in warning.message


GENERATOR = """
    def fragile(n):
        for i in range(n):
            yield ("old", i)
"""


def test_a_suspended_frame_of_a_plain_unit_stays_on_its_code_and_nothing_raises(
        live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    m = live(GENERATOR)
    running = m.module.fragile(4)
    assert next(running) == ("old", 0)
    _fail_transformation_of("fragile", monkeypatch)
    # the new code of an EnC function falls back: its frame cannot move onto it
    result = m.replace('("old", i)', '("new", i)')
    assert result.applied, result.errors
    assert [r.path for r in _rl5002(result.rude_edits)] == ["fragile"]
    assert next(running) == ("old", 1)
    assert list(m.module.fragile(1)) == [("new", 0)]
    # and a frame of plain code stays on it through the next edit too
    again = m.module.fragile(3)
    assert next(again) == ("new", 0)
    result = m.replace('("new", i)', '("newer", i)')
    assert result.applied, result.errors
    assert next(again) == ("new", 1) and list(m.module.fragile(1)) == [("newer", 0)]
