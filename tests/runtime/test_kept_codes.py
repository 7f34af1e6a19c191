"""A module imported under relive gives its first baseline the plain code of its import, so
that even the first edit of a function compiles only the new side."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import pytest

from relive.delta import engine
from relive.runtime import REGISTRY
from tests.runtime.conftest import LiveModule

SOURCE = """
def f(x):
    return x + 1


class C:
    def m(self):
        return [i for i in range(3)]
"""


def test_the_first_baseline_has_the_code_of_the_import(
    live: Callable[[str], LiveModule], monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = live(SOURCE)
    tracked = REGISTRY.get(mod.module)
    assert tracked is not None
    base = tracked.baseline
    assert all(base.compare_code(p) is not None for p in ("f", "C", "C.m"))
    compiled: list[object] = []

    def counting(source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(source)
        return compile(source, *args, **kwargs)

    monkeypatch.setattr(engine, "compile", counting, raising=False)
    result = mod.replace("range(3)", "range(4)")
    assert result.applied, result.errors
    # one compile, of the new side: the old side of C.m came from the import
    assert len(compiled) == 1 and isinstance(compiled[0], ast.Module)
    assert mod.module.C().m() == [0, 1, 2, 3]
