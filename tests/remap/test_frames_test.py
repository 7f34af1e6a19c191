"""schedule.frames_test: which codes an apply must consider running somewhere."""

from __future__ import annotations

import ast
import sys

from relive.runtime.remap import schedule
from relive.runtime.remap.continuation import register_alias


def _plain() -> int:
    return 1


def _generator() -> object:
    yield 1


def test_generators_and_codes_on_stacks_may_run_plain_code_not() -> None:
    here = sys._getframe().f_code
    test = schedule.frames_test({id(here)})
    assert test(here)
    assert test(_generator.__code__)
    assert not test(_plain.__code__)


def test_code_with_a_continuation_or_alias_may_run() -> None:
    import relive.runtime.remap.tracker  # noqa: F401  -- continuations exist once remapping is loaded

    def base() -> int:
        return 2

    alias = base.__code__.replace(co_name="base_alias")
    tree = ast.parse("def base():\n    return 2\n").body[0]
    assert isinstance(tree, ast.FunctionDef)
    before = schedule.frames_test()
    assert not before(base.__code__)
    register_alias(alias, base.__code__, tree)
    assert schedule.frames_test()(base.__code__)
    assert not schedule.frames_test()(_plain.__code__)
