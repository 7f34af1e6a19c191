"""The same session under relive and under ``%autoreload 2``: an edit that makes autoreload
run the module again (here a dataclass field gets a default, with new method bodies) leaves
the session holding two versions of each class, Enum and registry; relive keeps one."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.ipython.test_extension import BEFORE, SHOP, edit_shop

CHECKS = {
    "new behaviour": "cart.total()",
    "class kept": "Cart0 is shop.Cart",
    "new instance of the old class": "isinstance(shop.Cart(), Cart0)",
    "enum member kept": "red is shop.Color.RED",
    "enum member equal": "red == shop.Color.RED",
    "dataclass equal": "point == shop.Point(1, -2)",
    "dataclass kept": "Point0 is shop.Point",
    "new method": "point.norm_inf()",
    "registry kept": "show is shop.show",
    "edited registered behaviour": "show(3)",
}


def run_scenario(shell: Any, modules: Any, *load: str) -> dict[str, Any]:
    source = modules(SHOP)
    for cell in load:
        shell.run(cell)
    shell.run(BEFORE.format(name=source.name))
    shell.run("Cart0, Point0 = shop.Cart, shop.Point")
    edit_shop(source)
    source.replace("    y: int\n", "    y: int = 0\n")
    time.sleep(0.01)  # autoreload compares modification times
    seen = {what: shell.run(cell) for what, cell in CHECKS.items()}
    seen["output"] = shell.output()
    return seen


def test_relive_keeps_every_identity_through_the_edit(shell: Any, modules: Any) -> None:
    seen = run_scenario(shell, modules, "%load_ext relive")
    out, _err = seen.pop("output")
    assert "gen 1: updated" in out
    assert seen == {
        "new behaviour": 12, "class kept": True, "new instance of the old class": True,
        "enum member kept": True, "enum member equal": True, "dataclass equal": True,
        "dataclass kept": True, "new method": 2, "registry kept": True,
        "edited registered behaviour": "int 3!",
    }


def test_autoreload_leaves_old_and_new_classes_side_by_side(shell: Any, modules: Any) -> None:
    pytest.importorskip("IPython.extensions.autoreload")
    seen = run_scenario(shell, modules, "%load_ext autoreload", "%autoreload 2")
    seen.pop("output")
    # what autoreload gets right: old instances follow, the new code runs
    assert seen["new behaviour"] == 12
    assert seen["new method"] == 2
    # what it does not: the module holds new classes, the session's names the old ones
    assert seen["class kept"] is False
    assert seen["new instance of the old class"] is False
    assert seen["enum member kept"] is False
    assert seen["enum member equal"] is False  # Enum members compare by identity
    assert seen["dataclass kept"] is False
    assert seen["registry kept"] is False


def add_blue(shell: Any, modules: Any, *load: str) -> tuple[Any, str]:
    source = modules(SHOP)
    for cell in load:
        shell.run(cell)
    shell.run(BEFORE.format(name=source.name))
    shell.output()
    source.replace("    GREEN = 2\n", "    GREEN = 2\n    BLUE = 3\n")
    time.sleep(0.01)
    kept = shell.run("red is shop.Color.RED and shop.Color(1) is red")
    return kept, shell.output()[1]


def test_a_new_enum_member_is_refused_by_relive_and_splits_the_enum_under_autoreload(
        shell: Any, modules: Any) -> None:
    kept, err = add_blue(shell, modules, "%load_ext relive")
    assert kept is True
    assert "RL1005 error: members of enum Color changed (BLUE)" in err
    shell.run("%unload_ext relive")
    kept, _err = add_blue(shell, modules, "%load_ext autoreload", "%autoreload 2")
    assert kept is False
