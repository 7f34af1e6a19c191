"""Prints the real suites' table at the end of the session that ran them."""

from __future__ import annotations

import pytest

from tests.realcode import suites

TABLE: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TABLE:
        terminalreporter.section("real test suites: python -m pytest vs relive run -m pytest")
        for text in TABLE:
            terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def real_suites() -> dict[str, suites.Comparison]:
    """Every real suite run plainly and under relive (two projects at a time: CI has 2 cores)."""
    comparisons = suites.check_all(suites.SUITES, jobs=2)
    TABLE.append(suites.table(comparisons))
    return {c.suite.name: c for c in comparisons}
