"""The real-suites check itself: it sees a difference, and it cannot pass vacuously.

A small project made here stands in for a real one (no package index needed): its suite is run
plainly and under ``relive run`` exactly as the real ones are.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.realcode import suites

pytestmark = pytest.mark.slow

DEMO = suites.Suite("demo", "demo", "1.0", "src", ("demo",))


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> suites.Suite:
    """A project laid out as an unpacked sdist in a cache of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = suites.source_dir(DEMO)
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
        "src/demo/__init__.py": "from demo.shapes import area\n",
        "src/demo/shapes.py": """\
            def area(w, h):
                return w * h

            class Box:
                def __init__(self, w):
                    self.w = w

                @property
                def volume(self):
                    return self.w ** 3
            """,
        "tests/test_demo.py": """\
            import sys

            import pytest

            from demo import area
            from demo.shapes import Box


            def test_area():
                assert area(2, 3) == 6


            def test_volume():
                assert Box(2).volume == 8


            @pytest.mark.skip(reason="never")
            def test_skipped():
                pass


            def test_not_under_relive():
                # (relive's pytest plugin is imported by every pytest, its runtime only
                # under relive)
                assert "relive.runtime" not in sys.modules
            """,
        ".relive-unpacked": "ok\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return DEMO


def test_a_test_that_fails_only_under_relive_is_reported_by_id(demo: suites.Suite) -> None:
    comparison = suites.check(demo)
    assert comparison.plain.counts() == {"passed": 3, "skipped": 1}
    assert comparison.relive.counts() == {"passed": 2, "failed": 1, "skipped": 1}
    assert not comparison.ok
    assert any("counts differ" in p for p in comparison.problems)
    assert any("tests/test_demo.py::test_not_under_relive: passed → failed" in p
               for p in comparison.problems)


def test_the_project_modules_are_seen_tracked_in_enc_mode(demo: suites.Suite) -> None:
    comparison = suites.check(demo, extra=("-k", "not not_under_relive"))
    assert comparison.ok, comparison.problems
    modules = comparison.relive.tracking["modules"]  # type: ignore[index]
    assert modules["demo.shapes"]["tracked"] and modules["demo.shapes"]["enc"]
    # area, Box.__init__ and the property's getter
    assert modules["demo.shapes"]["enc_functions"] == 3
    assert set(modules) == {"demo", "demo.shapes"}  # the tests are not under --paths


def test_the_check_fails_when_the_project_is_compiled_plainly(demo: suites.Suite) -> None:
    plain = suites.run(demo, "python", ("-k", "not not_under_relive"))
    no_enc = suites.run(demo, "relive", ("-k", "not not_under_relive"), ("--no-enc",))
    comparison = suites.compare(demo, plain, no_enc)
    assert plain.counts() == no_enc.counts()
    assert not comparison.ok
    assert any("not in EnC mode" in p for p in comparison.problems)
    assert any("no function of the project has EnC code" in p for p in comparison.problems)


def test_the_check_fails_when_relive_is_not_in_the_program(demo: suites.Suite) -> None:
    plain = suites.run(demo, "python", ("-k", "not not_under_relive"))
    comparison = suites.compare(demo, plain, plain)
    assert not comparison.ok
    assert comparison.problems == (
        "relive's runtime is not in the program's process: nothing was tracked",)


def test_a_suite_that_runs_no_test_fails_the_check(demo: suites.Suite) -> None:
    comparison = suites.check(demo, extra=("-k", "no_such_test"))
    assert "the suite ran no test" in comparison.problems


def test_the_table_says_which_projects_differ(demo: suites.Suite) -> None:
    text = suites.table([suites.check(demo)])
    header, _rule, row, *notes = text.splitlines()
    assert header.split()[:4] == ["project", "python", "relive", "same?"]
    assert row.startswith("demo 1.0") and " NO " in row
    assert any(n.startswith("demo: counts differ") for n in notes)
