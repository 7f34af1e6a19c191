"""The edit-scenario corpus: each scenario's delta is exactly what the file says."""

from __future__ import annotations

import pytest

import relive
from tests.delta.scenarios import (
    Scenario,
    describe_edit,
    describe_error,
    describe_rude,
    load_all,
)

SCENARIOS = load_all()


def test_corpus_is_large_enough() -> None:
    assert len(SCENARIOS) >= 80


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_delta_is_as_expected(scenario: Scenario) -> None:
    delta = scenario.delta()
    assert {describe_error(e) for e in delta.errors} == scenario.errors, scenario.about
    if scenario.errors:
        assert delta.edits == () and not delta.ok and delta.next_baseline is None
        return
    assert scenario.edits is not None, "a scenario without errors lists its edits"
    assert {describe_edit(e) for e in delta.edits} == scenario.edits, scenario.about
    assert {describe_rude(r) for r in delta.rude_edits} == scenario.rude, scenario.about
    assert delta.ok == (not any(r.is_error for r in delta.rude_edits))
    for path, expected in scenario.linemaps.items():
        actual = delta.line_maps[path]
        assert {line: actual.get(line) for line in expected} == expected, path


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_incremental_equals_whole_module(scenario: Scenario) -> None:
    narrow, whole = scenario.delta(), scenario.delta(incremental=False)
    assert sorted(map(str, narrow.edits)) == sorted(map(str, whole.edits))
    assert sorted(map(str, narrow.rude_edits)) == sorted(map(str, whole.rude_edits))
    assert narrow.errors == whole.errors
    assert dict(narrow.line_maps) == dict(whole.line_maps)
    if narrow.next_baseline is not None:
        fresh = relive.Baseline.from_source(scenario.source(scenario.new), "app.py", "app")
        assert narrow.next_baseline.index == fresh.index
        assert list(narrow.next_baseline.index) == list(fresh.index)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_delta_round_trips_through_json(scenario: Scenario) -> None:
    delta = scenario.delta()
    again = relive.Delta.from_json(delta.to_json())
    assert again == delta
    assert again.to_json() == delta.to_json()
