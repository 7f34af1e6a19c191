"""Running new source in the scope it belongs to, without touching the live objects.

Inserted and rebuilt definitions, new values of module and class names and new default
values all need new source to *run*: a ``def`` with its decorators, an assignment, an
import. Each runs here, compiled as a compile unit (exact lines, the class it belongs to),
in a scratch namespace layered on the live one: module code reads the module's globals and
writes into the scratch dict; class code runs the class body with a copy of the live class
namespace. The live module and classes change only later, when the apply commits.

What new code sees is what a fresh import would see at that point, as far as the delta
decides it: the statements of one delta run in source order, and each reads the names the
earlier ones bound (the scratch module namespace) before the live module's. Class bodies
see them too (their namespace falls back on the scratch module namespace, then on the
module's globals), and ``__annotations__`` is copied, never filled in place, so that the
live module and classes are untouched until the commit.

One exception, for code that runs *functions* while the apply is planned (a class body's
``__set_name__``, a decorator, a call in a new assignment): a function reads the module's
globals, not the scratch namespace, so a name the same delta adds to the module must be there
when it runs, as it would be in a fresh import. A name that is *new to the module* (the live
module has no such name) is therefore bound in the live module as soon as the statement that
binds it has run (:attr:`Evaluator.prebound`), and taken out again if the apply does not commit
(:meth:`Evaluator.withdraw`). Code that runs meanwhile cannot tell: the old code never had that
name to read, and no existing name changes before the commit.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import Any

from relive.delta import MODULE_PATH, Baseline, Definition
from relive.delta.index import first_line
from relive.delta.units import Compiler, compile_unit, region_unit, statement_unit
from relive.runtime.apply.live import scope_object

_ABSENT = object()

# names a class body sets for itself; never copied onto the live class
_CLASS_BODY_NAMES = frozenset({"__module__", "__qualname__", "__firstlineno__",
                               "__static_attributes__", "__classcell__", "__classdictcell__"})


class _ClassNamespace(dict[str, Any]):
    """A class body's namespace whose missing names are looked up in the scratch module
    namespace before the module's globals: a class body reads names with ``LOAD_NAME``,
    which tries its namespace (through ``__getitem__`` for a dict subclass), then the
    globals, then the builtins."""

    def __init__(self, items: dict[str, Any], module_scratch: dict[str, Any]) -> None:
        super().__init__(items)
        self.module_scratch = module_scratch

    def __missing__(self, key: str) -> Any:
        if key.startswith("__") and key.endswith("__"):
            # the class body's own machinery (``__annotations__``: SETUP_ANNOTATIONS asks
            # through ``__getitem__``), never the module's
            raise KeyError(key)
        return self.module_scratch[key]  # KeyError: on to the globals

    def copy(self) -> _ClassNamespace:
        return _ClassNamespace(self, self.module_scratch)


class EvaluationError(Exception):
    """New code raised while it ran (a decorator, an import, a value)."""

    def __init__(self, what: str, exc: BaseException) -> None:
        super().__init__(f"{what}: {type(exc).__name__}: {exc}")
        self.what = what
        self.exc = exc


class _ModuleScratch(dict[str, Any]):
    """The scratch namespace of module code: a name new to the module is also bound in the
    live module the moment the code binds it (see the module docstring), so that functions
    run meanwhile -- even by the same block -- find it in their globals."""

    def __init__(self, live: dict[str, Any], prebound: dict[str, Any]) -> None:
        super().__init__()
        self.live = live
        self.prebound = prebound

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, value)
        if not name.startswith("__") and (name not in self.live or name in self.prebound):
            self.live[name] = self.prebound[name] = value

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        if name in self.prebound:  # ``del`` of a name the same code bound
            del self.prebound[name]
            self.live.pop(name, None)


@dataclass
class Evaluator:
    """Runs units of the next baseline against one live module."""

    module: ModuleType
    baseline: Baseline
    compiler: Compiler | None = None
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    # names new to the module, bound in it ahead of the commit (see the module docstring)
    prebound: dict[str, Any] = field(default_factory=dict)

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
                ns = _ModuleScratch(self.module.__dict__, self.prebound)
                live_annotations = vars(self.module).get("__annotations__")
            else:
                live = self.live_scope(scope)
                if not isinstance(live, type):
                    raise EvaluationError(scope.path, LookupError(
                        f"class {scope.path} is not in the running program"))
                ns = _ClassNamespace(dict(vars(live)), self.module_namespace())
                live_annotations = vars(live).get("__annotations__")
            if isinstance(live_annotations, dict):
                # an annotated statement adds to this dict: a copy keeps the live one as
                # it is until the commit, and keeps the entries of the other statements
                ns["__annotations__"] = dict(live_annotations)
            self.namespaces[scope.path] = ns
        return ns

    def module_namespace(self) -> dict[str, Any]:
        return self.namespace(self.index[MODULE_PATH])

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
        key = _mangle(scope, d.name)
        what = f"{d.path} (line {d.first})"
        if d.kind == "class" and decorators:
            built = self._build_class(d, text, scope, what)
            if built is not _NOT_BUILT:
                self.namespace(scope)[key] = built
                return built
        # the name a ``def`` binds is known: what the decorators returned may be an object
        # that is bound already (``typing.overload`` returns one dummy for every overload)
        ns = self._exec(source, scope, what, fresh=not decorators)
        if key not in ns:
            raise EvaluationError(d.path, LookupError(f"{d.name} was not bound"))
        return ns[key]

    def _build_class(self, d: Definition, text: str, scope: Definition, what: str) -> Any:
        """Make the class of ``d``'s statement the way ``class`` does, but with a body that
        sees the scratch module namespace (a class body made by ``exec`` reads its own
        namespace, then the globals: never the scratch names of the module code around it).

        The decorators, bases and keywords are evaluated in the scratch namespace of the
        scope, the metaclass prepares the namespace, the body code of the compile unit runs
        in it, the metaclass makes the class, the decorators apply: what a fresh import does.
        ``_NOT_BUILT`` when this cannot be done so (a lambda or comprehension in the header,
        type parameters): then the statement runs as it is."""
        try:
            tree = ast.parse(text, self.baseline.filename)
            node = next(n for n in ast.walk(tree)
                        if isinstance(n, ast.ClassDef) and n.lineno == d.header_line)
        except (SyntaxError, ValueError, StopIteration):
            return _NOT_BUILT
        heads: list[ast.expr] = [*node.decorator_list, *node.bases,
                                 *(k.value for k in node.keywords)]
        if getattr(node, "type_params", None) or any(
                isinstance(x, _SCOPED_EXPRESSIONS) for h in heads for x in ast.walk(h)):
            return _NOT_BUILT
        try:
            unit = compile_unit(text, self.baseline.filename, self.baseline.future_flags,
                                self.compiler)
        except (SyntaxError, ValueError) as exc:
            raise EvaluationError(what, exc) from exc
        body = next((c for c in _iter_codes(unit)
                     if c.co_name == d.name and c.co_firstlineno == d.header_line), None)
        if body is None or body.co_freevars:
            return _NOT_BUILT
        scope_ns = self.namespace(scope)

        def value(expr: ast.expr) -> Any:
            code = compile(ast.Expression(expr), self.baseline.filename, "eval",
                           flags=self.baseline.future_flags, dont_inherit=True)
            return eval(code, self.module.__dict__, scope_ns)

        try:
            decorators = [value(x) for x in node.decorator_list]
            bases: list[Any] = []
            for base in node.bases:
                if isinstance(base, ast.Starred):
                    bases.extend(value(base.value))
                else:
                    bases.append(value(base))
            keywords: dict[str, Any] = {}
            for k in node.keywords:
                if k.arg is None:
                    keywords.update(value(k.value))
                else:
                    keywords[k.arg] = value(k.value)
            given = tuple(bases)
            resolved = types.resolve_bases(given)
            meta, ns, keywords = types.prepare_class(d.name, resolved, keywords)
            if type(ns) is dict:  # a metaclass's own mapping is used as it is
                ns = _ClassNamespace(ns, self.module_namespace())
            exec(body, self.module.__dict__, ns)
            if resolved is not given:
                ns["__orig_bases__"] = given
            cls = meta(d.name, resolved, dict(ns) if isinstance(ns, _ClassNamespace) else ns,
                       **keywords)
            for decorator in reversed(decorators):
                cls = decorator(cls)
        except Exception as exc:
            raise EvaluationError(what, exc) from exc
        return cls

    def run_statement(self, scope: Definition, first: int, last: int) -> dict[str, Any]:
        """Run lines ``first..last`` (statements of ``scope``'s body); return what they bind."""
        text = region_unit(self.baseline.lines, self.index, scope, first, last)
        return self._run(text, scope, f"line {first}")

    def run_annotations(self, scope: Definition, first: int, last: int) -> dict[str, Any]:
        """Evaluate the annotations of the annotated assignments on lines ``first..last``
        (``x: T = v`` runs as ``x: T``): the value the program holds stays as it is."""
        text = region_unit(self.baseline.lines, self.index, scope, first, last)
        try:
            tree = ast.parse(text, self.baseline.filename)
        except (SyntaxError, ValueError) as exc:
            raise EvaluationError(f"line {first}", exc) from exc
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and first <= node.lineno <= last:
                node.value = None
        return self._run(tree, scope, f"line {first}")

    def run_block(self, scope: Definition, first: int, last: int, keep: dict[int, Any],
                  fresh: bool = False) -> tuple[dict[str, Any], dict[int, Any]]:
        """Run the block on lines ``first..last`` (an ``if``/``try`` of ``scope``'s body that
        only binds names), taking the branches a fresh import would take.

        A definition in it whose first line is in ``keep`` binds that object (the live one,
        updated in place) instead of running; the others run. Returns the names the block
        bound and, by first line, the object each definition that ran bound (a definition in
        a branch not taken is not there). ``fresh``: in a copy of the scratch namespace."""
        text = region_unit(self.baseline.lines, self.index, scope, first, last)
        try:
            tree = ast.parse(text, self.baseline.filename)
        except (SyntaxError, ValueError) as exc:
            raise EvaluationError(f"line {first}", exc) from exc
        tree.body = _mark_definitions(tree.body, first, last, keep)
        ast.fix_missing_locations(tree)
        ran: dict[int, Any] = {}
        extra = {_KEEP: keep, _RAN: ran}
        names = self._run(tree, scope, f"line {first}", fresh=fresh, extra=extra)
        return names, ran

    def _run(self, source: str | ast.Module, scope: Definition, what: str,
             fresh: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``source`` in ``scope``'s scratch namespace; return the names it (re)bound."""
        before = dict(self.namespace(scope))
        ns = self._exec(source, scope, what, fresh, extra)
        names = {k: v for k, v in ns.items()
                 if k not in _CLASS_BODY_NAMES and (k not in before or before[k] is not v)}
        annotations = ns.get("__annotations__")
        live = self.live_scope(scope)
        if isinstance(annotations, dict) and annotations != vars(live).get("__annotations__"):
            names["__annotations__"] = annotations  # the copy, filled in place
        return names

    def _exec(self, source: str | ast.Module, scope: Definition, what: str,
              fresh: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``source`` in ``scope``'s scratch namespace (a copy of it, ``fresh``); return
        the namespace. ``extra``: names the code may read, there only while it runs."""
        try:
            unit = compile_unit(source, self.baseline.filename, self.baseline.future_flags,
                                self.compiler)
        except (SyntaxError, ValueError) as exc:
            raise EvaluationError(what, exc) from exc
        ns = self.namespace(scope)
        if fresh:  # a throwaway run (new defaults): do not disturb the shared namespace
            ns = ns.copy()
        if extra:
            ns.update(extra)
        try:
            if scope.kind == "module":
                exec(unit, self.module.__dict__, ns)
            else:
                exec(self._class_body(unit, scope), self.module.__dict__, ns)
        except Exception as exc:
            raise EvaluationError(what, exc) from exc
        finally:
            for name in extra or ():
                ns.pop(name, None)
        cell = ns.pop("__classcell__", None)
        if cell is not None:
            cell.cell_contents = self.live_scope(scope)
        return ns

    def settle(self, committed: Callable[[str], bool]) -> None:
        """After the commit: take out of the live module the names bound ahead of it that the
        commit did not keep (a branch the apply decided not to take)."""
        live = self.module.__dict__
        for name, value in self.prebound.items():
            if not committed(name) and live.get(name, _ABSENT) is value:
                del live[name]
        self.prebound.clear()

    def withdraw(self) -> None:
        """Take the names bound ahead of the commit out of the live module again (the apply
        did not commit)."""
        live = self.module.__dict__
        for name, value in self.prebound.items():
            if live.get(name, _ABSENT) is value:
                del live[name]
        self.prebound.clear()

    def _class_body(self, unit: CodeType, scope: Definition) -> CodeType:
        code: CodeType
        for code in _iter_codes(unit):
            if code.co_name == scope.name and code.co_firstlineno == scope.header_line:
                return code
        raise EvaluationError(scope.path, LookupError("class body not found in its unit"))


_NOT_BUILT = object()
# expressions that make a code object of their own (a class header is evaluated apart from
# its compile unit only when it has none, so that every code object comes from the unit)
_SCOPED_EXPRESSIONS = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                       ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)
_KEEP = "__relive_keep__"
_RAN = "__relive_ran__"
_DEF_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _mark_definitions(stmts: list[ast.stmt], first: int, last: int,
                      keep: dict[int, Any]) -> list[ast.stmt]:
    """The statements with each definition on lines ``first..last`` replaced by
    ``name = __relive_keep__[line]`` if it is kept, and followed by
    ``__relive_ran__[line] = name`` (its branch ran)."""
    out: list[ast.stmt] = []
    for node in stmts:
        if isinstance(node, _DEF_NODES):
            line = first_line(node)
            if first <= line <= last:
                note = ast.Assign(
                    [ast.Subscript(ast.Name(_RAN, ast.Load()), ast.Constant(line),
                                   ast.Store())],
                    ast.Name(node.name, ast.Load()))
                if line in keep:
                    bind: ast.stmt = ast.Assign(
                        [ast.Name(node.name, ast.Store())],
                        ast.Subscript(ast.Name(_KEEP, ast.Load()), ast.Constant(line),
                                      ast.Load()))
                    out += [ast.copy_location(bind, node), ast.copy_location(note, node)]
                else:
                    out += [node, ast.copy_location(note, node)]
                continue
        for attr in ("body", "orelse", "finalbody"):
            suite = getattr(node, attr, None)
            if isinstance(suite, list) and suite:
                setattr(node, attr, _mark_definitions(suite, first, last, keep))
        for handler in getattr(node, "handlers", ()):
            handler.body = _mark_definitions(handler.body, first, last, keep)
        out.append(node)
    return out


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
