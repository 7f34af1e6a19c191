"""Running new source in the scope it belongs to, without touching the live objects.

Inserted and rebuilt definitions, new values of module and class names and new default
values all need new source to *run*: a ``def`` with its decorators, an assignment, an
import. Each runs here, compiled as a compile unit (exact lines, the class it belongs to),
in a scratch namespace layered on the live one: module code reads the module's globals and
writes into the scratch dict; class code runs the class body with a copy of the live class
namespace. The live module and classes change only later, when the apply commits.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import Any

from relive.delta import MODULE_PATH, Baseline, Definition
from relive.delta.units import Compiler, compile_unit, region_unit, statement_unit
from relive.runtime.live import scope_object

# names a class body sets for itself; never copied onto the live class
_CLASS_BODY_NAMES = frozenset({"__module__", "__qualname__", "__firstlineno__",
                               "__static_attributes__", "__classcell__", "__classdictcell__"})


class EvaluationError(Exception):
    """New code raised while it ran (a decorator, an import, a value)."""

    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(f"{what}: {type(exc).__name__}: {exc}")
        self.what = what
        self.exc = exc


@dataclass
class Evaluator:
    """Runs units of the next baseline against one live module."""

    module: ModuleType
    baseline: Baseline
    compiler: Compiler | None = None
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def index(self) -> dict[str, Definition]:
        return self.baseline.index

    def scope_of(self, d: Definition) -> Definition:
        return self.index[d.parent or MODULE_PATH]

    def live_scope(self, scope: Definition) -> Any:
        """The live module or class for a scope definition of the next baseline."""
        if scope.kind == "module":
            return self.module
        owner = scope_object(self.module, self.index, scope)
        return None if owner is None else vars(owner).get(scope.name)

    def namespace(self, scope: Definition) -> dict[str, Any]:
        ns = self.namespaces.get(scope.path)
        if ns is None:
            if scope.kind == "module":
                ns = {}
            else:
                live = self.live_scope(scope)
                if not isinstance(live, type):
                    raise EvaluationError(scope.path, LookupError(
                        f"class {scope.path} is not in the running program"))
                ns = dict(vars(live))
            self.namespaces[scope.path] = ns
        return ns

    # -- running ----------------------------------------------------------------------

    def run_definition(self, d: Definition, decorators: bool = True) -> Any:
        """Run ``d``'s statement; return the object it binds (decorated, unless asked)."""
        text = statement_unit(self.baseline.lines, self.index, d)
        source: str | ast.Module = text
        if not decorators:
            tree = ast.parse(text, self.baseline.filename)
            for node in ast.walk(tree):
                if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                        and node.lineno == d.header_line):
                    node.decorator_list = []
            source = tree
        scope = self.scope_of(d)
        names = self._run(source, scope, f"{d.path} (line {d.first})", fresh=not decorators)
        key = _mangle(scope, d.name)
        if key not in names:
            raise EvaluationError(d.path, LookupError(f"{d.name} was not bound"))
        return names[key]

    def run_statement(self, scope: Definition, first: int, last: int) -> dict[str, Any]:
        """Run lines ``first..last`` (statements of ``scope``'s body); return what they bind."""
        text = region_unit(self.baseline.lines, self.index, scope, first, last)
        return self._run(text, scope, f"line {first}")

    def _run(self, source: str | ast.Module, scope: Definition, what: str,
             fresh: bool = False) -> dict[str, Any]:
        try:
            unit = compile_unit(source, self.baseline.filename, self.baseline.future_flags,
                                self.compiler)
        except (SyntaxError, ValueError) as exc:
            raise EvaluationError(what, exc) from exc
        ns = self.namespace(scope)
        if fresh:  # a throwaway run (new defaults): do not disturb the shared namespace
            ns = dict(ns)
        before = dict(ns)
        try:
            if scope.kind == "module":
                exec(unit, self.module.__dict__, ns)
            else:
                exec(self._class_body(unit, scope), self.module.__dict__, ns)
        except Exception as exc:
            raise EvaluationError(what, exc) from exc
        cell = ns.pop("__classcell__", None)
        if cell is not None:
            cell.cell_contents = self.live_scope(scope)
        return {k: v for k, v in ns.items()
                if k not in _CLASS_BODY_NAMES and (k not in before or before[k] is not v)}

    def _class_body(self, unit: CodeType, scope: Definition) -> CodeType:
        code: CodeType
        for code in _iter_codes(unit):
            if code.co_name == scope.name and code.co_firstlineno == scope.header_line:
                return code
        raise EvaluationError(scope.path, LookupError("class body not found in its unit"))


def _iter_codes(code: CodeType) -> Any:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _iter_codes(const)


def _mangle(scope: Definition, name: str) -> str:
    """The name as stored in a class namespace (``__x`` becomes ``_Class__x``)."""
    if scope.kind == "class" and name.startswith("__") and not name.endswith("__"):
        return f"_{scope.name.lstrip('_')}{name}"
    return name


mangle = _mangle
