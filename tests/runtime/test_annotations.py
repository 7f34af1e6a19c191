"""Annotations after an edit are those of a fresh import of the new source, for the whole
scope: editing one annotation keeps the others (eager ``__annotations__`` on 3.11-3.13,
deferred ``__annotate__`` on 3.14+)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

import pytest

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]

deferred_only = pytest.mark.skipif(sys.version_info < (3, 14),
                                   reason="deferred annotations (PEP 649) are 3.14's")


def test_editing_one_module_annotation_keeps_the_others(live: Live) -> None:
    m = live("""
        a: int = 1
        b: int = 2
    """)
    assert m.module.__annotations__ == {"a": int, "b": int}
    result = m.replace("b: int", "b: float")
    assert result.applied, result.errors
    assert m.module.__annotations__ == {"a": int, "b": float}
    assert (m.module.a, m.module.b) == (1, 2)


def test_editing_one_annotation_under_the_future_import_keeps_the_others(live: Live) -> None:
    # eager string annotations on every version, deferred ones or not
    m = live("""
        from __future__ import annotations

        a: int = 1
        b: int = 2

        class Shape:
            sides: int = 3
            name: str = "triangle"
    """)
    cls = m.module.Shape
    result = m.edit(m.source.replace("b: int", "b: float").replace("sides: int", "sides: float"))
    assert result.applied, result.errors
    assert m.module.__annotations__ == {"a": "int", "b": "float"}
    assert cls.__annotations__ == {"sides": "float", "name": "str"}


def test_editing_one_class_annotation_keeps_the_others(live: Live) -> None:
    m = live("""
        class Shape:
            sides: int = 3
            name: str = "triangle"
    """)
    cls = m.module.Shape
    assert cls.__annotations__ == {"sides": int, "name": str}
    result = m.replace("sides: int", "sides: float")
    assert result.applied, result.errors
    assert cls.__annotations__ == {"sides": float, "name": str}


def test_an_annotated_name_inserted_and_one_deleted_show_in_the_annotations(
        live: Live) -> None:
    m = live("""
        a: int = 1
        b: int = 2
    """)
    result = m.edit("""
        a: int = 1
        c: str = "c"
    """)
    assert result.applied, result.errors
    assert m.module.__annotations__ == {"a": int, "c": str}


def test_dataclass_fields_added_and_removed_show_in_its_annotations_and_fields(live: Live) -> None:
    m = live("""
        from dataclasses import dataclass

        @dataclass
        class Point:
            x: int
            y: int
    """)
    cls = m.module.Point
    result = m.replace("    y: int\n", "    y: int\n    z: int = 0\n")
    assert result.applied, result.errors
    assert cls.__annotations__ == {"x": int, "y": int, "z": int}
    assert [f.name for f in dataclasses.fields(cls)] == ["x", "y", "z"]
    assert cls(1, 2) == cls(1, 2, 0)
    result = m.replace("    y: int\n", "")
    assert result.applied, result.errors
    assert cls.__annotations__ == {"x": int, "z": int}
    assert [f.name for f in dataclasses.fields(cls)] == ["x", "z"]


@deferred_only
def test_the_module_annotate_function_keeps_its_identity_and_its_cache_is_dropped(
        live: Live) -> None:
    m = live("""
        a: int = 1
        b: int = 2
    """)
    annotate = m.module.__annotate__
    assert m.module.__annotations__ == {"a": int, "b": int}  # cached by the module now
    result = m.replace("b: int", "b: 'Later'")
    assert result.applied, result.errors
    assert m.module.__annotate__ is annotate
    assert m.module.__annotations__ == {"a": int, "b": "Later"}


@deferred_only
def test_annotations_of_branches_that_did_not_run_stay_out(live: Live) -> None:
    m = live("""
        import sys

        a: int = 1
        if sys.maxsize < 0:
            never: int = 0
        else:
            ran: str = "yes"
    """)
    assert m.module.__annotations__ == {"a": int, "ran": str}
    result = m.edit("""
        import sys

        first: bytes = b""
        a: float = 1
        if sys.maxsize < 0:
            never: int = 0
        else:
            ran: str = "yes"
    """)
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.__annotations__ == {"first": bytes, "a": float, "ran": str}


@deferred_only
def test_a_class_annotation_is_evaluated_when_read_in_the_class_namespace(live: Live) -> None:
    m = live("""
        class Node:
            Kind = int
            kind: Kind = 0
    """)
    cls = m.module.Node
    result = m.replace("    kind: Kind = 0\n", "    kind: Kind = 0\n    parent: Node = None\n")
    assert result.applied, result.errors
    assert cls.__annotations__ == {"kind": int, "parent": cls}


@deferred_only
def test_class_annotations_of_branches_that_did_not_run_stay_out(live: Live) -> None:
    m = live("""
        class Config:
            host: str = "localhost"
            if len(host) > 100:
                debug: bool = True
            port: int = 80
    """)
    cls = m.module.Config
    assert "__conditional_annotations__" in cls.__annotate__.__code__.co_freevars
    assert cls.__annotations__ == {"host": str, "port": int}
    result = m.replace("port: int", "port: float")
    assert result.applied, (result.errors, result.rude_edits)
    assert cls.__annotations__ == {"host": str, "port": float}


@deferred_only
def test_a_class_that_moved_keeps_the_lines_of_its_annotations_exact(live: Live) -> None:
    m = live("""
        class Shape:
            sides: int = 3
            name: str = "triangle"
    """)
    cls = m.module.Shape
    result = m.edit("import os\n\n\n" + m.source)
    assert result.applied, result.errors
    fresh = compile(m.source, str(m.path), "exec", dont_inherit=True)
    body = next(c for c in fresh.co_consts if getattr(c, "co_name", None) == "Shape")
    annotate = next(c for c in body.co_consts if getattr(c, "co_name", None) == "__annotate__")
    live_lines = [line for _s, _e, line in cls.__annotate__.__code__.co_lines()]
    assert live_lines == [line for _s, _e, line in annotate.co_lines()]


@deferred_only
def test_a_function_edit_leaves_its_deferred_annotations_unevaluated(live: Live) -> None:
    # a name imported only for type checkers: evaluating the annotations would raise
    m = live("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from decimal import Decimal

        def total(price: Decimal, count=1) -> Decimal:
            return price * count
    """)
    fn = m.module.total
    result = m.edit(m.source.replace("count=1) -> Decimal", "count=2) -> Price"))
    assert result.applied, result.errors
    assert fn(3) == 6
    import annotationlib

    hints = annotationlib.get_annotations(fn, format=annotationlib.Format.STRING)
    assert hints == {"price": "Decimal", "return": "Price"}


def test_scope_annotations_stay_apart_from_those_of_the_functions_it_defines(
        live: Live) -> None:
    # on 3.14 a module or class body holds the deferred annotations of each function it
    # defines next to its own, in the same shape: the scope's own are rebuilt, never a
    # function's
    m = live("""
        def helper(n: int) -> str:
            return str(n)

        limit: int = 1

        class Box:
            def size(self, items: list) -> int:
                return len(items)

            width: int = 2
    """)
    result = m.edit(m.source.replace("limit: int", "limit: float")
                    .replace("width: int", "width: float"))
    assert result.applied, result.errors
    assert m.module.__annotations__ == {"limit": float}
    assert m.module.Box.__annotations__ == {"width": float}
    assert m.module.helper.__annotations__ == {"n": int, "return": str}
    assert m.module.Box.size.__annotations__ == {"items": list, "return": int}


@deferred_only
def test_the_annotate_code_of_a_scope_is_its_own_not_a_function_s() -> None:
    from relive.runtime.apply.scope_annotations import annotate_code

    source = ("def f(a: int) -> str: ...\nx: float\n"
              "class C:\n    def g(self) -> int: ...\n    y: str\n")
    module = compile(source, "m", "exec", dont_inherit=True)  # not this file's future import
    own = annotate_code(module)
    assert own is not None and "float" in own.co_names and "int" not in own.co_names
    body = next(c for c in module.co_consts if getattr(c, "co_name", "") == "C")
    own = annotate_code(body)
    assert own is not None and "str" in own.co_names and "int" not in own.co_names
