"""Edits that apply with a caveat say so: a deleted definition that other modules still hold
(RL4004), an ``__init__`` that sets attributes existing instances lack (RL1009)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relive
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def _codes(result: relive.ApplyResult) -> list[str]:
    return [r.code for r in result.rude_edits]


def test_deleting_a_function_another_module_imported_by_name_warns_naming_that_module(
        live: Live) -> None:
    lib = live("""
        def helper():
            return 1

        def kept():
            return 2
    """)
    user = live(f"""
        from {lib.module.__name__} import helper, kept
    """)
    other = live(f"""
        import {lib.module.__name__} as lib
    """)
    result = lib.edit("""
        def kept():
            return 2
    """)
    assert result.applied, result.errors
    [warning] = [r for r in result.rude_edits if r.code == "RL4004"]
    assert warning.severity == "warning" and warning.lineno == 2 and warning.path == "helper"
    assert f"{user.module.__name__}.helper" in warning.message
    assert other.module.__name__ not in warning.message  # it holds the module, not the name
    assert "DeletedDefinitionError" in warning.message
    with pytest.raises(relive.DeletedDefinitionError):
        user.module.helper()
    assert user.module.kept() == 2


def test_deleting_a_decorated_function_or_a_class_held_elsewhere_warns_too(
        live: Live) -> None:
    lib = live("""
        import functools

        @functools.lru_cache
        def cached(x):
            return x

        class Shape:
            pass

        REGISTRY = {}
        LIMIT = 10
    """)
    name = lib.module.__name__
    user = live(f"""
        from {name} import *
        from {name} import Shape as Form
    """)
    result = lib.edit("""
        import functools
    """)
    assert result.applied, result.errors
    held = {r.path: r.message for r in result.rude_edits if r.code == "RL4004"}
    assert set(held) == {"cached", "Shape", "REGISTRY"}, held
    assert f"{user.module.__name__}.Shape" in held["Shape"]
    # LIMIT is a small int: the same object under the same name says nothing of an import;
    # Form (another name) is not looked for: that would mean reading every value of every
    # module
    assert "Form" not in " ".join(held.values())


def test_deleting_a_function_nobody_else_holds_gives_no_warning(live: Live) -> None:
    lib = live("""
        def helper():
            return 1

        def kept():
            return 2
    """)
    live("""
        def helper():
            return 3
    """)  # the same name, another function
    result = lib.edit("""
        def kept():
            return 2
    """)
    assert result.applied, result.errors
    assert "RL4004" not in _codes(result)


def test_an_init_that_sets_a_new_attribute_warns_and_runs_relive_migrate_on_old_instances(
        live: Live) -> None:
    m = live("""
        class Account:
            def __init__(self, balance):
                self.balance = balance

        class Savings(Account):
            pass
    """)
    old = m.module.Account(100)
    old_savings = m.module.Savings(5)
    result = m.edit("""
        class Account:
            def __init__(self, balance):
                self.balance = balance
                self.currency = "EUR"
                self.history = []

            def __relive_migrate__(self, old_values):
                self.currency = old_values.get("currency", "USD")
                self.history = old_values.get("history", ["migrated"])

        class Savings(Account):
            pass
    """)
    assert result.applied, result.errors
    [warning] = [r for r in result.rude_edits if r.code == "RL1009"]
    assert warning.severity == "warning" and warning.lineno == 3
    assert warning.path == "Account.__init__"
    assert "self.currency, self.history" in warning.message
    assert "__relive_migrate__" in warning.message
    assert (old.currency, old.history) == ("USD", ["migrated"])
    assert (old_savings.currency, old_savings.history) == ("USD", ["migrated"])
    new = m.module.Account(1)
    assert (new.currency, new.history) == ("EUR", [])


def test_an_init_that_sets_a_new_attribute_without_relive_migrate_only_warns(
        live: Live) -> None:
    m = live("""
        class Account:
            def __init__(self, balance):
                self.balance = balance
    """)
    old = m.module.Account(100)
    result = m.replace("self.balance = balance",
                       "self.balance = balance\n        self.currency = 'EUR'")
    assert result.applied, result.errors
    assert "RL1009" in _codes(result)
    assert not hasattr(old, "currency")  # as the warning says
    assert m.module.Account(1).currency == "EUR"


def test_deleting_a_flag_another_module_imported_by_name_warns_but_not_for_a_flag_of_its_own(
        live: Live) -> None:
    lib = live("""
        import sys

        PY310 = sys.version_info >= (3, 10)
        KEPT = 1
    """)
    name = lib.module.__name__
    user = live(f"""
        from {name} import (
            KEPT,
            PY310,
        )
    """)
    own = live("""
        import sys

        PY310 = sys.version_info >= (3, 10)
    """)
    result = lib.edit("""
        import sys

        KEPT = 1
    """)
    assert result.applied, result.errors
    [warning] = [r for r in result.rude_edits if r.code == "RL4004"]
    assert f"{user.module.__name__}.PY310" in warning.message
    assert own.module.__name__ not in warning.message
