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
