"""Fixtures for the IPython extension's tests: one IPython shell, driven cell by cell, and
modules written to a temporary directory on ``sys.path`` and edited on disk between cells."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("IPython", reason="the IPython extension's tests need IPython")

from relive.runtime.registry import REGISTRY

_names = itertools.count()


class Shell:
    """An IPython shell that runs cells and says what they printed."""

    def __init__(self, ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
        self.ip = ip
        self.capsys = capsys

    def run(self, cell: str) -> Any:
        """Run ``cell``; the value of its last expression. Fails when the cell raises."""
        result = self.ip.run_cell(textwrap.dedent(cell), store_history=False)
        assert result.error_before_exec is None, result.error_before_exec
        assert result.error_in_exec is None, result.error_in_exec
        return result.result

    def output(self) -> tuple[str, str]:
        """What was printed since the last call: (stdout, stderr)."""
        captured = self.capsys.readouterr()
        return captured.out, captured.err


class Source:
    """A module's file in the temporary directory, edited on disk between cells."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def write(self, source: str) -> None:
        self.path.write_text(textwrap.dedent(source), encoding="utf-8")

    def replace(self, old: str, new: str) -> None:
        text = self.path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {self.name}"
        self.path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="session")
def ipython(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The process's one IPython shell, its profile and history kept out of the home."""
    os.environ.setdefault("IPYTHONDIR", str(tmp_path_factory.mktemp("ipythondir")))
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config, colors="nocolor")


@pytest.fixture
def shell(ipython: Any, capsys: pytest.CaptureFixture[str]) -> Iterator[Shell]:
    """The shell, with neither relive nor autoreload loaded when the test ends."""
    yield Shell(ipython, capsys)
    manager = ipython.extension_manager
    if "relive" in manager.loaded:
        manager.unload_extension("relive")
    _unload_autoreload(ipython)


def _unload_autoreload(ip: Any) -> None:
    """Take autoreload out of the shell: it has no unload function of its own."""
    for event in ("pre_run_cell", "post_execute"):
        for callback in list(ip.events.callbacks[event]):
            if type(getattr(callback, "__self__", None)).__name__ == "AutoreloadMagics":
                ip.events.unregister(event, callback)
    for kind in ("line", "cell"):
        for name in ("autoreload", "aimport"):
            ip.magics_manager.magics[kind].pop(name, None)
    for name in ("autoreload", "IPython.extensions.autoreload"):
        ip.extension_manager.loaded.discard(name)


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Any]:
    """``modules(source)``: a new module file (its name unique) in a directory on
    ``sys.path``; forgotten (by ``sys.modules`` and relive) when the test ends."""
    made: list[str] = []
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()

    def make(source: str, stem: str = "shop") -> Source:
        name = f"{stem}_{next(_names)}"
        made.append(name)
        found = Source(tmp_path / f"{name}.py", name)
        found.write(source)
        return found

    yield make
    sys.path.remove(str(tmp_path))
    for name in made:
        sys.modules.pop(name, None)
        tracked = REGISTRY.get(name)
        if tracked is not None:
            REGISTRY.unregister(tracked)
