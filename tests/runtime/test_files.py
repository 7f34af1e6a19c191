"""The program's own files: one notion for what the runtime tracks and what the debugger
steps through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import relive
from relive.debugger.paths import is_internal, is_user_code
from relive.runtime.files import PathFilter, is_library_file, library_roots, normalize


def _files(tmp_path: Path) -> dict[str, tuple[str, bool]]:
    program = tmp_path / "app.py"
    program.write_text("x = 1\n")
    linked = tmp_path / "linked.py"
    linked.symlink_to(program)
    return {
        "program file": (str(program), True),
        "program file through a symbolic link": (str(linked), True),
        "standard library": (os.__file__, False),
        "installed package": (pytest.__file__, False),
        "relive itself": (relive.__file__ or "", False),
    }


def test_the_runtime_tracks_exactly_the_files_the_debugger_calls_the_users(
        tmp_path: Path) -> None:
    tracked = PathFilter()
    for what, (filename, own) in _files(tmp_path).items():
        assert tracked.accepts(filename) is own, what
        assert is_user_code(filename) is own, what
        assert is_library_file(filename) is not own, what


def test_relive_is_internal_to_the_debugger_and_never_tracked() -> None:
    assert relive.__file__ is not None
    assert is_internal(relive.__file__)
    assert not PathFilter().accepts(relive.__file__)


def test_library_roots_are_normalised_and_include_the_standard_library() -> None:
    roots = library_roots()
    assert all(root == normalize(root) for root in roots)
    assert any(normalize(os.__file__).startswith(root + os.sep) for root in roots)


def test_tracking_narrowed_to_paths_takes_only_files_under_them(tmp_path: Path) -> None:
    inside = tmp_path / "pkg" / "mod.py"
    inside.parent.mkdir()
    inside.write_text("")
    narrowed = PathFilter(include=(normalize(tmp_path / "pkg"),))
    assert narrowed.accepts(str(inside))
    assert not narrowed.accepts(str(tmp_path / "elsewhere.py"))
    assert not narrowed.accepts(str(inside.with_suffix(".txt")))
