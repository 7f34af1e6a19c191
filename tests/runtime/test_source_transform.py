"""A tracked module's source transform (``TrackedModule.transform``) shapes the code an apply
installs, in EnC mode and plainly; the delta is still computed from the source as written."""

from __future__ import annotations

import ast
from collections.abc import Callable

import pytest

from relive.runtime import REGISTRY
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


class _Doubler(ast.NodeTransformer):
    """Doubles every integer constant: a transform whose effect a call can see."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if type(node.value) is int:
            return ast.copy_location(ast.Constant(node.value * 2), node)
        return node


def _double(tree: ast.Module, source: str) -> ast.Module:
    assert source.count("\n") >= tree.body[-1].lineno - 1  # source lines as in the tree
    return ast.fix_missing_locations(_Doubler().visit(tree))


@pytest.mark.parametrize("enc", [True, False])
def test_the_new_code_of_an_apply_goes_through_the_modules_transform(
        live: Live, enc: bool) -> None:
    mod = live("""
        def f():
            return 1

        def g():
            return f() + 10
    """)
    tracked = REGISTRY.get(mod.module)
    assert tracked is not None
    tracked.enc = tracked.enc and enc
    tracked.transform = _double
    result = mod.replace("return 1", "return 3")
    assert result.applied, result.errors
    assert result.updated == ("f",)
    assert not any(r.code == "RL5002" for r in result.rude_edits)
    assert mod.module.f() == 6  # transformed
    assert mod.module.g() == 16  # not edited: its code is the import's
    result = mod.replace("def g():", "def h():\n    return 5\n\ndef g():")
    assert result.applied and result.inserted == ("h",)
    assert mod.module.h() == 10


def test_without_a_transform_the_code_is_the_sources(live: Live) -> None:
    mod = live("""
        def f():
            return 1
    """)
    assert mod.replace("return 1", "return 3").applied
    assert mod.module.f() == 3
