"""A running module body takes the lines its statements moved to: lines inserted above the
statement it waits in (a ``main()`` call at the bottom of the script), then an exception
through it shows the new line in its traceback. Where it cannot follow, the frame is reported
stale (RL5001), not left silently wrong."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

import relive
from tests.runtime.conftest import LiveModule
from tests.runtime.test_linetable import RELOCATES_ONLY

Live = Callable[[str], LiveModule]

# what the module body under test reaches through its call: the edit, made while it waits
_EDITS: list[tuple[str, str]] = []
_RESULTS: list[relive.ApplyResult] = []


def edit_and_raise(module_name: str) -> None:
    """Edit the module being run (its file), reload it, then raise through its body."""
    module = sys.modules[module_name]
    path = Path(module.__file__ or "")
    source = path.read_text(encoding="utf-8")
    for old, new in _EDITS:
        assert old in source
        source = source.replace(old, new, 1)
    path.write_text(source, encoding="utf-8")
    _RESULTS.append(relive.reload(module))
    raise ValueError("boom")


BODY = """
    import sys
    import traceback
    from tests.runtime.test_module_frames import edit_and_raise


    def helper():
        return 1


    def main():
        edit_and_raise(__name__)


    try:
        main()
    except ValueError as exc:
        CAUGHT = traceback.extract_tb(exc.__traceback__)
    after_line = sys._getframe().f_lineno
"""


def _module_entry(caught: traceback.StackSummary) -> traceback.FrameSummary:
    [entry] = [e for e in caught if e.name == "<module>"]
    return entry


@pytest.fixture(autouse=True)
def _clean() -> None:
    _EDITS.clear()
    _RESULTS.clear()


@RELOCATES_ONLY
def test_lines_inserted_above_a_waiting_module_body_show_in_its_traceback(
        live: Live) -> None:
    _EDITS.append(("def helper():\n", "def helper():\n    # one\n    # two\n    # three\n"))
    m = live(BODY)
    [result] = _RESULTS
    assert result.applied, result.errors
    assert not [s for s in result.stale if s.path == "<module>"], result.stale
    lines = m.source.splitlines()
    entry = _module_entry(m.module.CAUGHT)
    assert entry.lineno == lines.index("    main()") + 1  # 3 lines below where it was
    assert entry.line == "main()"
    # the body goes on at its new lines too
    assert m.module.after_line == lines.index("after_line = sys._getframe().f_lineno") + 1


def test_lines_removed_above_and_a_second_edit_keep_the_module_body_exact(
        live: Live) -> None:
    _EDITS.append(("\n\ndef main():", "\ndef main():"))
    _EDITS.append(("    return 1\n", "    x = 2\n    return x\n"))
    m = live(BODY)
    [result] = _RESULTS
    assert result.applied, result.errors
    lines = m.source.splitlines()
    assert _module_entry(m.module.CAUGHT).lineno == lines.index("    main()") + 1


def test_a_module_body_whose_running_statement_changed_is_reported_stale(
        live: Live) -> None:
    _EDITS.append(("    main()\n", "    main()  # changed while it ran\n"))
    _EDITS.append(("def helper():\n", "def helper():\n    # one\n"))
    m = live(BODY)
    [result] = _RESULTS
    assert result.applied, result.errors
    [stale] = [s for s in result.stale if s.path == "<module>"]
    assert "the statement it runs (line 16) changed" in stale.reason
    assert stale.reason in str(stale) and stale.filename == str(m.path)
    assert stale.lineno == BODY.count("\n", 0, BODY.index("    main()")) + 1  # the old line


def test_code_exec_runs_in_the_module_namespace_is_not_taken_for_its_body(
        live: Live) -> None:
    m = live("""
        def helper():
            return 1
    """)
    namespace = m.module.__dict__
    namespace["edit_inside"] = lambda: m.replace("def helper():\n", "# above\ndef helper():\n")
    # lines 3 and 4 of a string: below the module's first statement, as its body's would be
    exec(compile("import sys\n\nRESULT = edit_inside()\nSEEN = sys._getframe().f_lineno\n",
                 "<string>", "exec"), namespace)
    result = namespace["RESULT"]
    assert result.applied and not result.stale, result
    assert namespace["SEEN"] == 4
