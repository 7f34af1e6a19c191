"""``relive run`` on code EnC mode finds hard: the program runs as under ``python``, and what
cannot be compiled in EnC mode is compiled plainly and reported (RL5002) at import."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import RunningProgram
from tests.runtime.test_enc_safety import BLOCK_LIMIT

pytestmark = pytest.mark.slow

Start = Callable[..., RunningProgram]

GROUPS = """
    from itertools import groupby
    from operator import itemgetter


    def consecutive_groups(iterable, ordering=lambda x: x):
        for k, g in groupby(enumerate(iterable), key=lambda x: x[0] - ordering(x[1])):
            yield map(itemgetter(1), g)
"""

DEPTH = 20  # CPython's limit of nested blocks: the remap `try` would be one too many
DEEP = "def deep():\n" + "".join(
    f"{'    ' * (i + 1)}for i{i} in range(1):\n" for i in range(DEPTH)
) + f"{'    ' * (DEPTH + 1)}return 'deep'\n"

APP = """
    import time
    import deepmod
    import groups

    def main():
        for n in range(2000):
            print([list(g) for g in groups.consecutive_groups([1, 2, 4])], deepmod.deep(),
                  flush=True)
            time.sleep(0.02)

    main()
"""


def test_a_program_with_hard_shapes_runs_and_the_plain_unit_is_reported(
        program: Start) -> None:
    p = program({"app.py": APP, "groups.py": GROUPS, "deepmod.py": DEEP}, ["app.py"])
    assert p.wait_line(lambda line: "deep" in line) == "[[1, 2], [4]] deep"
    if BLOCK_LIMIT is not None:  # the remap `try` would be one block too many
        event = p.wait_event("rude_edit", code="RL5002")
        assert event["path"] == "deep" and event["at"] == "import"
        assert event["file"].endswith("deepmod.py")
        p.wait_stderr(lambda line: "deepmod.py:1: RL5002 warning: deep could not be compiled "
                                   "in EnC mode" in line)
    assert not [e for e in p.events() if e.get("code") == "RL5002" and e.get("path") != "deep"]
    # both modules take edits
    p.edit("groups.py", "yield map(itemgetter(1), g)", "yield map(str, map(itemgetter(1), g))")
    p.wait_event("applied", module="groups")
    p.edit("deepmod.py", "return 'deep'", "return 'DEEP'")
    p.wait_line(lambda line: line == "[['1', '2'], ['4']] DEEP")
