"""Which branch of a conditional block ran in the live process.

A definition inside an ``if``/``try``/``for``/``while``/``match`` block of a module or class
body exists in the running program only if its branch ran when the module was imported:
``class B`` under ``if TYPE_CHECKING:`` never did, and neither did the fallback
``class Literal`` in the ``else:`` of ``if sys.version_info >= (3, 8):``. An edit of code
that never ran is a change of code that never ran: the baseline moves on and nothing live
changes (a fresh import would not run it either). An edit of code that ran is applied as
usual. So before an edit of a definition in such a block is applied, the runtime asks
:func:`branch_state`, which answers from two kinds of evidence, never by running anything:

1. **The test, evaluated.** Constant-like tests are evaluated against the live module by a
   small pure evaluator (:func:`evaluate`): constants, names of the module's globals,
   attributes of modules (read from their ``__dict__``) and the fields of ``sys`` structseqs
   (``sys.version_info.minor``), tuples, constant subscripts and slices of tuples and strings,
   comparisons, ``not``, ``and``/``or``, and ``str.startswith``/``endswith`` on a string with
   constant arguments (``sys.platform.startswith("win")``). Only values of plain types
   (``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` and tuples of them) are ever
   compared or tested for truth, so no user code runs; ``hasattr(module, "name")`` is read
   from the module's ``__dict__`` when the module has no ``__getattr__``. This settles
   ``TYPE_CHECKING``, ``typing.TYPE_CHECKING``, ``sys.version_info``, ``sys.platform`` and
   ``hasattr(typing, "X")`` tests. It reads the module as it is now (with the names the same
   apply binds above the block), not as it was at import: a flag the program rebinds after import
   misleads it (rare; say so if it happens).
2. **Live definitions as witnesses.** A function or class of this module's file, bound in the
   scope under the name a ``def``/``class`` of some branch binds and defined at that
   definition's lines (a function by its code's first line and file, a class by
   ``__firstlineno__`` or by the first line of one of its own methods), proves that branch
   ran; a branch that excludes it (the other side of an ``if``, another ``except`` handler,
   the ``else:`` of a ``try`` whose handler ran, another ``case``) did not. This settles a
   ``try: ... except ImportError: ...`` whose branches define functions or classes.

Lines of the live code are those of the old baseline; for a definition of the new source
they are first mapped through the delta (``to_current``). A conditional class
around the edited definition that is not bound, as a class of this module, in the live
scope did not run either (nothing live to change). A witness
outweighs the test. What none of these settles is
:attr:`Branch.UNKNOWN`: the caller applies the edit as if the branch ran and says so with
RL3005. A ``with`` block and the ``finally:`` of a ``try`` always run. Blocks inside
functions are not judged: a function's code is found by its code object, whichever branch
made it.
"""

from __future__ import annotations

import ast
import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from types import FunctionType, ModuleType
from typing import Any

from relive.delta import MODULE_PATH, Baseline, Definition


class Branch(enum.Enum):
    RAN = "ran"
    NOT_RAN = "did not run"
    UNKNOWN = "unknown"


_UNKNOWN: Any = object()
_TRY: tuple[type[ast.Try], ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_PLAIN = (type(None), bool, int, float, str, bytes)
_FIELDS_OF_SYS = "sys"  # the module of the structseq types sys.version_info & co


def _plain(value: object) -> bool:
    if isinstance(value, tuple):
        return (type(value) is tuple or type(value).__module__ == _FIELDS_OF_SYS) and all(
            _plain(v) for v in value)
    return type(value) in _PLAIN


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}


def evaluate(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """The value of a constant-like expression, or ``_UNKNOWN``; never calls user code."""
    value = _evaluate(node, namespace)
    return value if value is _UNKNOWN or isinstance(value, ModuleType) or _plain(value) \
        else _UNKNOWN


def _evaluate(node: ast.expr, ns: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        value = ns.get(node.id, _UNKNOWN)
        return value if isinstance(value, ModuleType) or _plain(value) else _UNKNOWN
    if isinstance(node, ast.Attribute):
        base = _evaluate(node.value, ns)
        if isinstance(base, ModuleType):
            value = vars(base).get(node.attr, _UNKNOWN)
        elif isinstance(base, tuple) and type(base).__module__ == _FIELDS_OF_SYS:
            value = getattr(base, node.attr, _UNKNOWN)  # a structseq field: a C member
        else:
            return _UNKNOWN
        return value if isinstance(value, ModuleType) or _plain(value) else _UNKNOWN
    if isinstance(node, ast.Tuple):
        items = [_evaluate(e, ns) for e in node.elts]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else tuple(items)
    if isinstance(node, ast.Subscript):
        return _subscript(node, ns)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _evaluate(node.operand, ns)
        return _UNKNOWN if operand is _UNKNOWN or not _plain(operand) else not operand
    if isinstance(node, ast.BoolOp):
        return _boolop(node, ns)
    if isinstance(node, ast.Compare):
        return _compare(node, ns)
    if isinstance(node, ast.Call):
        return _string_test(node, ns)
    return _UNKNOWN


def _module_has(node: ast.Call, ns: Mapping[str, Any]) -> Any:
    """``hasattr(module, "name")``, read from the module's ``__dict__``: a module without a
    ``__getattr__`` of its own has exactly those attributes and those of its type."""
    if len(node.args) != 2 or node.keywords:
        return _UNKNOWN
    module, name = _evaluate(node.args[0], ns), _evaluate(node.args[1], ns)
    if not isinstance(module, ModuleType) or type(name) is not str:
        return _UNKNOWN
    namespace = vars(module)
    if name in namespace:
        return True
    if "__getattr__" in namespace:
        return _UNKNOWN
    return hasattr(type(module), name)  # the attributes of the module type itself (C)


def _subscript(node: ast.Subscript, ns: Mapping[str, Any]) -> Any:
    base = _evaluate(node.value, ns)
    if not isinstance(base, (tuple, str)) or not _plain(base):
        return _UNKNOWN
    index: Any
    if isinstance(node.slice, ast.Slice):
        parts = [None if p is None else _evaluate(p, ns)
                 for p in (node.slice.lower, node.slice.upper, node.slice.step)]
        if any(p is _UNKNOWN or not (p is None or type(p) is int) for p in parts):
            return _UNKNOWN
        index = slice(*parts)
    else:
        index = _evaluate(node.slice, ns)
        if type(index) is not int:
            return _UNKNOWN
    try:
        return base[index]
    except (IndexError, ValueError):
        return _UNKNOWN


def _boolop(node: ast.BoolOp, ns: Mapping[str, Any]) -> Any:
    # ``and``: one known false operand decides; ``or``: one known true operand decides
    decisive = isinstance(node.op, ast.Or)
    unknown = False
    for operand in node.values:
        value = _evaluate(operand, ns)
        if value is _UNKNOWN or not _plain(value):
            unknown = True
        elif bool(value) is decisive:
            return decisive
    return _UNKNOWN if unknown else not decisive


def _compare(node: ast.Compare, ns: Mapping[str, Any]) -> Any:
    left = _evaluate(node.left, ns)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _evaluate(right_node, ns)
        compare = _COMPARE.get(type(op))
        if compare is None or not (_plain(left) and _plain(right)):
            return _UNKNOWN
        try:
            if not compare(left, right):
                return False
        except TypeError:  # e.g. a tuple against an int: a fresh import would raise too
            return _UNKNOWN
        left = right
    return True


def _string_test(node: ast.Call, ns: Mapping[str, Any]) -> Any:
    func = node.func
    if isinstance(func, ast.Name) and func.id == "hasattr" and "hasattr" not in ns:
        return _module_has(node, ns)
    if (not isinstance(func, ast.Attribute) or func.attr not in ("startswith", "endswith")
            or node.keywords or len(node.args) != 1):
        return _UNKNOWN
    text = _evaluate(func.value, ns)
    arg = _evaluate(node.args[0], ns)
    if type(text) is not str or not (type(arg) is str or (
            type(arg) is tuple and all(type(a) is str for a in arg))):
        return _UNKNOWN
    return text.startswith(arg) if func.attr == "startswith" else text.endswith(arg)


# -- where a definition is: the branches around it -------------------------------------


def _branches(node: ast.stmt) -> list[list[ast.stmt]]:
    """The branches of a compound statement, in the order :func:`_verdict` numbers them."""
    if isinstance(node, ast.If):
        return [node.body, node.orelse]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return [node.body, node.orelse]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [node.body]
    if isinstance(node, ast.Match):
        return [case.body for case in node.cases]
    if isinstance(node, _TRY):  # try / try*: body, handlers..., else, finally
        return [node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody]
    return []


def _path_to(stmts: list[ast.stmt], line: int) -> list[tuple[ast.stmt, int]]:
    """The compound statements around ``line`` and the branch of each that holds it (a
    ``def``/``class`` has no branches: the walk stops at the definition)."""
    for stmt in stmts:
        if not _defines_at(stmt, line):
            continue
        for i, branch in enumerate(_branches(stmt)):
            if branch and _first(branch[0]) <= line <= (branch[-1].end_lineno or line):
                return [(stmt, i), *_path_to(branch, line)]
        return []
    return []


def _first(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _defines_at(node: ast.stmt, line: int) -> bool:
    return _first(node) <= line <= (node.end_lineno or node.lineno)


def _definitions_in(stmts: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The ``def``/``class`` statements of a branch, in nested blocks too (not in defs)."""
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield stmt
        else:
            for branch in _branches(stmt):
                yield from _definitions_in(branch)


def _exclusive(node: ast.stmt, a: int, b: int) -> bool:
    """Does branch ``a`` having run mean that branch ``b`` did not?"""
    if a == b:
        return False
    if isinstance(node, (ast.If, ast.Match)):
        return True
    if isinstance(node, _TRY):  # at most one handler runs, and never with the else
        n = len(node.handlers)
        runs_instead = set(range(1, n + 2))  # the handlers and the else
        return a in runs_instead and b in runs_instead
    return False


# -- live witnesses -------------------------------------------------------------------------


def _unwrap(value: object) -> object:
    """The function behind a staticmethod, classmethod, property or ``functools.wraps``."""
    for _ in range(8):
        inner: object = None
        if isinstance(value, (staticmethod, classmethod)):
            inner = value.__func__
        elif isinstance(value, property):
            inner = value.fget
        elif isinstance(value, FunctionType):
            inner = value.__dict__.get("__wrapped__")
        if inner is None:
            return value
        value = inner
    return value


def live_line(obj: object, module: ModuleType, filename: str) -> int | None:
    """The first line, in the live code's numbering, of a function or class defined in
    ``module``'s file; None for anything else (an import, a value, a foreign object)."""
    if isinstance(obj, FunctionType):
        fn = _unwrap(obj)
        if isinstance(fn, FunctionType) and fn.__code__.co_filename == filename:
            return fn.__code__.co_firstlineno
        return None
    if isinstance(obj, type) and vars(obj).get("__module__") == module.__name__:
        first = vars(obj).get("__firstlineno__")
        if isinstance(first, int):
            return first
        lines = []
        for value in vars(obj).values():
            fn = _unwrap(value)
            if (isinstance(fn, FunctionType) and fn.__code__.co_filename == filename
                    and fn.__qualname__.startswith(obj.__qualname__ + ".")):
                lines.append(fn.__code__.co_firstlineno)
        return min(lines) if lines else None
    return None


# -- the verdict ----------------------------------------------------------------------------


def in_block(index: dict[str, Definition], d: Definition) -> bool:
    """Is ``d``, or a definition around it, defined in a block of its scope's body? (The
    cheap test before :func:`branch_state`: most edits are of code in no block.)"""
    x: Definition | None = d
    while x is not None and x.parent is not None:
        if x.blocks:
            return True
        x = index.get(x.parent)
    return False


def branch_state(module: ModuleType, baseline: Baseline, d: Definition, filename: str,
                 to_current: Callable[[int], int | None] = lambda line: line,
                 live_scope: Callable[[Definition], Any] | None = None,
                 inside: bool = False, names: Mapping[str, Any] | None = None) -> Branch:
    """Did the branches around ``d`` (a definition of ``baseline``) and around each class
    that encloses it run in the live process? ``to_current`` maps a line of the live code to
    ``baseline``'s numbering; ``live_scope`` gives the live module or class of a scope;
    ``inside``: the edit is of a name in ``d``'s own body (``d`` is its class); ``names``:
    the module's names that tests read (its globals by default).

    A conditional class around ``d`` that the live scope does not bind as a class of this
    module did not run (or is gone): there is nothing live to change inside it, and a foreign
    class bound under its name must not be changed."""
    index = baseline.index
    state = Branch.RAN
    x: Definition | None = d
    while x is not None and x.parent is not None:
        scope = index.get(x.parent or MODULE_PATH)
        if scope is None:
            return Branch.UNKNOWN
        if scope.kind not in ("module", "class"):
            # made at run time by a function: found by its code, whichever branch made it
            x = scope
            continue
        if (x.conditional and (x is not d or inside) and x.kind == "class"
                and live_scope is not None and not _own_class(live_scope(x), module)):
            return Branch.NOT_RAN  # no class of this module to change: its branch never ran
        if x.conditional:
            here = _judge(module, baseline, scope, x, filename, to_current, live_scope,
                          vars(module) if names is None else names)
            if here is Branch.NOT_RAN:
                return here
            if here is Branch.UNKNOWN:
                state = here
        x = scope if scope.kind != "module" else None
    return state


@functools.lru_cache(maxsize=16)
def _parse(text: str) -> ast.Module | None:
    """A block's tree, parsed once for all the edits of one apply that lie in it."""
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _own_class(obj: object, module: ModuleType) -> bool:
    return isinstance(obj, type) and vars(obj).get("__module__") == module.__name__


def _judge(module: ModuleType, baseline: Baseline, scope: Definition, d: Definition,
           filename: str, to_current: Callable[[int], int | None],
           live_scope: Callable[[Definition], Any] | None,
           names: Mapping[str, Any]) -> Branch:
    stmt = next((s for s in scope.body if scope.first + s.first <= d.first
                 <= scope.first + s.last), None)
    if stmt is None:
        return Branch.UNKNOWN
    first, last = scope.first + stmt.first, scope.first + stmt.last
    text = "\n" * (first - 1) + "\n".join(
        line[stmt.col:] for line in baseline.lines[first - 1:last])
    tree = _parse(text)
    if tree is None:
        return Branch.UNKNOWN
    live = module if live_scope is None or scope.kind == "module" else live_scope(scope)
    bound: Mapping[str, Any] = vars(live) if live is not None else {}
    state = Branch.RAN
    for node, branch in _path_to(tree.body, d.header_line):
        verdict = _verdict(node, branch, names, bound, module, filename, to_current)
        if verdict is Branch.NOT_RAN:
            return verdict
        if verdict is Branch.UNKNOWN:
            state = verdict
    return state


def _verdict(node: ast.stmt, branch: int, globals_: Mapping[str, Any],
             bound: Mapping[str, Any], module: ModuleType, filename: str,
             to_current: Callable[[int], int | None]) -> Branch:
    branches = _branches(node)
    if isinstance(node, (ast.With, ast.AsyncWith)) or (
            isinstance(node, _TRY) and branch == len(branches) - 1):
        return Branch.RAN
    # a witness first: it is what happened, where a test reads the module as it is now (a
    # block may change what its own test reads: `if not hasattr(m, "x"): m.x = ...`)
    for i, stmts in enumerate(branches):
        for definition in _definitions_in(stmts):
            name = getattr(definition, "name", "")
            line = live_line(bound.get(name), module, filename)
            here = None if line is None else to_current(line)
            if here is None or not _defines_at(definition, here):
                continue
            if i == branch:
                return Branch.RAN
            if _exclusive(node, i, branch):
                return Branch.NOT_RAN
    if isinstance(node, ast.If):
        value = evaluate(node.test, globals_)
        if value is not _UNKNOWN:
            return Branch.RAN if bool(value) is (branch == 0) else Branch.NOT_RAN
    return Branch.UNKNOWN
