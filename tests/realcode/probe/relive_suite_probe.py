"""A pytest plugin loaded into every run of a real project's suite (``-p relive_suite_probe``).

When the run ends it writes, as JSON, to the file named by ``RELIVE_SUITE_PROBE``:

- ``outcomes``: for each category pytest counts (passed, failed, skipped, error, xfailed,
  xpassed, subtests...), how many times each test id fell in it, read from the terminal
  reporter's own tallies, so the counts are those pytest prints;
- ``warnings``: the first line of each warning pytest reported;
- ``tracking``: under ``relive run``, what relive holds for every imported module whose file is
  under the paths in ``RELIVE_SUITE_TRACK`` (tracked or not, compiled in EnC mode or not, how
  many of its functions have EnC code). Under plain ``python`` it is ``null``.

It imports nothing of relive: it only reads what the program's process already holds, so the
plain run stays plain and the relive run is not changed by looking at it.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from types import CodeType, FunctionType, ModuleType
from typing import Any

import pytest

_IGNORED = {"", "deselected", "warnings"}  # setup/teardown passes; not outcomes


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    out = os.environ.get("RELIVE_SUITE_PROBE")
    if not out:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    stats: dict[str, list[Any]] = getattr(reporter, "stats", {}) or {}
    outcomes = {category: dict(Counter(str(getattr(r, "nodeid", "") or "") for r in reports))
                for category, reports in stats.items() if category not in _IGNORED}
    warnings = [str(getattr(w, "message", "")).strip().splitlines()[0]
                for w in stats.get("warnings", []) if str(getattr(w, "message", "")).strip()]
    roots = [os.path.realpath(p) for p in os.environ.get("RELIVE_SUITE_TRACK", "").split(
        os.pathsep) if p]
    data = {"outcomes": outcomes, "warnings": warnings, "tracking": _tracking(roots)}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def _under(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _tracking(roots: list[str]) -> dict[str, Any] | None:
    registry_module = sys.modules.get("relive.runtime.registry")
    enc_module = sys.modules.get("relive.runtime.enc")
    if registry_module is None:
        return None  # plain python (or relive's runtime absent: the check says so)
    registry = registry_module.REGISTRY
    is_enc = getattr(enc_module, "is_enc_code", None)
    modules = {}
    for name, module in sorted(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if not isinstance(module, ModuleType) or not isinstance(filename, str):
            continue
        if not filename.endswith(".py") or not _under(filename, roots):
            continue
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        origin = getattr(spec, "origin", None)
        tracked = registry.get(module)
        enc_functions, plain_functions, elsewhere = _functions(module, filename, is_enc)
        modules[name] = {
            "loader": type(loader).__module__ + "." + type(loader).__qualname__,
            # False for a module that only borrows another's file name (an alias made by a
            # loader of the project's own, like toolz's tlz)
            "own_file": isinstance(origin, str) and os.path.realpath(origin) == os.path.realpath(
                filename),
            "tracked": tracked is not None,
            "enc": bool(getattr(tracked, "enc", False)),
            "enc_functions": enc_functions,
            "plain_functions": plain_functions,
            "code_names_another_file": elsewhere,
        }
    return {"modules": modules}


def _functions(module: ModuleType, filename: str, is_enc: Any) -> tuple[int, int, int]:
    """How many of the module's own ``def`` functions and methods have EnC code, how many do
    not (lambdas are never EnC; functions made by exec have another file name), and how many
    functions defined by the module have code naming another file (as a stale cache would:
    python's own loader corrects the file name of code read from a cache)."""
    enc = plain = elsewhere = 0
    seen: set[int] = set()
    stack: list[Any] = list(vars(module).values())
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (staticmethod, classmethod)):
            stack.append(obj.__func__)
        elif isinstance(obj, property):
            stack.extend(f for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
        elif isinstance(obj, type) and obj.__module__ == module.__name__:
            stack.extend(vars(obj).values())
        elif isinstance(obj, FunctionType):
            code: CodeType = obj.__code__
            if code.co_name == "<lambda>":
                continue
            if code.co_filename != filename:
                # defined here (not a wrapper made elsewhere, which only borrows the names)
                if (getattr(obj, "__module__", None) == module.__name__
                        and code.co_qualname == obj.__qualname__
                        and code.co_filename.endswith(".py")):
                    elsewhere += 1
                continue
            if is_enc is not None and is_enc(code):
                enc += 1
            else:
                plain += 1
    return enc, plain, elsewhere
