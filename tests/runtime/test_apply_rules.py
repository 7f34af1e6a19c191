"""The rules of an apply: all or nothing, refusals that do not raise, events, stale frames."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import relive
from relive.runtime import REGISTRY
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def test_a_decorator_that_raises_refuses_the_whole_apply(live: Live) -> None:
    m = live("""
        def boom(fn):
            return fn

        def a():
            return 1

        @boom
        def b():
            return 2
    """)
    result = m.edit("""
        def boom(fn):
            return fn

        def broken(fn):
            raise RuntimeError("decorator failed")

        def a():
            return 100

        @broken
        def b():
            return 2
    """)
    assert not result.applied
    assert "decorator failed" in result.errors[0]
    assert m.module.a() == 1, "no part of the delta may be applied"
    assert not hasattr(m.module, "broken")
    assert REGISTRY.get(m.module).generation == 0  # type: ignore[union-attr]


def test_a_failing_new_import_refuses_the_apply(live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    result = m.edit("""
        import no_such_module_for_relive

        def f():
            return 2
    """)
    assert not result.applied
    assert "no_such_module_for_relive" in result.errors[0]
    assert m.module.f() == 1


def test_module_names_imports_and_statements(live: Live) -> None:
    m = live("""
        LIMIT = 10
        counter = [0]

        def bump():
            counter[0] += 1
            return counter[0]
    """)
    m.module.bump()
    result = m.edit("""
        import math

        LIMIT = 20
        counter = [0]
        NEW = math.sqrt(16)

        def bump():
            counter[0] += 1
            return counter[0]

        print("side effect")
    """)
    assert result.applied, result.errors
    assert m.module.LIMIT == 20 and m.module.NEW == 4.0
    assert m.module.counter == [1], "an unchanged assignment is not evaluated again"
    assert any(r.code == "RL3001" for r in result.rude_edits)


def test_a_syntax_error_is_refused_with_its_line(live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    result = m.edit("""
        def f():
            return (1
    """)
    assert not result.applied
    assert result.delta is not None and result.delta.errors[0].lineno == 3
    assert m.module.f() == 1


def test_an_unreadable_file_is_refused(live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    m.path.unlink()
    result = relive.reload(m.module)
    assert not result.applied and "cannot read" in result.errors[0]


def test_a_delta_for_another_generation_is_refused(live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    base = relive.runtime.tracked(m.module).baseline
    stale = relive.compute_delta(base, "def f():\n    return 2\n")
    assert m.replace("return 1", "return 3").applied
    result = relive.apply(m.module, stale)
    assert not result.applied
    assert "generation 0" in result.errors[0] and "generation 1" in result.errors[0]
    assert m.module.f() == 3


def test_a_delta_from_json_applies_like_the_original(live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    base = relive.runtime.tracked(m.module).baseline
    delta = relive.compute_delta(base, "def f():\n    return 'from json'\n")
    result = relive.apply(m.module, relive.Delta.from_json(delta.to_json()))
    assert result.applied, result.errors
    assert m.module.f() == "from json"


def test_update_handlers_are_called_and_their_errors_do_not_undo_the_apply(
        live: Live) -> None:
    m = live("""
        def f():
            return 1
    """)
    seen: list[relive.ApplyResult] = []

    def failing(result: relive.ApplyResult) -> None:
        raise RuntimeError("handler bug")

    off1 = relive.on_update(failing)
    off2 = relive.on_update(seen.append)
    try:
        result = m.replace("return 1", "return 2")
    finally:
        off1()
        off2()
    assert result.applied and seen == [result]
    assert m.module.f() == 2


def test_frames_running_the_old_code_are_listed_as_stale(live: Live) -> None:
    m = live("""
        import threading

        def wait(started, release):
            started.set()
            release.wait(10)
            return "old"
    """)
    started, release = threading.Event(), threading.Event()
    out: list[str] = []
    thread = threading.Thread(target=lambda: out.append(m.module.wait(started, release)),
                              name="worker")
    thread.start()
    started.wait(10)
    try:
        result = m.replace('return "old"', 'return "new"')
    finally:
        release.set()
        thread.join(10)
    assert result.applied
    assert [(s.path, s.thread_name) for s in result.stale] == [("wait", "worker")]
    assert out == ["old"], "a running frame finishes the old code"
    assert m.module.wait(threading.Event(), threading.Event()) is None or True


def test_closure_shape_change_is_refused_while_closures_live(live: Live) -> None:
    m = live("""
        def make(a, b):
            def inner():
                return a
            return inner
    """)
    keep = m.module.make(1, 2)
    result = m.replace("return a\n", "return a + b\n")
    assert not result.applied
    assert any(r.code == "RL4001" for r in result.rude_edits)
    assert keep() == 1
    del keep
    import gc

    gc.collect()
    result = relive.reload(m.module)
    assert result.applied, result.errors
    assert m.module.make(1, 2)() == 3


def test_a_module_imported_before_relive_is_verified_against_its_file(tmp_path: Path) -> None:
    import importlib.util
    import sys

    path = tmp_path / "early_module.py"
    path.write_text("def f():\n    return 1\n\ndef g():\n    return 'g'\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("early_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["early_module"] = module
    spec.loader.exec_module(module)
    try:
        # the file changes before relive ever sees the module
        path.write_text("def f():\n    return 2\n\ndef g():\n    return 'g'\n", encoding="utf-8")
        result = relive.reload(module, "def f():\n    return 2\n\ndef g():\n    return 'G'\n")
        assert result.applied, result.errors
        assert module.g() == "G"
        assert module.f() == 2, "f must be brought in line with the file"
        assert any("f now run the file's code" in w for w in result.warnings)
    finally:
        sys.modules.pop("early_module", None)
        tracked = REGISTRY.get("early_module")
        if tracked is not None:
            REGISTRY.unregister(tracked)


def _line(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_module_code_an_edit_did_not_run_can_be_run_explicitly(live: Live) -> None:
    m = live("""
        registry = []

        def handler():
            return 1
    """)
    result = m.edit("""
        registry = []

        def handler():
            return 1

        registry.append(handler)
    """)
    assert result.applied and [r.code for r in result.rude_edits] == ["RL3001"]
    assert m.module.registry == []  # not run by the apply: its side effects are the user's
    assert relive.run_code(m.module, _line(m.source, "append")) == {}
    assert m.module.registry == [m.module.handler]
    rebound = relive.run_code(m.module, _line(m.source, "registry = []"))
    assert rebound == {"registry": []}  # an assignment, run again: the user asked for it
    with pytest.raises(ValueError, match="def"):
        relive.run_code(m.module, _line(m.source, "return 1"))  # reload updates definitions
    with pytest.raises(ValueError, match="no module-level statement"):
        relive.run_code(m.module, 99)


def test_module_code_run_explicitly_raises_its_own_errors_at_its_line(live: Live) -> None:
    m = live("""
        value = 1
    """)
    m.edit("""
        value = 1
        print(1 / 0)
    """)
    line = _line(m.source, "print")
    with pytest.raises(ZeroDivisionError) as caught:
        relive.run_code(m.module, line)
    assert caught.traceback[-1].lineno + 1 == line  # pytest's entries are 0-based
    assert caught.traceback[-1].path == m.path


def test_every_pair_of_edit_kind_and_target_the_delta_engine_makes_has_a_handler() -> None:
    from relive.runtime.apply.plan import _CODE_TARGETS, _HANDLERS
    from tests.delta.scenarios import load_all

    made: set[tuple[relive.EditKind, relive.EditTarget]] = set()
    for scenario in load_all():
        made.update((e.kind, e.target) for e in scenario.delta().edits)
    handled = set(_HANDLERS) | {(relive.EditKind.LINE_SHIFT, t) for t in _CODE_TARGETS}
    assert len(made) > 15  # the corpus covers most pairs
    assert made <= handled, made - handled


def test_an_edit_with_no_handler_is_refused_and_changes_nothing(live: Live) -> None:
    from relive.runtime.apply.pipeline import apply_delta

    m = live("""
        \"\"\"Docs.\"\"\"

        def f():
            return 1
    """)
    t = relive.runtime.tracked(m.module)
    delta = relive.compute_delta(t.baseline, m.source.replace("return 1", "return 2"))
    unknown = relive.SemanticEdit("delete", "<module>", "docstring", (1, 1), None)
    result = apply_delta(t, dataclasses.replace(delta, edits=(*delta.edits, unknown)))
    assert not result.applied
    assert "cannot apply an edit of kind delete to a docstring" in result.errors[0]
    assert m.module.f() == 1 and m.module.__doc__ == "Docs."
    assert t.generation == 0


def test_edit_kinds_and_targets_are_enums_that_read_and_write_their_json_values() -> None:
    edit = relive.SemanticEdit("update", "f", "function", (1, 2), (1, 2))
    assert edit.kind is relive.EditKind.UPDATE and edit.target is relive.EditTarget.FUNCTION
    assert edit.to_json()["kind"] == "update" and edit.to_json()["target"] == "function"
    assert relive.SemanticEdit.from_json(edit.to_json()) == edit
    with pytest.raises(ValueError, match="unknown semantic edit kind or target"):
        relive.SemanticEdit.from_json({**edit.to_json(), "target": "closure"})
    with pytest.raises(ValueError):
        relive.SemanticEdit("rename", "f", "function", None, None)
