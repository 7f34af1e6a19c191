"""Edits that a fresh import of the new source runs are applied, and the live module then
holds what that fresh import would: the scratch evaluation of an apply sees the names the
same delta binds earlier in the module, and ``from __future__ import annotations`` can come
and go."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable

import pytest

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]
# 3.14+ evaluates a module's or class's annotations when they are read, not as the body runs
ANNOTATIONS_DEFERRED = sys.version_info >= (3, 14)


def test_a_class_body_sees_an_import_added_by_the_same_edit(live: Live) -> None:
    m = live("""
        class Settings:
            extra: int = 0

            def names(self) -> list:
                return []
    """)
    settings = m.module.Settings
    result = m.edit("""
        from typing import Any
        from collections.abc import Iterator


        class Settings:
            extra: Any = None

            def names(self) -> Iterator[str]:
                yield "a"
    """)
    assert result.applied, result.errors
    assert m.module.Settings is settings
    assert settings.extra is None
    assert settings.__annotations__ == {"extra": m.module.Any}
    assert list(settings().names()) == ["a"]
    assert settings.names.__annotations__ == {"return": m.module.Iterator[str]}


def test_a_refused_class_edit_leaves_the_live_annotations_as_they_were(live: Live) -> None:
    m = live("""
        class Settings:
            a: int = 0
            b: int = 0
    """)
    annotations = dict(m.module.Settings.__annotations__)
    result = m.edit("""
        class Settings:
            a: str = 0
            b: int = 1 // 0
    """)
    assert not result.applied
    assert m.module.Settings.__annotations__ == annotations


def test_an_annotation_change_keeps_the_other_annotations_of_the_module(live: Live) -> None:
    m = live("""
        a: int = 1
        b: str = "x"
    """)
    result = m.replace("b: str", "b: bytes")
    assert result.applied, result.errors
    assert m.module.__annotations__ == {"a": int, "b": bytes}


def test_an_annotation_change_does_not_evaluate_the_value_again(live: Live) -> None:
    m = live("""
        CACHE: dict = {}
    """)
    cache = m.module.CACHE
    cache["k"] = 1
    result = m.replace("CACHE: dict", "CACHE: dict[str, int]")
    assert result.applied, result.errors
    assert m.module.CACHE is cache
    assert m.module.__annotations__ == {"CACHE": dict[str, int]}


def test_overloads_inserted_by_one_edit_leave_the_real_definition_bound(live: Live) -> None:
    m = live("""
        import typing as t


        def command(name=None):
            return name
    """)
    command = m.module.command
    result = m.edit("""
        import typing as t


        @t.overload
        def command(name: int) -> int: ...
        @t.overload
        def command(name: str) -> str: ...
        def command(name=None):
            return name
    """)
    assert result.applied, result.errors
    assert m.module.command is command
    assert command("x") == "x"


def test_adding_and_removing_future_annotations_updates_every_definition_in_place(
        live: Live) -> None:
    old = textwrap.dedent("""
        SIZES: dict = {}


        def size(items: list) -> int:
            return len(items)


        class Box:
            width: int = 1

            def grow(self, by: int) -> object:
                self.width += by
                return self
    """)
    m = live(old)
    size, box, sizes = m.module.size, m.module.Box, m.module.SIZES
    result = m.edit("from __future__ import annotations\n" + old)
    assert result.applied, (result.errors, result.rude_edits)
    assert not [r for r in result.rude_edits if r.code == "RL3004"]
    assert (m.module.size, m.module.Box, m.module.SIZES) == (size, box, sizes)
    assert m.module.size is size and m.module.Box is box and m.module.SIZES is sizes
    assert size.__annotations__ == {"items": "list", "return": "int"}
    assert box.grow.__annotations__ == {"by": "int", "return": "object"}
    assert box.__annotations__ == {"width": "int"}
    assert m.module.__annotations__ == {"SIZES": "dict"}
    assert size([1, 2]) == 2 and box().grow(2).width == 3  # type: ignore[attr-defined]
    result = m.edit(old)
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.size is size and m.module.Box is box
    assert size.__annotations__ == {"items": list, "return": int}
    assert box.grow.__annotations__ == {"by": int, "return": object}
    assert m.module.__annotations__ == {"SIZES": dict}


def test_a_fallback_class_in_a_branch_not_taken_does_not_take_the_name(live: Live) -> None:
    m = live("""
        import sys

        if sys.version_info >= (3, 8):
            from typing import TypedDict
        else:
            class TypedDict:
                pass
    """)
    result = m.edit("""
        import sys

        if sys.version_info >= (3, 8):
            from typing import Literal, TypedDict
        else:
            class Literal:
                pass

            class TypedDict:
                pass

        Version = Literal["1.0", "2.0"]
    """)
    assert result.applied, result.errors
    import typing

    assert m.module.Literal is typing.Literal
    assert m.module.Version == typing.Literal["1.0", "2.0"]


def test_new_code_reads_names_bound_by_a_guarded_block_the_same_edit_changed(
        live: Live) -> None:
    m = live("""
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from collections.abc import Iterable

        try:
            from json import dumps
        except ImportError:
            dumps = None
    """)
    result = m.edit("""
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from collections.abc import Iterable, Iterator

        try:
            from json import dumps, loads
        except ImportError:
            dumps = loads = None


        class Reader:
            empty: Iterator[int] | None = loads("[]")

            def read(self, text: str) -> "Iterable[int]":
                return loads(text)
    """)
    if ANNOTATIONS_DEFERRED:
        # a fresh import does not evaluate the class's annotations: it runs, and reading
        # them raises, as it does in the live class
        assert result.applied, result.errors
        with pytest.raises(NameError, match="Iterator"):
            _ = m.module.Reader.__annotations__
    else:
        assert not result.applied, "Iterator is bound only while type checking"
        assert "Iterator" in result.errors[0]
        assert not hasattr(m.module, "loads"), "a refused apply binds nothing"
    result = m.replace("empty: Iterator[int] | None", "empty: list[int] | None")
    assert result.applied, result.errors
    import json

    assert m.module.loads is json.loads
    assert m.module.Reader.empty == []
    assert m.module.Reader.__annotations__ == {"empty": list[int] | None}
    assert not hasattr(m.module, "Iterator") and not hasattr(m.module, "Iterable")


def test_a_fallback_function_that_a_changed_block_defines_again_keeps_its_identity(
        live: Live) -> None:
    m = live("""
        try:
            from no_such_module_for_relive import parse
        except ImportError:
            def parse(text):
                return text.split()
    """)
    parse = m.module.parse
    result = m.edit("""
        try:
            from no_such_module_for_relive import parse, render
        except ImportError:
            def parse(text):
                return text.split(",")

            def render(items):
                return ",".join(items)
    """)
    assert result.applied, result.errors
    assert m.module.parse is parse, "updated in place, not made again by the block"
    assert parse("a,b") == ["a", "b"]
    assert m.module.render(["a", "b"]) == "a,b"


def test_edits_of_a_class_made_only_while_type_checking_change_nothing(live: Live) -> None:
    m = live("""
        import typing

        if typing.TYPE_CHECKING:
            from typing import Literal, Protocol

            class Connection(Protocol):
                host: str | Literal[False]

                def close(self) -> None:
                    ...
    """)
    result = m.edit("""
        import typing

        if typing.TYPE_CHECKING:
            from typing import Protocol

            class Connection(Protocol):
                host: str | typing.Literal[False]

                def close(self, force: bool = False) -> None:
                    ...

                def open(self) -> None:
                    ...
    """)
    assert result.applied, result.errors
    assert result.warnings == ()
    assert not hasattr(m.module, "Connection") and not hasattr(m.module, "Protocol")


def test_a_wrapper_that_copied_annotations_and_docstring_gets_the_new_ones(
        live: Live) -> None:
    m = live("""
        import contextlib


        @contextlib.contextmanager
        def opened(name: int):
            "Old doc."
            yield name
    """)
    wrapper = m.module.opened
    result = m.edit("""
        import contextlib


        @contextlib.contextmanager
        def opened(name: str):
            "New doc."
            yield name
    """)
    assert result.applied, result.errors
    assert m.module.opened is wrapper
    assert wrapper.__annotations__ == {"name": str}
    assert wrapper.__doc__ == "New doc."
    with wrapper("x") as value:
        assert value == "x"


def test_functions_run_by_an_edit_see_the_module_names_the_same_edit_adds(live: Live) -> None:
    m = live("""
        VALUE = 0
    """)
    result = m.edit("""
        TABLE = {"a": 1}

        def lookup(key):
            return TABLE[key]

        VALUE = lookup("a")
    """)
    assert result.applied, result.errors
    assert m.module.VALUE == 1


def test_a_new_descriptor_in_a_live_class_is_named_by_the_new_set_name(live: Live) -> None:
    # __set_name__ reads a module name that is new in the same edit (packaging 23.1 -> 23.2,
    # metadata.py)
    m = live("""
        class Field:
            def __set_name__(self, owner, name):
                self.key = name

        class Metadata:
            name = Field()
    """)
    metadata = m.module.Metadata
    result = m.edit("""
        EMAIL_NAMES = {"name": "Name", "author": "Author"}

        class Field:
            def __set_name__(self, owner, name):
                self.key = EMAIL_NAMES[name]

        class Metadata:
            name = Field()
            author = Field()
    """)
    assert result.applied, result.errors
    assert m.module.Metadata is metadata
    # the new attribute's descriptor is named by the new __set_name__; the one that was
    # there keeps the state the old code gave it, as any live object does
    assert (metadata.name.key, metadata.author.key) == ("name", "Author")


def test_a_refused_edit_takes_back_the_new_module_names_functions_needed(live: Live) -> None:
    m = live("""
        def helper():
            return 1
    """)
    before = dict(vars(m.module))
    result = m.edit("""
        TABLE = {"a": 1}

        def lookup(key):
            return TABLE[key]

        VALUE = lookup("a")
        BROKEN = 1 / 0
    """)
    assert not result.applied
    assert "ZeroDivisionError" in result.errors[0]
    assert dict(vars(m.module)) == before


def test_a_block_that_deletes_its_helper_class_leaves_only_what_a_fresh_import_keeps(
        live: Live) -> None:
    # typing_extensions 4.11 -> 4.12: a sentinel made by a helper class the block deletes,
    # read by a function that the same edit's later code calls
    m = live("""
        import sys
    """)
    result = m.edit("""
        import sys

        if sys.version_info >= (9,):
            Sentinel = None
        else:
            class _SentinelType:
                def __repr__(self):
                    return "Sentinel"

            Sentinel = _SentinelType()
            del _SentinelType


        def describe():
            return repr(Sentinel)

        DESCRIPTION = describe()
    """)
    assert result.applied, result.errors
    assert m.module.DESCRIPTION == "Sentinel"
    assert not hasattr(m.module, "_SentinelType")
