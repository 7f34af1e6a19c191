"""Which tests an applied edit affects, and what it changes in the session first.

A test is affected when its own function changed, when its module's module-level code
changed, when it ran a changed definition in its last run (or code nested in one), when code
it ran reads a name whose value changed (a module constant, a class attribute), when it
uses a fixture whose function changed, or when it is new. Before the tests run: changed
fixtures are finalized (their cached value dropped, their finalizers run) so that their next
use sets them up with the new code, and a test module whose tests were inserted, deleted or
rebuilt (a replaced class) is collected again.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import CodeType, SimpleNamespace
from typing import Any

import pytest

from relive.delta import MODULE_PATH
from relive.runtime.files import normalize
from relive.runtime.registry import TrackedModule
from relive.testloop.record import Key, Ran

_SUFFIX = re.compile(r"#\d+")


@dataclass(frozen=True)
class Change:
    """What one applied edit changed in one file, by definition path (no sibling suffix)."""

    file: str
    paths: frozenset[str]  # changed definitions (functions, classes)
    values: frozenset[str]  # names of changed values (``RATE``, ``Cart.LIMIT``): last part
    whole: bool  # module-level code changed: anything of the file may behave differently
    reshaped: bool  # definitions inserted, deleted or rebuilt: collect a test module again

    @classmethod
    def of(cls, tracked: TrackedModule, result: Any) -> Change:
        every = {_SUFFIX.sub("", p) for p in (*result.updated, *result.replaced,
                                              *result.deleted)}
        index = tracked.baseline.index
        defs = frozenset(p for p in every if p in index)
        values = frozenset(p.rsplit(".", 1)[-1] for p in every if p not in index)
        return cls(normalize(tracked.filename), defs, values, MODULE_PATH in every,
                   bool(result.inserted or result.deleted or result.replaced))

    def __or__(self, other: Change) -> Change:
        return Change(self.file, self.paths | other.paths, self.values | other.values,
                      self.whole or other.whole, self.reshaped or other.reshaped)


def _code(fn: Any) -> CodeType | None:
    try:
        fn = inspect.unwrap(fn)
    except ValueError:
        return None
    code = getattr(fn, "__code__", None)
    return code if isinstance(code, CodeType) else None


class Affected:
    def __init__(self, session: pytest.Session, ran: Mapping[str, Ran]) -> None:
        self.session = session
        self.ran = ran
        self._files: dict[str, str] = {}

    def _norm(self, name: str) -> str:
        found = self._files.get(name)
        if found is None:
            found = self._files[name] = normalize(name)
        return found

    def absorb(self, changes: Iterable[Change]) -> list[pytest.Item]:
        """Bring the session in line with the changes; return the affected tests, in
        collection order."""
        by_file: dict[str, Change] = {}
        for c in changes:
            prev = by_file.get(c.file)
            by_file[c.file] = c if prev is None else prev | c
        if not by_file:
            return []

        def hit(key: Key) -> bool:
            c = by_file.get(key[0])
            if c is None:
                return False
            if c.whole:
                return True
            q = key[1]
            return any(q == p or q.startswith(p + ".") for p in c.paths)

        values = frozenset().union(*(c.values for c in by_file.values()))
        fixtures = self._finalize_changed_fixtures(hit)
        new_ids = self._recollect([c.file for c in by_file.values() if c.reshaped])
        out = []
        nothing = Ran(frozenset(), frozenset())
        for item in self.session.items:
            ran = self.ran.get(item.nodeid, nothing)
            if (item.nodeid in new_ids or self._own(item, hit, by_file)
                    or any(hit(k) for k in ran.keys) or not values.isdisjoint(ran.names)
                    or (fixtures and fixtures & set(getattr(item, "fixturenames", ())))):
                out.append(item)
        return out

    def _own(self, item: pytest.Item, hit: Any, by_file: Mapping[str, Change]) -> bool:
        """Did the test's own function, or its module's module-level code, change?"""
        module = getattr(item, "module", None)
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str):
            c = by_file.get(self._norm(filename))
            if c is not None and c.whole:
                return True
        code = _code(getattr(item, "function", None))
        return code is not None and bool(hit((self._norm(code.co_filename), code.co_qualname)))

    def _finalize_changed_fixtures(self, hit: Any) -> set[str]:
        """Finalize the fixtures whose function changed; return their names."""
        names: set[str] = set()
        for fixturedef in _fixture_defs(self.session._fixturemanager):
            code = _code(fixturedef.func)
            if code is None or not hit((self._norm(code.co_filename), code.co_qualname)):
                continue
            names.add(fixturedef.argname)
            if fixturedef.cached_result is not None:
                try:
                    fixturedef.finish(cast_request(self.session))
                except Exception:  # its teardown failed: it is set up again anyway
                    fixturedef.cached_result = None
        return names

    def _recollect(self, files: list[str]) -> set[str]:
        """Collect the test modules of ``files`` again; return the node ids that are new."""
        if not files:
            return set()
        wanted = set(files)
        items = self.session.items
        modules: dict[int, pytest.Module] = {}
        for item in items:
            module = item.getparent(pytest.Module)
            if module is not None and self._norm(str(module.path)) in wanted:
                modules.setdefault(id(module), module)
        new_ids: set[str] = set()
        for module in modules.values():
            old = [i for i in items if i.getparent(pytest.Module) is module]
            try:
                fresh = list(self.session.genitems(module))
            except Exception:
                continue
            at = items.index(old[0]) if old else len(items)
            old_ids = {i.nodeid for i in old}
            items[:] = [i for i in items if i.getparent(pytest.Module) is not module]
            items[at:at] = fresh
            new_ids |= {i.nodeid for i in fresh} - old_ids
        self.session.testscollected = len(items)
        return new_ids


def _fixture_defs(manager: Any) -> list[Any]:
    """Every FixtureDef of the session (pytest keeps them by name and node since 9)."""
    every = getattr(manager, "_get_all_fixture_defs", None)
    if every is not None:
        return list(every())
    return [d for defs in getattr(manager, "_arg2fixturedefs", {}).values() for d in defs]


def cast_request(session: pytest.Session) -> Any:
    """What ``FixtureDef.finish`` reads of its request: the node, for its error message."""
    return SimpleNamespace(node=session)
