"""What ``relive run`` prints for an apply, from the record the program's process sends."""

from __future__ import annotations

import io
import json
from pathlib import Path

import relive
from relive.agent.records import record
from relive.cli.report import Reporter, apply_lines, needs_restart


def _module(tmp_path: Path, name: str, source: str) -> object:
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_applied_edit_is_one_line_and_an_applied_event(tmp_path: Path) -> None:
    module = _module(tmp_path, "rec_applied", "def f():\n    return 1\n")
    result = relive.reload(module, "def f():\n    return 2\n")  # type: ignore[arg-type]
    found = record(result)
    assert found is not None
    found = json.loads(json.dumps(found))  # it crosses a pipe
    lines = apply_lines(found)
    assert lines[0][0] == "ok" and "gen 1: updated f" in lines[0][1]
    events = tmp_path / "events.jsonl"
    out = io.StringIO()
    reporter = Reporter(str(events), stream=out)
    reporter(found)
    reporter.close()
    assert out.getvalue().startswith("relive: ") and "updated f" in out.getvalue()
    event = json.loads(events.read_text(encoding="utf-8"))
    assert event["event"] == "applied" and event["updated"] == ["f"]
    assert not needs_restart(found)


def test_an_error_rude_edit_needs_a_restart(tmp_path: Path) -> None:
    module = _module(tmp_path, "rec_rude", "class A:\n    pass\n")
    result = relive.reload(module, "class A(dict):\n    pass\n")  # type: ignore[arg-type]
    found = json.loads(json.dumps(record(result)))
    assert needs_restart(found)
    lines = apply_lines(found)
    assert any("RL1001 error" in text for _style, text in lines)
    style, text = lines[-1]
    assert style == "error" and text.endswith(": not applied (restart to take this edit)")


def test_a_syntax_error_names_its_line(tmp_path: Path) -> None:
    module = _module(tmp_path, "rec_syntax", "def f():\n    return 1\n")
    result = relive.reload(module, "def f():\n    return (1\n")  # type: ignore[arg-type]
    found = json.loads(json.dumps(record(result)))
    assert not needs_restart(found)
    (style, text), = apply_lines(found)
    assert style == "error" and "syntax error" in text and "nothing changed" in text


def test_an_update_handler_that_raised_is_a_warning_and_an_error_event(tmp_path: Path) -> None:
    from relive.runtime.events import HandlerError

    module = _module(tmp_path, "rec_handler", "def f():\n    return 1\n")
    result = relive.reload(module, "def f():\n    return 2\n")  # type: ignore[arg-type]
    found = json.loads(json.dumps(record(HandlerError("clear_cache", result, KeyError("k")))))
    events = tmp_path / "events.jsonl"
    out = io.StringIO()
    reporter = Reporter(str(events), stream=out)
    reporter(found)
    reporter.close()
    assert out.getvalue() == "relive: update handler clear_cache raised KeyError('k')\n"
    assert json.loads(events.read_text(encoding="utf-8"))["event"] == "error"
