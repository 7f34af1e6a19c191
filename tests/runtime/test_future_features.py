"""Code an apply compiles carries the ``from __future__`` flags a fresh import gives it.

Most features are mandatory by now: their import sets no flag on the module's code, though
passing their flag to ``compile()`` would. Code compiled for an edit must not differ from a
fresh import in its flags (``co_flags`` is part of what tools and the oracle compare).
"""

from __future__ import annotations
import __future__

from collections.abc import Callable
from types import CodeType

import pytest

from relive.delta.model import Baseline
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]

FEATURES = list(__future__.all_feature_names)


def _source(feature: str, result: str) -> str:
    return f"from __future__ import {feature}\n\n\ndef f(x):\n    return {result}\n"


def _fresh_code_of_f(source: str) -> CodeType:
    module = compile(source, "m.py", "exec", dont_inherit=True)
    return next(c for c in module.co_consts if isinstance(c, CodeType) and c.co_name == "f")


@pytest.mark.parametrize("feature", FEATURES)
def test_edited_function_has_the_flags_of_a_fresh_import(live: Live, feature: str) -> None:
    m = live(_source(feature, "x"))
    new = _source(feature, "(x, 1)")
    result = m.edit(new)
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.f(2) == (2, 1)
    assert m.module.f.__code__.co_flags == _fresh_code_of_f(new).co_flags


@pytest.mark.parametrize("feature", FEATURES)
def test_baseline_future_flags_are_those_the_compiler_sets(feature: str) -> None:
    source = _source(feature, "x")
    every = 0
    for name in FEATURES:
        every |= getattr(__future__, name).compiler_flag
    module = compile(source, "m.py", "exec", dont_inherit=True)
    assert Baseline.from_source(source).future_flags == module.co_flags & every
