"""Bad input to ``reload`` and ``apply`` gets a clear answer and changes nothing: a source of the
wrong type, a file that is not a regular file, an empty file, text nested too deeply."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import relive
from relive.runtime import tracked
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]
SOURCE = "def f():\n    return 1\n\nX = 1\n"


def _unchanged(m: LiveModule) -> None:
    assert m.module.f() == 1 and m.module.X == 1
    assert tracked(m.module).baseline.source == SOURCE


def test_a_source_that_is_not_text_is_a_type_error_and_changes_nothing(live: Live) -> None:
    m = live(SOURCE)
    with pytest.raises(TypeError, match="source must be str, bytes or None, not int"):
        relive.reload(m.module, 12345)  # type: ignore[arg-type]
    _unchanged(m)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX's")
def test_a_file_replaced_by_a_named_pipe_is_refused_without_blocking(live: Live) -> None:
    m = live(SOURCE)
    m.path.unlink()
    os.mkfifo(m.path)
    result = relive.reload(m.module)  # must not wait for a writer
    assert not result.applied and "is not a regular file" in result.errors[0]
    _unchanged(m)


def test_an_empty_file_is_refused_as_relive_run_ignores_it(live: Live) -> None:
    m = live(SOURCE)
    m.path.write_text("")
    result = relive.reload(m.module)
    assert not result.applied and "is empty" in result.errors[0]
    _unchanged(m)
    # an empty source passed on purpose empties the module
    result = relive.reload(m.module, "")
    assert result.applied and set(result.deleted) == {"f", "X"}


@pytest.mark.parametrize("source", [
    "x = " + "+".join(["1"] * 100_000) + "\n",  # Python refuses it too
    "if x == 0:\n    pass\n" + "".join(f"elif x == {i}:\n    pass\n" for i in range(1, 3000)),
], ids=["100000-term sum", "3000-branch elif"])
def test_a_source_nested_too_deeply_is_refused_with_a_result(live: Live, source: str) -> None:
    m = live(SOURCE)
    result = relive.reload(m.module, source)
    assert not result.applied and result.errors
    _unchanged(m)
    assert relive.reload(m.module, SOURCE.replace("return 1", "return 2")).applied
    assert m.module.f() == 2


def test_a_thousand_nested_lambdas_run_under_relive_and_take_edits(tmp_path: Path) -> None:
    # valid Python that a tree handed back to the compiler cannot hold: the module runs
    # (compiled plainly, RL5002), and an edit of it is applied or refused, never raised
    program = tmp_path / "deep.py"
    program.write_text("f = " + "lambda: " * 1000 + "1\n\ndef g():\n    return 1\n")
    script = textwrap.dedent(f"""
        import sys
        import relive
        relive.install()
        sys.path.insert(0, {str(tmp_path)!r})
        import deep
        with open(deep.__file__) as f:
            text = f.read()
        result = relive.reload(deep, text.replace("return 1", "return 2"))
        print(deep.g(), result.applied, bool(result.errors))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() in (["2", "True", "False"], ["1", "False", "True"])


def _forged(m: LiveModule, **changes: object) -> relive.ApplyResult:
    base = tracked(m.module).baseline
    delta = relive.compute_delta(base, SOURCE.replace("return 1", "return 2"))
    return relive.apply(m.module, dataclasses.replace(delta, **changes))  # type: ignore[arg-type]


def test_a_delta_whose_edits_do_not_lead_to_its_next_baseline_is_refused(live: Live) -> None:
    m = live(SOURCE)
    result = _forged(m, edits=())  # later saves would never reach the code
    assert not result.applied and "not the ones" in result.errors[0]
    _unchanged(m)
    base = tracked(m.module).baseline
    delete = relive.SemanticEdit("delete", "f", "function", (1, 2), None)
    result = _forged(m, edits=(delete,))  # a tombstone for a definition the baseline keeps
    assert not result.applied and "not the ones" in result.errors[0]
    _unchanged(m)
    assert tracked(m.module).baseline is base


@pytest.mark.parametrize("changes, message", [
    ({"base_generation": 10**6}, "generation 1000000"),
    ({"module_name": "other"}, "for module 'other'"),
    ({"filename": "/elsewhere/other.py"}, "for /elsewhere/other.py"),
])
def test_a_delta_for_another_module_or_generation_is_refused(
        live: Live, changes: dict[str, object], message: str) -> None:
    m = live(SOURCE)
    result = _forged(m, **changes)
    assert not result.applied and message in result.errors[0]
    _unchanged(m)


def test_a_delta_from_json_of_the_live_baseline_applies(live: Live) -> None:
    m = live(SOURCE)
    delta = relive.compute_delta(tracked(m.module).baseline, SOURCE.replace("X = 1", "X = 5"))
    result = relive.apply(m.module, relive.Delta.from_json(delta.to_json()))
    assert result.applied, result.errors
    assert m.module.X == 5


@pytest.mark.parametrize("make", [
    lambda good: "[" * 100_000 + "]" * 100_000,
    lambda good: json.dumps({**good, "base_generation": 1}).replace(
        '"base_generation": 1', '"base_generation": ' + "9" * 5000),
    lambda good: json.dumps({**good, "base_generation": 1e400}),
    lambda good: json.dumps({**good, "edits": [{**good["edits"][0], "kind": "rename"}]}),
], ids=["nested 100000 deep", "5000-digit integer", "infinite float", "unknown edit kind"])
def test_malformed_delta_json_is_a_value_error(make: Callable[[dict[str, Any]], str]) -> None:
    base = relive.Baseline.from_source(SOURCE, "a.py", "a")
    good = json.loads(relive.compute_delta(base, SOURCE.replace("1", "2")).to_json())
    with pytest.raises(ValueError):
        relive.Delta.from_json(make(good))
