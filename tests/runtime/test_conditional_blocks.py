"""Edits of definitions in conditional blocks follow the branch that ran in the live process
(see :mod:`relive.runtime.apply.branches`)."""

from __future__ import annotations

import ast
import collections
import sys
import textwrap
import types
from collections.abc import Callable

import relive
from relive.delta import Baseline
from relive.runtime.apply.branches import _UNKNOWN, Branch, branch_state, evaluate
from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def _codes(result: relive.ApplyResult) -> list[str]:
    return [r.code for r in result.rude_edits]


def test_a_method_added_to_a_class_under_type_checking_changes_nothing_live(
        live: Live) -> None:
    m = live("""
        import typing

        if typing.TYPE_CHECKING:
            class B:
                x: int
    """)
    result = m.edit("""
        import typing

        if typing.TYPE_CHECKING:
            class B:
                x: int

                def f(self) -> int: ...

        def g():
            return 2
    """)
    assert result.applied, result.errors
    assert _codes(result) == [] and result.warnings == ()
    assert not hasattr(m.module, "B")
    assert m.module.g() == 2
    # the baseline moved on: the next edit of the same class is taken too
    result = m.edit("""
        import typing

        if typing.TYPE_CHECKING:
            class B:
                x: int

                def f(self) -> int:
                    return 1

        def g():
            return 3
    """)
    assert result.applied, result.errors
    assert m.module.g() == 3 and not hasattr(m.module, "B")


def test_functions_under_type_checking_are_not_inserted_and_their_deletes_unbind_nothing(
        live: Live) -> None:
    m = live("""
        from typing import TYPE_CHECKING

        def helper():
            return "live"

        if TYPE_CHECKING:
            def helper(): ...
    """)
    result = m.edit("""
        from typing import TYPE_CHECKING

        def helper():
            return "live"

        if TYPE_CHECKING:
            def extra(): ...
    """)
    assert result.applied, result.errors
    assert m.module.helper() == "live", "the delete of the unrun stub unbinds nothing"
    assert not hasattr(m.module, "extra")


def test_a_class_added_to_the_untaken_branch_does_not_shadow_the_taken_import(
        live: Live) -> None:
    m = live("""
        import sys

        if sys.version_info >= (3, 0):
            from collections import OrderedDict
        else:
            pass
    """)
    result = m.edit("""
        import sys

        if sys.version_info >= (3, 0):
            from collections import OrderedDict
        else:
            class OrderedDict(dict):
                pass
    """)
    assert result.applied, result.errors
    assert m.module.OrderedDict is collections.OrderedDict


def test_a_class_removed_from_the_untaken_branch_leaves_the_taken_import_bound(
        live: Live) -> None:
    m = live("""
        import sys

        if sys.version_info < (3, 0):
            class OrderedDict(dict):
                pass
        else:
            from collections import OrderedDict
    """)
    result = m.edit("""
        import sys

        if sys.version_info < (3, 0):
            pass
        else:
            from collections import OrderedDict
    """)
    assert result.applied, result.errors
    assert m.module.OrderedDict is collections.OrderedDict


def test_a_method_added_to_the_class_of_the_branch_that_ran_is_inserted(live: Live) -> None:
    m = live("""
        import sys

        if sys.platform == "no-such-platform":
            class C:
                def a(self):
                    return 0
        else:
            class C:
                def a(self):
                    return 1
    """)
    result = m.edit("""
        import sys

        if sys.platform == "no-such-platform":
            class C:
                def a(self):
                    return 0

                def b(self):
                    return "wrong"
        else:
            class C:
                def a(self):
                    return 1

                def b(self):
                    return 2
    """)
    assert result.applied, result.errors
    assert _codes(result) == []
    assert m.module.C().b() == 2


def test_a_function_added_to_the_handler_of_an_import_that_worked_is_not_bound(
        live: Live) -> None:
    m = live("""
        try:
            import json
        except ImportError:
            json = None
        else:
            def dumps(x):
                return json.dumps(x)
    """)
    result = m.edit("""
        try:
            import json
        except ImportError:
            json = None

            def dumps(x):
                return repr(x)
        else:
            def dumps(x):
                return json.dumps(x)
    """)
    assert result.applied, result.errors
    assert m.module.dumps("a") == '"a"', "the else: function keeps the name"


def test_a_fallback_added_where_the_import_failed_is_bound(live: Live) -> None:
    m = live("""
        try:
            from no_such_module_for_relive import fast
        except ImportError:
            def fast():
                return "slow"
    """)
    result = m.edit("""
        try:
            from no_such_module_for_relive import fast
        except ImportError:
            def fast():
                return "slow"

            def other():
                return "fallback"
    """)
    assert result.applied, result.errors
    assert "RL3005" not in _codes(result), "the live fast() witnesses the handler ran"
    assert m.module.other() == "fallback"


def test_a_branch_that_cannot_be_told_is_applied_with_a_warning(live: Live) -> None:
    # the test calls something: it is not evaluated, and no definition witnesses the branch
    m = live("""
        import os

        if os.environ.get("RELIVE_NO_SUCH_VARIABLE"):
            print("debugging")
    """)
    result = m.edit("""
        import os

        if os.environ.get("RELIVE_NO_SUCH_VARIABLE"):
            print("debugging")

            def f():
                return 1
    """)
    assert result.applied, result.errors
    assert "RL3005" in _codes(result)
    assert m.module.f() == 1


def _eval(text: str, ns: dict[str, object]) -> object:
    return evaluate(ast.parse(text, mode="eval").body, ns)


def test_the_branch_evaluator_reads_versions_platforms_and_flags() -> None:
    import typing

    ns: dict[str, object] = {"sys": sys, "typing": typing, "TYPE_CHECKING": False}
    assert _eval("typing.TYPE_CHECKING", ns) is False
    assert _eval("not TYPE_CHECKING", ns) is True
    assert _eval("sys.version_info >= (3, 8)", ns) is True
    assert _eval("sys.version_info[:2] < (3, 0)", ns) is False
    assert _eval("sys.version_info.major == 3 and sys.version_info.minor >= 0", ns) is True
    assert _eval("sys.platform.startswith(('win', 'cygwin'))", ns) == \
        sys.platform.startswith(("win", "cygwin"))
    assert _eval("TYPE_CHECKING or sys.version_info < (3,)", ns) is False
    assert _eval("unknown_name or True", ns) is True
    assert _eval("unknown_name and True", ns) is _UNKNOWN


def test_the_branch_evaluator_never_runs_program_code() -> None:
    calls = []

    class Flag:
        @property
        def on(self) -> bool:
            calls.append("property")
            return True

        def __eq__(self, other: object) -> bool:
            calls.append("eq")
            return True

        __hash__ = object.__hash__

    ns: dict[str, object] = {"flag": Flag(), "check": lambda: calls.append("call")}
    assert _eval("flag.on", ns) is _UNKNOWN
    assert _eval("flag == 1", ns) is _UNKNOWN
    assert _eval("check()", ns) is _UNKNOWN
    assert _eval("flag.startswith('x')", ns) is _UNKNOWN
    assert calls == []


def test_edits_in_a_class_whose_import_guard_failed_change_nothing_live(live: Live) -> None:
    m = live("""
        try:
            import no_such_module_for_relive
        except ImportError:
            HAVE = False
        else:
            HAVE = True

            class Fast:
                LIMIT = 1

                def run(self):
                    return 1
    """)
    result = m.edit("""
        try:
            import no_such_module_for_relive
        except ImportError:
            HAVE = False
        else:
            HAVE = True

            class Fast:
                LIMIT = 2

                def run(self):
                    return 2

                def stop(self):
                    return 0
    """)
    assert result.applied, result.errors
    assert "RL3005" not in [r.code for r in result.rude_edits]
    assert not hasattr(m.module, "Fast")


def _state(source: str, path: str, live_source: str | None = None) -> Branch:
    """The branch state of definition ``path`` of ``source``, against a module that ran
    ``live_source`` (the same source by default)."""
    filename = "/relive/branches_case.py"
    module = types.ModuleType("branches_case")
    module.__dict__["some_call"] = lambda: False
    exec(compile(textwrap.dedent(live_source or source), filename, "exec"), module.__dict__)
    baseline = Baseline.from_source(textwrap.dedent(source), filename)
    return branch_state(module, baseline, baseline.index[path], filename)


def test_each_branch_of_an_elif_chain_is_judged_by_its_tests() -> None:
    source = """
        import sys

        if sys.version_info < (3,):
            def f(): return 2
        elif sys.version_info < (3, 1):
            def f(): return 30
        else:
            def f(): return 3
    """
    assert _state(source, "f") is Branch.NOT_RAN
    assert _state(source, "f#2") is Branch.NOT_RAN
    assert _state(source, "f#3") is Branch.RAN


def test_a_live_definition_witnesses_its_branch_where_the_test_cannot_be_evaluated() -> None:
    source = """
        if some_call():
            def f(): return 1

            class C:
                def m(self): return 1
        else:
            def f(): return 2

            class C:
                def m(self): return 2
    """
    assert _state(source, "f") is Branch.NOT_RAN
    assert _state(source, "f#2") is Branch.RAN
    assert _state(source, "C.m") is Branch.NOT_RAN
    assert _state(source, "C#2.m") is Branch.RAN


def test_a_match_case_is_witnessed_by_its_definitions() -> None:
    source = """
        import sys

        match sys.platform:
            case "no-such-platform":
                def f(): return 1
            case _:
                def f(): return 2
    """
    assert _state(source, "f") is Branch.NOT_RAN
    assert _state(source, "f#2") is Branch.RAN


def test_without_a_test_or_a_witness_the_branch_is_unknown() -> None:
    source = """
        if some_call():
            X = 1
        else:
            def g(): return 2
    """
    # g is defined in the source judged, but the live module ran a version without it
    live = """
        if some_call():
            X = 1
        else:
            Y = 2
    """
    assert _state(source, "g", live) is Branch.UNKNOWN
    with_block = """
        import contextlib

        with contextlib.suppress(ImportError):
            def h(): return 1
    """
    assert _state(with_block, "h") is Branch.RAN


def test_a_stub_added_under_type_checking_in_a_class_body_leaves_the_live_method(
        live: Live) -> None:
    m = live("""
        from typing import TYPE_CHECKING

        class A:
            def size(self):
                return 1

            if TYPE_CHECKING:
                LIMIT: int
    """)
    result = m.edit("""
        from typing import TYPE_CHECKING

        class A:
            def size(self):
                return 1

            if TYPE_CHECKING:
                LIMIT: int

                def size(self) -> int: ...
    """)
    assert result.applied, result.errors
    assert "RL3005" not in [r.code for r in result.rude_edits]
    assert m.module.A().size() == 1


def test_a_test_reading_a_name_the_same_edit_binds_is_evaluated_with_it(live: Live) -> None:
    m = live("""
        import sys
    """)
    result = m.edit("""
        import sys

        OLD_PYTHON = sys.version_info < (3,)

        if OLD_PYTHON:
            def f():
                return "old"
        else:
            def f():
                return "new"
    """)
    assert result.applied, result.errors
    assert "RL3005" not in [r.code for r in result.rude_edits]
    assert m.module.f() == "new"


def test_hasattr_of_a_module_settles_a_branch(live: Live) -> None:
    m = live("""
        import sys

        if not hasattr(sys, "no_such_attribute_for_relive"):
            def f():
                return 1
        else:
            def f():
                return 2
    """)
    result = m.edit("""
        import sys

        if not hasattr(sys, "no_such_attribute_for_relive"):
            def f():
                return 1
        else:
            def f():
                return 2

            def g():
                return 2
    """)
    assert result.applied, result.errors
    assert "RL3005" not in [r.code for r in result.rude_edits]
    assert not hasattr(m.module, "g")


def test_a_live_witness_outweighs_a_test_the_block_itself_made_false(live: Live) -> None:
    m = live("""
        import types

        box = types.ModuleType("box")

        if not hasattr(box, "patched"):
            box.patched = True

            def f():
                return 1
    """)
    result = m.edit("""
        import types

        box = types.ModuleType("box")

        if not hasattr(box, "patched"):
            box.patched = True

            def f():
                return 1

            def g():
                return 2
    """)
    assert result.applied, result.errors
    assert m.module.g() == 2, "the branch ran at import: f, defined there, is live"


def test_editing_a_method_of_a_class_that_never_ran_warns_nothing(live: Live) -> None:
    m = live("""
        import typing

        if typing.TYPE_CHECKING:
            class B:
                def f(self) -> int:
                    return 1
    """)
    result = m.edit("""
        import typing

        if typing.TYPE_CHECKING:
            class B:
                def f(self) -> int:
                    return 2
    """)
    assert result.applied, result.errors
    assert result.warnings == () and result.rude_edits == ()
