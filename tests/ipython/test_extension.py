"""``%load_ext relive``: saved edits are applied before each cell, with identities kept,
refusals told with their code, and nothing raised into the cell."""

from __future__ import annotations

from typing import Any

import relive
from relive.ipython import extension_for
from relive.runtime.registry import REGISTRY

SHOP = '''
import dataclasses
import enum
import functools


class Color(enum.Enum):
    RED = 1
    GREEN = 2

    def label(self):
        return self.name.lower()


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int

    def norm1(self):
        return abs(self.x) + abs(self.y)


@functools.singledispatch
def show(obj):
    return "object"


@show.register
def _show_int(obj: int):
    return f"int {obj}"


class Cart:
    def __init__(self):
        self.items = [1, 2, 3]

    def total(self):
        return sum(self.items)
'''

BEFORE = """
    import {name} as shop
    cart = shop.Cart()
    point = shop.Point(1, -2)
    red = shop.Color.RED
    show = shop.show
"""


def edit_shop(source: Any) -> None:
    """The edits of the scenario: new bodies, a new method, a new registered behaviour."""
    source.replace("return sum(self.items)", "return sum(self.items) * 2")
    source.replace("return self.name.lower()", "return self.name.upper()")
    source.replace("return abs(self.x) + abs(self.y)",
                   "return abs(self.x) + abs(self.y)\n\n"
                   "    def norm_inf(self):\n"
                   "        return max(abs(self.x), abs(self.y))")
    source.replace('return f"int {obj}"', 'return f"int {obj}!"')


def test_extension_loads_by_the_package_name(shell: Any) -> None:
    assert callable(relive.load_ipython_extension)
    shell.run("%load_ext relive")
    assert "relive" in shell.ip.extension_manager.loaded
    assert extension_for(shell.ip) is not None
    shell.run("%unload_ext relive")
    assert extension_for(shell.ip) is None
    assert "relive" not in shell.ip.magics_manager.magics["line"]


def test_saved_edit_is_applied_before_the_next_cell_with_identities_kept(
        shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.run("Cart0, Color0, Point0 = shop.Cart, shop.Color, shop.Point")
    shell.output()
    edit_shop(source)

    assert shell.run("cart.total()") == 12
    out, err = shell.output()
    assert f"{source.name}.py: gen 1: updated " in out and out.startswith("relive: ")
    assert "Cart.total" in out and "norm_inf" in out, out
    assert not err
    # the objects made before the edit are the ones the module holds now
    assert shell.run("isinstance(cart, shop.Cart) and Cart0 is shop.Cart") is True
    assert shell.run("red is shop.Color.RED and Color0 is shop.Color") is True
    assert shell.run("red.label()") == "RED"
    assert shell.run("point == shop.Point(1, -2) and Point0 is shop.Point") is True
    assert shell.run("point.norm_inf()") == 2
    assert shell.run("hash(point) == hash(shop.Point(1, -2))") is True
    # the singledispatch registry: the same function, with the new behaviour registered
    assert shell.run("show is shop.show") is True
    assert shell.run("(show(3), show('x'))") == ("int 3!", "object")


def test_rude_edit_is_told_with_its_code_and_the_cell_runs_the_old_code(
        shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.output()
    source.replace("class Cart:", "class Cart(dict):")
    source.replace("return sum(self.items)", "return sum(self.items) * 2")

    assert shell.run("cart.total()") == 6  # the old code
    out, err = shell.output()
    assert "RL1001 error" in err and "bases of class Cart changed" in err, err
    assert f"cells run the old code of {source.name}" in err
    assert "gen 1" not in out
    assert REGISTRY.get(source.name).generation == 0
    # the next cell is reminded, not told the whole refusal again
    shell.run("pass")
    out, err = shell.output()
    assert "RL1001" not in err and f"runs the old code of {source.name}" in err
    # undoing the rude part applies the rest
    source.replace("class Cart(dict):", "class Cart:")
    assert shell.run("cart.total()") == 12
    out, err = shell.output()
    assert "gen 1: updated Cart.total" in out and not err


def test_syntax_error_is_reported_and_changes_nothing(shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.output()
    source.replace("return sum(self.items)", "return sum(self.items) *")

    assert shell.run("cart.total()") == 6
    _out, err = shell.output()
    assert f"{source.name}.py:" in err and "syntax error" in err and "nothing changed" in err
    assert REGISTRY.get(source.name).generation == 0
    source.replace("return sum(self.items) *", "return sum(self.items) * 3")
    assert shell.run("cart.total()") == 18


def test_modules_imported_before_the_extension_follow_their_file(
        shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run(BEFORE.format(name=source.name))
    shell.run("%load_ext relive")
    source.replace("return sum(self.items)", "return sum(self.items) + 100")
    assert shell.run("cart.total()") == 106
    assert shell.run("isinstance(cart, shop.Cart)") is True


def test_off_pauses_applying_and_status_tells_generations(shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.run("%relive off")
    source.replace("return sum(self.items)", "return sum(self.items) * 2")
    assert shell.run("cart.total()") == 6
    shell.output()
    shell.run("%relive")
    out, _err = shell.output()
    assert "relive: off" in out
    assert source.name in out and "saved edit not applied yet" in out
    shell.run("%relive on")
    assert shell.run("cart.total()") == 12
    shell.output()
    shell.run("%relive")
    out, _err = shell.output()
    assert "gen 1" in out and "last apply:" in out and "updated Cart.total" in out


def test_cells_are_not_tracked(shell: Any, modules: Any) -> None:
    shell.run("%load_ext relive")
    shell.run("def cell_function():\n    return 1\n")
    assert REGISTRY.get("__main__") is None
    assert not [t for t in REGISTRY if t.filename.startswith("<")]


def test_an_empty_saved_file_is_not_applied(shell: Any, modules: Any) -> None:
    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.output()
    source.write("")
    assert shell.run("cart.total()") == 6
    _out, err = shell.output()
    assert "the file is empty" in err
    assert shell.run("shop.Color.RED is red") is True


def test_a_failure_of_relive_itself_does_not_reach_the_cell(
        shell: Any, modules: Any, monkeypatch: Any) -> None:
    import relive.runtime.api

    source = modules(SHOP)
    shell.run("%load_ext relive")
    shell.run(BEFORE.format(name=source.name))
    shell.output()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(relive.runtime.api, "reload", broken)
    source.replace("return sum(self.items)", "return sum(self.items) * 2")
    assert shell.run("cart.total()") == 6
    _out, err = shell.output()
    assert (f"{source.name}.py: not applied: relive failed: RuntimeError('broken on purpose'); "
            f"cells run the old code of {source.name}") in err
