"""The index records: moving a definition keeps everything but its first line."""

from __future__ import annotations

import relive
from relive.delta.index import Definition

SOURCE = """\
import functools


class C:
    @functools.cache
    async def m(self, x=lambda: 1):
        if x:
            def inner():
                return 2
            return inner
"""


def test_a_moved_definition_differs_only_in_its_first_line() -> None:
    base = relive.Baseline.from_source(SOURCE, "m.py", "m")
    assert len(base.index) > 3
    for d in base.index.values():
        moved = d.moved(7)
        assert type(moved) is Definition and moved is not d
        for slot in Definition.__slots__:
            expected = getattr(d, slot) + 7 if slot == "first" else getattr(d, slot)
            assert getattr(moved, slot) == expected, slot
        assert moved.span == (d.span[0] + 7, d.span[1] + 7)


def test_lines_inserted_above_a_blank_first_line_move_the_definitions_not_the_module() -> None:
    base = relive.Baseline.from_source("\nclass Shape:\n    sides = 3\n", "a.py", "a")
    delta = relive.compute_delta(base, "import os\n\n\n" + base.source)
    assert [(e.kind, e.target, e.path) for e in delta.edits] == [
        ("insert", "import", "os"), ("line_shift", "class", "Shape")]
    assert delta.next_baseline is not None
    module = delta.next_baseline.index["<module>"]
    whole = relive.Baseline.from_source(delta.next_baseline.source, "a.py", "a")
    assert module == whole.index["<module>"] and module.first == 1
