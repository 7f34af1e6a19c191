"""Code kept with a baseline for comparison: an edit compiles only its new side."""

from __future__ import annotations

from typing import Any

import pytest

import relive
from relive.delta import engine

SOURCE = """\
def f(x):
    return x + 1


def g(x):
    y = x * 2
    return y
"""


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Sources compiled from text by the engine (the old side of a function edit)."""
    seen: list[str] = []

    def counting(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str):
            seen.append(source)
        return compile(source, *args, **kwargs)

    monkeypatch.setattr(engine, "compile", counting, raising=False)
    return seen


def test_the_old_side_is_compiled_once_then_kept(compiles: list[str]) -> None:
    base = relive.Baseline.from_source(SOURCE, "m.py", "m")
    first = relive.compute_delta(base, SOURCE.replace("x + 1", "x + 2"))
    assert [e.path for e in first.edits if e.kind == "update"] == ["f"]
    assert len(compiles) == 1 and "def f" in compiles[0]
    nb = first.next_baseline
    assert nb is not None
    # f's new code is the old side of the next edit of f; g's was never compiled
    assert nb.compare_code("f") is not None and nb.compare_code("g") is None
    second = relive.compute_delta(nb, nb.source.replace("x + 2", "x + 3"))
    assert [e.path for e in second.edits if e.kind == "update"] == ["f"]
    assert len(compiles) == 1


def test_kept_code_of_a_moved_definition_still_compares_right() -> None:
    base = relive.Baseline.from_source(SOURCE, "m.py", "m")
    step = relive.compute_delta(base, SOURCE.replace("y = x * 2", "y = x * 3"))
    assert step.next_baseline is not None
    # lines above g: g only moves, and its kept code (compiled at its old lines) stays
    moved = relive.compute_delta(step.next_baseline,
                                 step.next_baseline.source.replace("def f(x):\n",
                                                                   "def f(x):\n    pass\n"))
    assert {(e.kind, e.path) for e in moved.edits} == {("update", "f"), ("line_shift", "g")}
    nb = moved.next_baseline
    assert nb is not None
    kept = nb.compare_code("g")
    assert kept is not None and kept.co_firstlineno == 5  # compiled before g moved to 6
    # an edit of g that only changes its inner lines is told apart from one that does not
    source = nb.source.replace("    y = x * 3\n", "    y = x * 3\n\n")
    fresh = relive.Baseline.from_source(nb.source, "m.py", "m", nb.generation)
    for b in (nb, fresh):
        delta = relive.compute_delta(b, source)
        assert [(e.kind, e.path, e.reasons) for e in delta.edits] == [
            ("update", "g", ("lines",))]
    same = nb.source.replace("y = x * 3", "y = x * 4")
    assert [(e.kind, e.reasons) for e in relive.compute_delta(nb, same).edits] == [
        ("update", ("body",))]


def test_a_whole_module_delta_keeps_every_definitions_code() -> None:
    base = relive.Baseline.from_source(SOURCE, "m.py", "m")
    delta = relive.compute_delta(base, SOURCE + "\nz = 1\n", incremental=False)
    assert delta.next_baseline is not None
    assert all(delta.next_baseline.compare_code(p) is not None for p in ("f", "g"))
