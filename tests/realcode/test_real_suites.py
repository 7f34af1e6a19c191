"""Real projects' own test suites give the same outcomes under ``relive run`` as under python.

Slow (a few minutes) and needs the package index the first time, so it runs only when
``RELIVE_REALCODE=1``: CI runs it once, on the default python. The table is printed at the end
of the session; ``python tests/realcode/suites.py`` prints the same table by itself.
"""

from __future__ import annotations

import os

import pytest

from tests.realcode import suites


@pytest.mark.realcode
# the first test also waits for every suite (downloads included, on a cold cache)
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("RELIVE_REALCODE") != "1",
                    reason="real suites run only with RELIVE_REALCODE=1 (once, in CI)")
@pytest.mark.parametrize("name", [s.name for s in suites.SUITES])
def test_suite_gives_the_same_outcomes_and_runs_tracked_enc_code_under_relive(
        real_suites: dict[str, suites.Comparison], name: str) -> None:
    comparison = real_suites[name]
    assert comparison.ok, (
        f"{name}: python: {comparison.plain.summary()}; relive: {comparison.relive.summary()}\n"
        + "\n".join(comparison.problems)
        + f"\nlogs: {comparison.plain.log}, {comparison.relive.log}")


def test_at_least_four_projects_are_checked_each_pinned_to_one_release() -> None:
    assert len({s.dist for s in suites.SUITES}) >= 4
    assert all(s.version[0].isdigit() for s in suites.SUITES)
