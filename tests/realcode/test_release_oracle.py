"""The release-history oracle as tests.

``test_release_history_has_no_bad_case`` runs every case of :mod:`tests.realcode.releases`
(a few minutes, releases fetched once into the cache): it runs only with ``RELIVE_REALCODE=1``
so that the suite's run on each CPython does not repeat it; CI runs it once. The other tests
check the oracle itself on tiny edits, with nothing to fetch.
"""

from __future__ import annotations

import os

import pytest

from tests.realcode.pair import check
from tests.realcode.release_oracle import BAD, all_cases, classify, exact_share, run, table
from tests.realcode.releases import Case
from tests.realcode.repros import REPROS

pytestmark = pytest.mark.realcode


ONCE = pytest.mark.skipif(not os.environ.get("RELIVE_REALCODE"),
                          reason="the release oracle runs once per CI run, with RELIVE_REALCODE=1")


@ONCE
@pytest.mark.timeout(900)
def test_release_history_has_no_bad_case_and_mostly_exact_applies() -> None:
    verdicts, _records = run(all_cases())
    print(table(verdicts))
    share = exact_share(verdicts)
    print(f"applied exactly: {100 * share:.1f} %")
    bad = [f"{v.kind} {v.case.ident}: {v.detail}" for v in verdicts if v.kind in BAD]
    assert not bad, "\n".join(bad)
    assert share >= 0.80


@ONCE
@pytest.mark.parametrize("name", sorted(REPROS))
def test_repro_of_each_bad_case_kind_is_good(name: str) -> None:
    """Each repro stands for release cases the oracle found bad (see repros.py)."""
    r = REPROS[name]
    verdict, _ = check(r.old, r.new, r.module, others=r.others)
    assert verdict.kind not in BAD, f"{r.cause}: {verdict.kind}: {verdict.detail}"


def test_an_edit_applied_in_place_is_exact() -> None:
    old = ("X = 1\n\ndef f(a, b=2):\n    return a + b\n\n"
           "class C:\n    def m(self):\n        return 1\n")
    new = ("X = 1\n\ndef f(a, b=3):\n    return a * b\n\n"
           "class C:\n    def m(self):\n        return 2\n")
    verdict, _ = check(old, new)
    assert verdict.kind == "exact", verdict.detail


def test_a_rude_edit_is_refused_and_changes_nothing() -> None:
    old = "class C:\n    __slots__ = ('a',)\n\ndef f():\n    return 1\n"
    new = "class C:\n    __slots__ = ('a', 'b')\n\ndef f():\n    return 2\n"
    verdict, _ = check(old, new)
    assert verdict.kind == "refused", verdict.detail


def test_an_old_source_that_does_not_import_is_skipped() -> None:
    verdict, _ = check("import relive_no_such_module\n", "import relive_no_such_module\nX = 1\n")
    assert verdict.kind == "skipped"
    assert "relive_no_such_module" in verdict.detail


def _record(live_first: str, rude: list[list[object]]) -> dict[str, object]:
    codes = {"f@0": {"firstlineno": "3", "positions": "p"}}
    live_codes = {"f@0": {"firstlineno": live_first, "positions": "p"}}
    return {"live": {"applied": True, "errors": [], "rude": rude, "warnings": [],
                     "codes": live_codes, "identity": [], "stale": [], "deleted": []},
            "fresh": {"codes": codes}, "spans": [[1, 1], [3, 4]]}


CASE = Case("p", "1", "2", "m.py")


def test_code_that_differs_from_a_fresh_import_without_a_warning_is_a_bad_case() -> None:
    verdict = classify(CASE, _record("4", []))
    assert verdict.kind == "different"
    assert "f@0: firstlineno" in verdict.detail


def test_a_warning_about_the_statement_around_a_difference_explains_it() -> None:
    warning = ["RL3001", "warning", 3, "", "module-level code changed at this line"]
    assert classify(CASE, _record("4", [warning])).kind == "warned"
    elsewhere = ["RL3001", "warning", 1, "", "module-level code changed at this line"]
    assert classify(CASE, _record("4", [elsewhere])).kind == "different"


def test_a_refusal_that_changed_something_is_a_bad_case() -> None:
    record = _record("3", [["RL1004", "error", 1, "C", "__slots__ of class C changed"]])
    live = record["live"]
    assert isinstance(live, dict)
    live.update(applied=False, errors=["RL1004 line 1"], changed=["functions run other code"])
    verdict = classify(CASE, record)
    assert verdict.kind == "refused-changed"
    live["changed"] = []
    assert classify(CASE, record).kind == "refused"
