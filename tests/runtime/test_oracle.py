"""The equivalence oracle: a live module after ``relive.reload`` carries the same code as a
fresh import of the new source, and what did not change keeps its identity.

Every scenario of the edit corpus (``tests/scenarios``) that can be applied is replayed
against a real module.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FunctionType

import pytest

import relive
from relive.delta.units import deep_key
from relive.runtime import REGISTRY
from tests.delta.scenarios import Scenario, load_all


def _applicable() -> list[Scenario]:
    out = []
    for s in load_all():
        if s.errors or s.edits is None:
            continue
        if any(line.split()[1] == "error" for line in s.rude):
            continue
        out.append(s)
    return out


SCENARIOS = _applicable()


def _lines(code: CodeType) -> object:
    return (code.co_firstlineno, tuple(line for _s, _e, line in code.co_lines()),
            tuple(_lines(c) for c in code.co_consts if isinstance(c, CodeType)))


def _positions(code: CodeType) -> object:
    """Lines and columns of each instruction (what tracebacks and debuggers read)."""
    return (tuple(code.co_positions()),
            tuple(_positions(c) for c in code.co_consts if isinstance(c, CodeType)))


def _functions(namespace: dict[str, object], module: str,
               prefix: str = "") -> Iterator[tuple[str, object]]:
    """(path, object) for functions and classes defined in ``module``'s namespace."""
    for name, value in list(namespace.items()):
        path = f"{prefix}{name}"
        if isinstance(value, type) and value.__module__ == module:
            yield path, value
            yield from _functions(dict(vars(value)), module, f"{path}.")
            continue
        for attr in ("fget", "fset", "fdel", "__func__"):
            inner = getattr(value, attr, None)
            if isinstance(inner, FunctionType):
                yield f"{path}:{attr}", inner
        if isinstance(value, FunctionType) and value.__module__ == module:
            yield path, value


def _code_of(obj: object) -> CodeType | None:
    code = getattr(obj, "__code__", None)
    while code is None and hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__  # type: ignore[attr-defined]
        code = getattr(obj, "__code__", None)
    return code if isinstance(code, CodeType) else None


def _import(path: Path, name: str) -> types.ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _rebuilt(path: str, changed: set[str]) -> bool:
    """Whether ``path`` or a class it belongs to was inserted, deleted or rebuilt."""
    parts = path.split(".")
    return any(".".join(parts[:k]) in changed for k in range(1, len(parts) + 1))


def _generated(obj: object, file: Path, path: str, updated: tuple[str, ...]) -> bool:
    """A method that a decorator generated (a dataclass's ``__init__``) for an updated class:
    the runtime regenerates those when the fields change."""
    code = getattr(obj, "__code__", None)
    owner = path.rpartition(".")[0]
    return (isinstance(code, CodeType) and code.co_filename != str(file)
            and owner in updated)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_reloaded_module_equals_a_fresh_import(scenario: Scenario, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    name = f"relive_oracle_{scenario.name}"
    path = tmp_path / f"{name}.py"
    old, new = scenario.source(scenario.old), scenario.source(scenario.new)
    path.write_bytes(old if isinstance(old, bytes) else old.encode("utf-8"))
    sys.path.insert(0, str(tmp_path))
    relive.install()
    try:
        try:
            module = _import(path, name)
        except Exception as exc:  # a scenario whose old source does not run as a module
            pytest.skip(f"the old source does not import: {exc!r}")
        before = dict(_functions(vars(module), name))
        result = relive.reload(module, new)
        assert result.applied, (result.errors, result.rude_edits)
        fresh = types.ModuleType(name)
        fresh.__file__ = str(path)
        text = relive.Baseline.from_source(new).source if isinstance(new, bytes) else new
        if REGISTRY.get(name).enc:  # type: ignore[union-attr]
            from relive.runtime.enc import enc_compile

            fresh_code = enc_compile(text, str(path))
        else:
            fresh_code = compile(text, str(path), "exec", dont_inherit=True)
        exec(fresh_code, vars(fresh))
        live_objects = dict(_functions(vars(module), name))
        fresh_objects = dict(_functions(vars(fresh), name))
        changed = set(result.replaced) | set(result.inserted) | set(result.deleted)
        assert result.delta is not None
        # a name whose value is evaluated again is bound to a new object
        changed |= {e.path for e in result.delta.edits if e.target in ("variable", "attribute")}
        # (a property's accessors are left out: a deleted setter stays on the live property)
        extra = {p for p in set(live_objects) - set(fresh_objects) if ":" not in p}
        assert not extra, f"the live module binds definitions a fresh import does not: {extra}"
        for path_, fresh_obj in fresh_objects.items():
            assert path_ in live_objects, f"{path_} is missing from the live module"
            fresh_code, live_code = _code_of(fresh_obj), _code_of(live_objects[path_])
            if fresh_code is None:
                continue
            assert live_code is not None, path_
            assert deep_key(live_code) == deep_key(fresh_code), f"{path_}: code differs"
            assert _lines(live_code) == _lines(fresh_code), f"{path_}: line table differs"
            assert _positions(live_code) == _positions(fresh_code), f"{path_}: columns differ"
        for path_, obj in before.items():
            base = path_.split(":")[0]
            if _rebuilt(base, changed) or _generated(obj, path, base, result.updated):
                continue
            if path_ in live_objects and path_ in fresh_objects:
                assert live_objects[path_] is obj, f"{path_} lost its identity"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
        tracked = REGISTRY.get(name)
        if tracked is not None:
            REGISTRY.unregister(tracked)
        capsys.readouterr()
