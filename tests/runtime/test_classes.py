"""Classes: existing instances see edited, added and deleted methods and attributes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import relive
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def test_existing_instances_see_added_edited_and_deleted_methods_and_attributes(
        live: Live) -> None:
    m = live("""
        class Account:
            RATE = 0.01

            def __init__(self, balance):
                self.balance = balance

            def interest(self):
                return self.balance * self.RATE

            def legacy(self):
                return "legacy"
    """)
    acct = m.module.Account(100)
    legacy = acct.legacy
    result = m.edit("""
        class Account:
            RATE = 0.05
            FEE = 2

            def __init__(self, balance):
                self.balance = balance

            def interest(self):
                return self.balance * self.RATE - self.FEE

            def describe(self):
                return f"balance {self.balance}"
    """)
    assert result.applied, result.errors
    assert acct.interest() == pytest.approx(3.0)
    assert acct.describe() == "balance 100"
    assert not hasattr(acct, "legacy")
    with pytest.raises(relive.DeletedDefinitionError):
        legacy()
    assert m.module.Account.FEE == 2


def test_a_method_that_starts_using_super_is_rebuilt_with_its_class_cell(live: Live) -> None:
    m = live("""
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def hello(self):
                return "child"
    """)
    child = m.module.Child()
    result = m.replace('return "child"', 'return "child of " + super().hello()')
    assert result.applied, result.errors
    assert child.hello() == "child of base"
    assert "Child.hello" in result.replaced


def test_changed_class_bases_are_refused_and_nothing_changes(live: Live) -> None:
    m = live("""
        class A:
            def f(self):
                return 1

        class B(A):
            pass
    """)
    before = m.module.A.f
    result = m.edit("""
        class A:
            def f(self):
                return 2

        class B(A, dict):
            pass
    """)
    assert not result.applied
    assert any(r.code == "RL1001" for r in result.rude_edits)
    assert m.module.A.f is before and m.module.A().f() == 1
    assert relive.runtime.tracked(m.module).generation == 0


def test_dataclass_fields_change_regenerates_methods_and_migrates_instances(
        live: Live) -> None:
    m = live("""
        from dataclasses import dataclass, field

        @dataclass
        class Point:
            x: int
            y: int = 0
    """)
    p = m.module.Point(1, 2)
    result = m.edit("""
        from dataclasses import dataclass, field

        @dataclass
        class Point:
            x: int
            y: int = 0
            tags: list = field(default_factory=list)
            label: str = "origin"

            def __relive_migrate__(self, old):
                self.label = f"migrated from {old}"
    """)
    assert result.applied, result.errors
    assert any(r.code == "RL1006" for r in result.rude_edits)
    assert p.tags == [] and p.label == "migrated from {'x': 1, 'y': 2}"
    q = m.module.Point(3)
    assert (q.x, q.y, q.tags, q.label) == (3, 0, [], "origin")
    assert isinstance(p, m.module.Point)
    assert "label=" in repr(p)


def test_changing_a_class_decorator_rebuilds_the_class(live: Live) -> None:
    m = live("""
        import functools

        def tag(cls):
            cls.tagged = True
            return cls

        class Thing:
            def name(self):
                return "thing"
    """)
    old_cls = m.module.Thing
    old = old_cls()
    result = m.replace("class Thing:", "@tag\nclass Thing:")
    assert result.applied, result.errors
    assert m.module.Thing is not old_cls and m.module.Thing.tagged
    assert "Thing" in result.replaced
    assert any(r.code == "RL1007" for r in result.rude_edits)
    assert old.name() == "thing"


def test_enum_members_cannot_change_but_methods_can(live: Live) -> None:
    m = live("""
        import enum

        class Color(enum.Enum):
            RED = 1
            GREEN = 2

            def label(self):
                return self.name.lower()
    """)
    result = m.replace("GREEN = 2", "GREEN = 2\n    BLUE = 3")
    assert not result.applied
    assert any(r.code == "RL1005" for r in result.rude_edits)
    m.path.write_text(m.source.replace("    BLUE = 3\n", ""), encoding="utf-8")
    result = m.replace("self.name.lower()", "self.name.title()")
    assert result.applied, result.errors
    assert m.module.Color.RED.label() == "Red"


def test_class_attribute_sees_other_class_names_when_evaluated(live: Live) -> None:
    m = live("""
        class Config:
            BASE = 10
            DOUBLE = BASE * 2
    """)
    result = m.replace("DOUBLE = BASE * 2", "DOUBLE = BASE * 3")
    assert result.applied, result.errors
    assert m.module.Config.DOUBLE == 30
