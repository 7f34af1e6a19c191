"""Fixtures for runtime tests: real modules, written to disk and imported under relive."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import relive
from relive.runtime import REGISTRY

_names = itertools.count()


class LiveModule:
    """A module imported from a file under relive, with helpers to edit it."""

    def __init__(self, path: Path, module: ModuleType) -> None:
        self.path = path
        self.module = module

    @property
    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def edit(self, new_source: str) -> relive.ApplyResult:
        """Write ``new_source`` (dedented) to the file and reload the module from it."""
        self.path.write_text(textwrap.dedent(new_source), encoding="utf-8")
        return relive.reload(self.module)

    def replace(self, old: str, new: str, count: int = 1) -> relive.ApplyResult:
        source = self.source
        assert old in source, f"{old!r} is not in the module"
        return self.edit(source.replace(old, new, count))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[[str], LiveModule]]:
    """``live(source)`` imports ``source`` as a fresh tracked module and returns it."""
    created: list[str] = []
    sys.path.insert(0, str(tmp_path))
    relive.install()

    def make(source: str) -> LiveModule:
        name = f"relive_live_{next(_names)}"
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        module = importlib.import_module(name)
        created.append(name)
        assert REGISTRY.get(module) is not None, "the module should be tracked"
        return LiveModule(path, module)

    yield make
    sys.path.remove(str(tmp_path))
    for name in created:
        module = sys.modules.pop(name, None)
        tracked = REGISTRY.get(name)
        if tracked is not None:
            REGISTRY.unregister(tracked)
        del module
