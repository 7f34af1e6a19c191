"""Continuations: the new version of a function, entered in the middle with a frame's state.

A stale frame cannot be given new code: CPython has no way to swap a frame's code object. So
at a remap point the frame hands its state to a *continuation* and returns (or yields, or
awaits) whatever the continuation does. The continuation is a function compiled from the new
version's tree, cut so that it starts at the target statement and then runs exactly what the new
function would run from there:

- the statements after the target in its block, then, for each enclosing block, what follows
  it: the rest of an ``if`` branch continues after the ``if``; the rest of a loop body runs as
  a one-shot ``for [] in ((),): <rest of body> else: <the loop itself>``, so that ``continue``
  in the partial iteration goes on with the loop, ``break`` leaves it (skipping its ``else``),
  and the remaining iterations run the loop unchanged;
- a ``for`` loop resumes on the frame's live iterator (read from its value stack, passed in
  the hidden local ``__relive_for<N>__``), so the loop carries on where it was;
- the rest of a ``try`` body runs inside the new version's ``try`` (its handlers, ``else`` and
  ``finally``), and the rest of a ``with`` body inside ``with __relive_with<K>__:``, where the
  hidden local holds a :func:`reentered` item standing for the one the frame entered:
  entering it does nothing, leaving it calls the exit the frame held (read from its value
  stack), so the context manager is entered once and left once, by the new code;
- the rest of an ``except`` body handles the very exception the frame was handling, raised
  again inside a ``try`` whose ``except BaseException`` clause binds the handler's name and
  puts the exception's traceback back (:func:`_rehandled`); then the new ``finally`` runs and
  what follows the ``try``. The rest of a ``finally`` body run for an exception is handled
  the same way and ends by raising it again; the rest of one run on leaving the ``try``
  normally just runs, then what follows;
- locals are unpacked from a hidden parameter; closure cells are *shared* with the old frame
  (the continuation is built with the old frame's cells as its closure), so closures created
  before the remap and the frame keep seeing the same variables.

The continuation's statements keep their source positions: tracebacks, line events and
``f_lineno`` are those of the new source. It is compiled in EnC mode itself, so that a later
edit can remap it again; its code object is registered as *derived* from the version's code so
that the next remap finds it.
"""

from __future__ import annotations

import ast
import copy
import functools
import itertools
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CellType, CodeType, FunctionType
from typing import Any

from relive._cpython.syntax import def_fields
from relive.runtime.apply.codetools import CONTINUATION_VALUES
from relive.runtime.enc import (
    HIDDEN_PREFIX,
    SIGNAL_NAME,
    FunctionKind,
    FunctionNode,
    FunctionTable,
    Path,
    TreeTable,
    annotate_function,
    code_kind,
    enc_compile_with_trees,
    find_code,
    for_local,
    future_flags,
    iter_code_objects,
    iter_statements,
    loop_index,
    mark_synthetic,
    statement_path,
)
from relive.runtime.registry import REGISTRY
from relive.runtime.remap.layout import Point, PointMode
from relive.runtime.remap.unbound import reads_before_assignment

__all__ = [
    "Continuation",
    "FunctionVersion",
    "ResumePoint",
    "UnitMismatchError",
    "build_continuation",
    "derived_codes",
    "load_version",
    "make_runner",
    "resolve_target",
    "restart_target",
]

_VALUES = CONTINUATION_VALUES
_UNBOUND = "__relive_u__"
_OUTER = "__relive_outer__"
_WITH_PREFIX = "__relive_with"
_HANDLED_PREFIX = "__relive_exc"


def with_local(index: int) -> str:
    """The hidden local of a continuation that holds the ``index``-th ``with`` item (from the
    outermost) that the frame had entered."""
    return f"{_WITH_PREFIX}{index}__"


def handled_local(index: int) -> str:
    """The hidden local of a continuation that holds ``(exception, its traceback)`` for the
    ``index``-th handler (from the outermost) that the frame was in: an ``except`` body, or a
    ``finally`` body run for an exception."""
    return f"{_HANDLED_PREFIX}{index}__"


async def _entered() -> None:
    return None


def reentered(exit: Callable[..., Any]) -> object:
    """A ``with`` item that a frame entered in the old code, as the continuation's ``with``
    re-enters it: entering does nothing (the item was entered), leaving calls ``exit``,
    what the old frame would have called (its bound ``__exit__`` or ``__aexit__``).

    A class of its own, with ``exit`` itself as the special method (a static method), so
    that leaving calls it directly, as plain code does: a Python ``__exit__`` in between
    would give a Ctrl-C one more place to land before a lock's exit is called.
    """
    none = type(None)  # called with no arguments: None, in C
    namespace = {"__enter__": staticmethod(none), "__exit__": staticmethod(exit),
                 "__aenter__": staticmethod(_entered), "__aexit__": staticmethod(exit),
                 "__slots__": ()}
    return type("Reentered", (), namespace)()


class UnitMismatchError(ValueError):
    """The compile unit given for a code object does not compile to that code object."""


@dataclass(frozen=True, eq=False)
class FunctionVersion:
    """One version of a function: its EnC code and the trees it was compiled from.

    The code object is held weakly: a stale version must not keep its code (and through it,
    its instrumentation) alive once no frame runs it.
    """

    code_ref: weakref.ref[CodeType]
    name: str
    qualname: str
    filename: str
    firstlineno: int
    varnames: tuple[str, ...]
    cellvars: tuple[str, ...]
    freevars: tuple[str, ...]
    logical: FunctionNode  # the user's tree, annotated, not transformed
    compiled: FunctionNode  # the transformed tree the code was compiled from
    kind: FunctionKind
    flags: int  # `from __future__` flags the unit was compiled with
    statements: Mapping[Path, tuple[ast.stmt, tuple[ast.stmt, ...]]]  # stmt, ancestors
    by_line: Mapping[int, Path]  # first line -> the outermost statement starting there

    @property
    def code(self) -> CodeType | None:
        return self.code_ref()


def _index(fn: FunctionNode) -> tuple[
    dict[Path, tuple[ast.stmt, tuple[ast.stmt, ...]]], dict[int, Path]
]:
    statements: dict[Path, tuple[ast.stmt, tuple[ast.stmt, ...]]] = {}
    by_line: dict[int, Path] = {}
    for stmt, path in iter_statements(fn):
        ancestors: list[ast.stmt] = []
        for depth in range(1, len(path)):
            parent = statements.get(path[:depth])
            if parent is not None:
                ancestors.append(parent[0])
        statements[path] = (stmt, tuple(ancestors))
        by_line.setdefault(stmt.lineno, path)
    return statements, by_line


def _find_def(tree: ast.Module, code: CodeType) -> FunctionNode | None:
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == code.co_name
            and min([node.lineno, *(d.lineno for d in node.decorator_list)]) == code.co_firstlineno
        ):
            return node
    return None


@functools.lru_cache(maxsize=16)
def _enc_unit(unit: str, filename: str, flags: int) -> tuple[CodeType, TreeTable, ast.Module]:
    """A unit compiled in EnC mode, its trees, and its plain tree. Cached: the runtime may
    give one unit (say, the whole module) for several functions of one apply. The trees are
    only read once made (annotating a function twice changes nothing)."""
    module, trees = enc_compile_with_trees(unit, filename, flags)
    return module, trees, ast.parse(unit, filename)


def load_version(code: CodeType, unit: str) -> FunctionVersion:
    """The version of a function whose live code is ``code``, from its compile unit.

    ``unit`` is source text that compiles ``code`` at its real lines in its real nesting (the
    whole module will do). It is compiled in EnC mode and the result checked against ``code``
    instruction for instruction, because the remap points are read from the tree: a unit that
    does not match would put frames at the wrong statements. Raises UnitMismatchError.
    """
    if SIGNAL_NAME not in code.co_names:
        raise UnitMismatchError(
            f"{code.co_qualname} is not compiled in EnC mode (see RL5002): its frames cannot "
            f"move to other code")
    flags = future_flags(code)
    try:
        module, trees, logical_module = _enc_unit(unit, code.co_filename, flags)
    except SyntaxError as exc:
        raise UnitMismatchError(f"the compile unit does not compile: {exc}") from exc
    compiled = trees.get((code.co_firstlineno, code.co_name))
    again = find_code(module, code.co_qualname, code.co_firstlineno)
    if compiled is None or again is None:
        raise UnitMismatchError(
            f"the compile unit has no {code.co_qualname} at line {code.co_firstlineno}"
        )
    if again.co_code != code.co_code or again.co_varnames != code.co_varnames:
        raise UnitMismatchError(
            f"{code.co_qualname}: the compile unit does not compile to the running code"
            " (is the function compiled in EnC mode, from this source?)"
        )
    logical = _find_def(logical_module, code)
    assert logical is not None  # the same source just compiled it
    annotate_function(logical)
    statements, by_line = _index(logical)
    return FunctionVersion(
        weakref.ref(code), code.co_name, code.co_qualname, code.co_filename,
        code.co_firstlineno, code.co_varnames, code.co_cellvars, code.co_freevars,
        logical, compiled, code_kind(code), flags, statements, by_line,
    )


# --- from a remap point of the old version to a statement of the new one ------------------------

@dataclass(frozen=True)
class ResumePoint:
    """Where, and with which loop iterators, a frame resumes in the new version."""

    path: Path | None  # None: the whole body (restart)
    mode: PointMode
    old_line: int | None
    new_line: int
    loops: tuple[tuple[str, int], ...]  # (hidden local in new, the old loop's stack index)
    async_loops: frozenset[str]  # hidden locals (new) of `async for` loops
    withs: tuple[int, ...] = ()  # value-stack index of each entered `with` item's exit
    # value-stack index of the exception each entered handler saved (see layout.Point)
    handled: tuple[int, ...] = ()
    finals: tuple[bool, ...] = ()  # each finally body around: the copy run for an exception?


def _loops_of(stmt: ast.stmt, ancestors: tuple[ast.stmt, ...], mode: PointMode) -> list[ast.stmt]:
    loops: list[ast.stmt] = [a for a in ancestors if isinstance(a, (ast.For, ast.AsyncFor))]
    if mode == "head":
        loops.append(stmt)
    return loops


def resolve_target(
    old: FunctionVersion, point: Point, line_map: Mapping[int, int | None], new: FunctionVersion
) -> ResumePoint | str:
    """The statement of ``new`` where a frame of ``old`` at ``point`` resumes, or why none."""
    found = old.statements.get(point.path)
    if found is None:
        return "the point is not a statement of the old version"
    stmt, ancestors = found
    new_line = line_map.get(stmt.lineno)
    if new_line is None:
        return f"line {stmt.lineno} was deleted by the edit"
    path = new.by_line.get(new_line)
    if path is None:
        return f"line {stmt.lineno} maps to line {new_line}, where no statement starts"
    target, new_ancestors = new.statements[path]
    problem = _blocks_problem(old, point, new, path)
    if problem is not None:
        return problem
    if point.mode == "head" and type(target) is not type(stmt):
        return f"the loop at line {stmt.lineno} is no longer a for loop"
    old_loops = _loops_of(stmt, ancestors, point.mode)
    running = dict(point.fors)  # where each running loop of the frame keeps its iterator
    pairs: list[tuple[str, int]] = []
    async_loops: set[str] = set()
    for loop in _loops_of(target, new_ancestors, point.mode):
        match = [
            o for o in old_loops
            if type(o) is type(loop) and line_map.get(o.lineno) == loop.lineno
        ]
        old_path = statement_path(match[0]) if match else None
        new_index = loop_index(loop)
        at = running.get(old_path) if old_path is not None else None
        if new_index is None or at is None:
            return f"the loop at line {loop.lineno} has no running counterpart in the frame"
        pairs.append((for_local(new_index), at))
        if isinstance(loop, ast.AsyncFor):
            async_loops.add(for_local(new_index))
    return ResumePoint(path, point.mode, stmt.lineno, new_line, tuple(pairs),
                       frozenset(async_loops), point.withs, point.handled, point.finals)


def _blocks(version: FunctionVersion, path: Path) -> list[tuple[ast.stmt, str]]:
    """The statements around the one at ``path``, outermost first, each with the field of it
    that holds ``path`` ("body", "orelse", "handlers", "finalbody"...)."""
    found: list[tuple[ast.stmt, str]] = []
    for depth in range(1, len(path)):
        outer = version.statements.get(path[:depth])
        if outer is not None:
            found.append((outer[0], path[depth][0]))
    return found


def _header(stmt: ast.With | ast.AsyncWith) -> str:
    return ast.dump(ast.Module(body=[type(stmt)(items=stmt.items, body=[])], type_ignores=[]))


def _handlers(version: FunctionVersion, path: Path) -> list[tuple[ast.stmt, str, int]]:
    """The handlers around the statement at ``path``, outermost first: each ``try`` whose
    ``except`` (or ``except*``) or ``finally`` block holds it, with that field and the index
    of the ``except`` clause."""
    found: list[tuple[ast.stmt, str, int]] = []
    for depth in range(1, len(path)):
        outer = version.statements.get(path[:depth])
        field, index = path[depth]
        if (outer is not None and isinstance(outer[0], (ast.Try, ast.TryStar))
                and field in ("handlers", "finalbody")):
            found.append((outer[0], field, index))
    return found


def _block_name(stmt: ast.stmt, field: str, exceptional: bool | None = None) -> str:
    if field == "finalbody":
        return {None: "finally", True: "finally (run for an exception)",
                False: "finally (run on leaving the try)"}[exceptional]
    return "except*" if isinstance(stmt, ast.TryStar) else "except"


def _clause(stmt: ast.stmt, index: int) -> str:
    handler = stmt.handlers[index]  # type: ignore[attr-defined]
    return ast.dump(ast.ExceptHandler(type=handler.type, name=handler.name, body=[]))


def _handlers_problem(old: FunctionVersion, point: Point, new: FunctionVersion,
                      path: Path) -> str | None:
    """Why a frame at ``point`` cannot continue at ``path`` for the handlers around them: the
    new code would enter a handler the frame is not in, or leave one it is in, or the
    ``except`` clause it is in changed."""
    olds = _handlers(old, point.path)
    news = _handlers(new, path)
    finals = iter(point.finals)
    for depth, (stmt, field, index) in enumerate(news):
        if depth >= len(olds) or olds[depth][1] != field:
            return (f"the target is inside the {_block_name(stmt, field)} block of the try at"
                    f" line {stmt.lineno} in the new version")
        before, _field, old_index = olds[depth]
        if field == "finalbody":
            next(finals, None)
        elif _clause(before, old_index) != _clause(stmt, index):
            clause = before.handlers[old_index]  # type: ignore[attr-defined]
            return (f"the `except` at line {clause.lineno} changed: the frame goes on handling"
                    " its exception in the old code until it leaves the handler")
    if len(olds) > len(news):
        stmt, field, _index = olds[len(news)]
        exceptional = next(finals, None) if field == "finalbody" else None
        return (f"the frame is in the {_block_name(stmt, field, exceptional)} block of the try"
                f" at line {stmt.lineno}, which the target is not: it waits until it leaves"
                " the block")
    return None


def _blocks_problem(old: FunctionVersion, point: Point, new: FunctionVersion,
                    path: Path) -> str | None:
    """Why a frame at ``point`` cannot continue at ``path`` for the blocks around them: the
    handlers it is in are not the ones around the target, or the ``with`` blocks it is in
    are not."""
    problem = _handlers_problem(old, point, new, path)
    if problem is not None:
        return problem
    new_blocks = _blocks(new, path)
    olds = [b for b, f in _blocks(old, point.path) if isinstance(b, (ast.With, ast.AsyncWith))]
    news = [b for b, f in new_blocks if isinstance(b, (ast.With, ast.AsyncWith))]
    for before, after in zip(olds, news, strict=False):
        if type(before) is not type(after) or _header(before) != _header(after):
            return (f"the `{_keyword(before)}` around line {before.lineno} changed: the frame"
                    " keeps the context it entered until it leaves the block")
    if len(olds) > len(news):
        gone = olds[len(news)]
        return (f"the `{_keyword(gone)}` around line {gone.lineno} was removed: the frame"
                " waits until it leaves it")
    if len(news) > len(olds):
        added = news[len(olds)]
        return (f"the `{_keyword(added)}` at line {added.lineno} of the new version is not"
                " entered by the frame: it waits for a statement outside it")
    return None


def _keyword(stmt: ast.With | ast.AsyncWith) -> str:
    return "async with" if isinstance(stmt, ast.AsyncWith) else "with"


def restart_target(new: FunctionVersion, old_line: int | None) -> ResumePoint:
    """Resuming at the top of the new body (the "restart" policy)."""
    first = new.logical.body[0]
    return ResumePoint(None, "start", old_line, first.lineno, (), frozenset())


# --- the resumed body -----------------------------------------------------------------------

def _hidden(node: ast.AST) -> ast.AST:
    for item in ast.walk(node):
        if "lineno" in item._attributes:
            item.lineno = item.end_lineno = -1  # type: ignore[attr-defined]
            item.col_offset = item.end_col_offset = -1  # type: ignore[attr-defined]
    return node


def _resumed_loop(loop: ast.For | ast.AsyncFor, clone: Callable[[Any], Any]) -> ast.stmt:
    """``loop``, iterating on the frame's live iterator instead of its iterable."""
    index = loop_index(loop)
    assert index is not None
    resumed = clone(loop) if clone is _deep else copy.copy(loop)
    resumed.iter = ast.copy_location(ast.Name(id=for_local(index), ctx=ast.Load()), loop.iter)
    return resumed


def _one_shot(partial: list[ast.stmt], rest_of_loop: ast.stmt) -> ast.stmt:
    """``for [] in ((),): <partial> else: <rest_of_loop>`` -- see the module docstring."""
    shot = ast.For(
        target=ast.List(elts=[], ctx=ast.Store()),
        iter=ast.Tuple(elts=[ast.Tuple(elts=[], ctx=ast.Load())], ctx=ast.Load()),
        body=[],
        orelse=[],
    )
    _hidden(shot)
    shot.body, shot.orelse = partial, [rest_of_loop]
    return mark_synthetic(shot)


def _deep(node: Any) -> Any:
    return copy.deepcopy(node)


def _same(node: Any) -> Any:
    return node


def _rehandled(index: int, handler: ast.ExceptHandler | None, partial: list[ast.stmt]
               ) -> ast.stmt:
    """The frame's ``index``-th handled exception handled again, by ``handler`` (an ``except``
    clause, whose name it binds) or, for a ``finally`` body run for an exception, by a clause
    that raises it again at the end::

        try:
            raise __relive_exc<index>__[0]
        except BaseException [as <name>]:
            __relive_exc<index>__[0].__traceback__ = __relive_exc<index>__[1]
            del __relive_exc<index>__
            <partial>
            [raise]                                     # finally

    It is the same exception object, so ``sys.exception()``, a bare ``raise`` and the
    ``__context__`` of anything raised in the handler are what they were in the old code;
    its traceback is put back as it was (the ``raise`` added this frame's entry to it).
    """
    saved = handled_local(index)

    def part(item: int) -> ast.expr:
        return ast.Subscript(value=ast.Name(id=saved, ctx=ast.Load()),
                             slice=ast.Constant(value=item), ctx=ast.Load())

    restore = ast.Assign(
        targets=[ast.Attribute(value=part(0), attr="__traceback__", ctx=ast.Store())],
        value=part(1))
    forget = ast.Delete(targets=[ast.Name(id=saved, ctx=ast.Del())])
    prologue: list[ast.stmt] = [restore, forget]
    epilogue: list[ast.stmt] = [] if handler is not None else [ast.Raise(exc=None, cause=None)]
    for stmt in (*prologue, *epilogue):
        _hidden(stmt)
        mark_synthetic(stmt)
    clause = ast.ExceptHandler(type=ast.Name(id="BaseException", ctx=ast.Load()),
                               name=handler.name if handler is not None else None, body=[])
    attempt = ast.Try(body=[ast.Raise(exc=part(0), cause=None)], handlers=[clause], orelse=[],
                      finalbody=[])
    _hidden(attempt)
    clause.body = [*prologue, *partial, *epilogue]
    return mark_synthetic(attempt)


def _resume_block(
    block: list[ast.stmt], steps: Path, mode: PointMode, clone: Callable[[Any], Any],
    entered: int = 0, at: ast.stmt | None = None, handled: int = 0,
    finals: tuple[bool, ...] = (),
) -> list[ast.stmt]:
    """``block`` resumed at ``steps``; ``entered`` counts the ``with`` items around it and
    ``handled`` the handlers, ``finals`` says which copy each finally body around it is (see
    :class:`ResumePoint`), ``at`` is the target statement (where a re-entered ``with`` is
    placed)."""
    index = steps[0][1]
    stmt = block[index]
    rest = [clone(s) for s in block[index + 1:]]
    if len(steps) == 1:
        if mode == "head":
            assert isinstance(stmt, (ast.For, ast.AsyncFor))
            return [_resumed_loop(stmt, clone), *rest]
        return [clone(stmt), *rest]
    field, inner = steps[1]

    def resume(inner_block: list[ast.stmt], inner_steps: Path, more_entered: int = 0,
               more_handled: int = 0, more_finals: int = 0) -> list[ast.stmt]:
        return _resume_block(inner_block, inner_steps, mode, clone, entered + more_entered, at,
                             handled + more_handled, finals[more_finals:])

    if isinstance(stmt, ast.If):
        return [*resume(getattr(stmt, field), steps[1:]), *rest]
    if isinstance(stmt, ast.Match):
        case = stmt.cases[inner]
        return [*resume(case.body, steps[2:]), *rest]
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        if field == "orelse":
            return [*resume(stmt.orelse, steps[1:]), *rest]
        partial = resume(stmt.body, steps[1:])
        loop = clone(stmt) if isinstance(stmt, ast.While) else _resumed_loop(stmt, clone)
        return [_one_shot(partial, loop), *rest]
    if isinstance(stmt, (ast.Try, ast.TryStar)) and field in ("body", "orelse"):
        partial = resume(getattr(stmt, field), steps[1:])
        resumed = copy.copy(stmt)
        if field == "body":
            resumed.body = partial
            resumed.handlers = [clone(h) for h in stmt.handlers]
            resumed.orelse = [clone(s) for s in stmt.orelse]
        else:  # the else block: the handlers no longer apply, `finally` still does
            if not stmt.finalbody:
                return [*partial, *rest]
            resumed = ast.Try(body=partial, handlers=[], orelse=[], finalbody=[])
            _hidden(resumed)
            mark_synthetic(resumed)
        resumed.finalbody = [clone(s) for s in stmt.finalbody]
        return [resumed, *rest]
    if isinstance(stmt, ast.Try) and field == "handlers":
        # the rest of the except body, handling the same exception; then the finally body
        # (also when the handler raises), then what follows the try
        handler = stmt.handlers[inner]
        again = _rehandled(handled, handler, resume(handler.body, steps[2:], 0, 1))
        if not stmt.finalbody:
            return [again, *rest]
        guarded = ast.Try(body=[], handlers=[], orelse=[], finalbody=[])
        _hidden(guarded)
        guarded.body = [again]
        guarded.finalbody = [clone(s) for s in stmt.finalbody]
        return [mark_synthetic(guarded), *rest]
    if isinstance(stmt, (ast.Try, ast.TryStar)) and field == "finalbody":
        if not finals[0]:  # the copy run on leaving the try normally: then what follows it
            return [*resume(stmt.finalbody, steps[1:], 0, 0, 1), *rest]
        # the rest of a finally body run for an exception, which goes on afterwards (what
        # follows the try is never reached from here)
        return [_rehandled(handled, None, resume(stmt.finalbody, steps[1:], 0, 1, 1))]
    if isinstance(stmt, (ast.With, ast.AsyncWith)) and field == "body":
        names = [ast.Name(id=with_local(entered + i), ctx=ast.Load())
                 for i in range(len(stmt.items))]
        partial = resume(stmt.body, steps[1:], len(names))
        entry = type(stmt)(items=[ast.withitem(context_expr=name) for name in names], body=[])
        _hidden(entry)
        for name in names:
            # at the target's position: the continuation's first line event is the target's
            # (3.14 and 3.15 also fail to compile a `with` whose every part has none)
            ast.copy_location(name, at or stmt)
        entry.body = partial
        return [mark_synthetic(entry), *rest]
    raise AssertionError(f"cannot resume inside {type(stmt).__name__}")  # refused earlier


def resumed_body(new: FunctionVersion, target: ResumePoint,
                 copy_nodes: bool = True) -> list[ast.stmt]:
    """The statements the continuation runs (before its prologue). Without ``copy_nodes`` the
    result shares nodes with ``new``'s tree: fine for reading, not for compiling."""
    clone = _deep if copy_nodes else _same
    if target.path is None:
        return [clone(s) for s in new.logical.body]
    at = new.statements[target.path][0]
    return _resume_block(new.logical.body, target.path, target.mode, clone, 0, at, 0,
                         target.finals)


def target_reads(new: FunctionVersion, target: ResumePoint) -> frozenset[str]:
    """Locals of the new version that the continuation may read before assigning them."""
    local_names = set(new.varnames) | set(new.cellvars)
    return reads_before_assignment(resumed_body(new, target, copy_nodes=False)) & local_names


# --- compiling a continuation -----------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Continuation:
    """A compiled continuation and what its caller must pass it.

    It does not depend on which locals the frame has bound: every plain local of the new
    version is passed, the unbound ones as a sentinel that the prologue deletes again. So one
    continuation serves every frame that resumes at its target (all levels of a recursion),
    and it can be compiled before any frame gets there.
    """

    code: CodeType
    compiled: FunctionNode  # its transformed tree (its layout, should it be remapped again)
    first_param: str | None  # passed positionally: zero-argument super() needs it
    values: tuple[str, ...]  # plain locals unpacked from the hidden parameter, in order


def _declared(fn: FunctionNode) -> tuple[list[str], list[str]]:
    globals_: list[str] = []
    nonlocals: list[str] = []
    for stmt, _path in iter_statements(fn):
        if isinstance(stmt, ast.Global):
            globals_.extend(stmt.names)
        elif isinstance(stmt, ast.Nonlocal):
            nonlocals.extend(stmt.names)
    return globals_, nonlocals


def _placed(node: ast.AST, line: int) -> ast.AST:
    for item in ast.walk(node):
        if "lineno" in item._attributes and getattr(item, "lineno", None) is None:
            item.lineno = item.end_lineno = line  # type: ignore[attr-defined]
            item.col_offset = item.end_col_offset = 0  # type: ignore[attr-defined]
    return node


def _requalify(code: CodeType, old: str, new: str) -> CodeType:
    consts = tuple(
        _requalify(c, old, new) if isinstance(c, CodeType) else c for c in code.co_consts
    )
    qualname = code.co_qualname
    if qualname.startswith(old):
        qualname = new + qualname[len(old):]
    return code.replace(co_qualname=qualname, co_consts=consts)


def _mangling_class(qualname: str) -> str | None:
    """The innermost class around a function, from its qualified name (``A.f.<locals>.g``
    is in class ``A``; a name followed by ``<locals>`` is a function)."""
    parts = qualname.split(".")
    owner = None
    for name, following in itertools.pairwise(parts):
        if following != "<locals>" and name != "<locals>":
            owner = name
    return owner


def _first_positional(fn: FunctionNode) -> str | None:
    params = [*fn.args.posonlyargs, *fn.args.args]
    return params[0].arg if params else None


def _plain_locals(new: FunctionVersion, target: ResumePoint, skip: set[str]) -> tuple[str, ...]:
    """The locals a continuation unpacks: the new version's own, then the carried loop
    iterators, ``with`` items and handled exceptions under their hidden names."""
    return (
        tuple(sorted(name for name in new.varnames
                     if name not in skip and not name.startswith(HIDDEN_PREFIX)))
        + tuple(sorted(new_name for new_name, _at in target.loops))
        + tuple(with_local(i) for i in range(len(target.withs)))
        + tuple(handled_local(i) for i in range(len(target.handled)))
    )


def _prologue(globals_: list[str], nonlocal_names: list[str], values: tuple[str, ...]) -> list[
    ast.stmt
]:
    """``global``/``nonlocal`` declarations, then the locals from the hidden parameter::

        (a, b, __relive_u__) = __relive_v__
        if a is __relive_u__: del a          # unbound in the frame: unbound here too
        ...
        del __relive_u__, __relive_v__
    """
    prologue: list[ast.stmt] = []
    if globals_:
        prologue.append(ast.Global(names=sorted(set(globals_))))
    if nonlocal_names:
        prologue.append(ast.Nonlocal(names=nonlocal_names))
    prologue.append(ast.Assign(
        targets=[ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in (*values, _UNBOUND)],
                           ctx=ast.Store())],
        value=ast.Name(id=_VALUES, ctx=ast.Load()),
    ))
    for name in values:
        prologue.append(ast.If(
            test=ast.Compare(left=ast.Name(id=name, ctx=ast.Load()), ops=[ast.Is()],
                             comparators=[ast.Name(id=_UNBOUND, ctx=ast.Load())]),
            body=[ast.Delete(targets=[ast.Name(id=name, ctx=ast.Del())])], orelse=[],
        ))
    prologue.append(ast.Delete(targets=[ast.Name(id=_UNBOUND, ctx=ast.Del()),
                                        ast.Name(id=_VALUES, ctx=ast.Del())]))
    for stmt in prologue:
        _hidden(stmt)
        mark_synthetic(stmt)
    return prologue


def _generator_marker(new: FunctionVersion, body: list[ast.stmt]) -> None:
    """Keep a generator's continuation a generator even when the rest has no ``yield``."""
    if new.kind in ("generator", "async_generator"):
        never = ast.If(test=ast.Constant(value=False),
                       body=[ast.Expr(value=ast.Yield(value=None))], orelse=[])
        _hidden(never)
        body.append(mark_synthetic(never))


def _continuation_module(
    new: FunctionVersion, first: str | None, shared: list[str], body: list[ast.stmt],
    owner: str | None,
) -> ast.Module:
    """``[class <owner>:] def __relive_outer__(): <shared> = None; def <name>(...): body``.

    The outer function only makes the shared names cells, so that they are free variables of
    the continuation (its closure is made of the old frame's cells); it never runs. Inside a
    class, the compiler mangles ``__private`` names with the class's name: the skeleton of the
    innermost enclosing class makes it mangle them as in the original.
    """
    logical = new.logical
    line = new.firstlineno
    arguments = ast.arguments(
        posonlyargs=[ast.arg(arg=first)] if first else [],
        args=[], vararg=None,
        kwonlyargs=[ast.arg(arg=_VALUES)], kw_defaults=[None], kwarg=None, defaults=[],
    )
    extra = def_fields()
    is_async = isinstance(logical, ast.AsyncFunctionDef)
    node_type = ast.AsyncFunctionDef if is_async else ast.FunctionDef
    function = node_type(
        name=logical.name, args=arguments, body=body, decorator_list=[], returns=None, **extra,
    )
    outer = ast.FunctionDef(
        name=_OUTER,
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[
            *(ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(None))
              for n in shared),
            function,
        ],
        decorator_list=[], returns=None, **extra,
    )
    top: ast.stmt = outer
    if owner is not None:
        top = ast.ClassDef(name=owner, bases=[], keywords=[], body=[outer], decorator_list=[],
                           **extra)
    module = ast.Module(body=[top], type_ignores=[])
    _placed(module, line)
    function.lineno = outer.lineno = top.lineno = line
    return module


def build_continuation(new: FunctionVersion, target: ResumePoint) -> Continuation:
    """Compile the continuation of ``new`` at ``target``.

    The first positional parameter is passed positionally when the function uses
    zero-argument ``super()`` (which reads the frame's first argument); all other plain locals
    go through the hidden keyword-only parameter ``__relive_v__``; closure cells are given as
    the function's closure (see :func:`make_runner`).
    """
    logical = new.logical
    base = new.code
    if base is None:
        raise RuntimeError(f"{new.qualname}: the new code object no longer exists")
    line = new.firstlineno
    cells = [*new.cellvars, *new.freevars]
    first = _first_positional(logical) if "__class__" in new.freevars else None
    shared = [name for name in cells if name != first]
    values = _plain_locals(new, target, {*cells, *([first] if first else [])})

    globals_, _nonlocals = _declared(logical)
    prologue = _prologue(globals_, sorted(n for n in shared if n != "__class__"), values)
    body = resumed_body(new, target)
    _generator_marker(new, body)

    owner = _mangling_class(new.qualname)
    prefix = f"{_OUTER}.<locals>.{logical.name}"
    if owner is not None:
        prefix = f"{owner}.{prefix}"

    def module() -> ast.Module:
        return _continuation_module(new, first, shared, [*prologue, *body], owner)

    # Without nested functions, the kind and the cells of everything compiled are known (the
    # continuation's cells are the version's), so the symbol analysis compile can be skipped;
    # enc_compile_with_trees checks the prediction, and the slow way is taken if it was wrong.
    code: CodeType | None = None
    if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for b in body
               for n in ast.walk(b)):
        own_cells = (*shared, *([first] if first and first in new.cellvars else []))
        known: FunctionTable = {(line, logical.name): (new.kind, own_cells),
                                (line, _OUTER): ("function", tuple(shared))}
        try:
            code, trees = enc_compile_with_trees(module(), new.filename, new.flags,
                                                 functions=known)
        except RuntimeError:
            code = None
            body = resumed_body(new, target)  # the failed attempt transformed the first copy
            prologue = _prologue(globals_, sorted(n for n in shared if n != "__class__"), values)
            _generator_marker(new, body)
    if code is None:
        code, trees = enc_compile_with_trees(module(), new.filename, new.flags)
    compiled_code = find_code(code, prefix, line)
    compiled_tree = trees.get((line, logical.name))
    if compiled_code is None or compiled_tree is None:
        raise RuntimeError(f"{new.qualname}: its continuation could not be compiled in EnC mode")
    compiled_code = _requalify(compiled_code, prefix, new.qualname)
    _register(base, compiled_code, compiled_tree)
    for nested in iter_code_objects(compiled_code):
        if nested is compiled_code or nested.co_name == "<lambda>":
            continue
        nested_base = find_code(base, nested.co_qualname, nested.co_firstlineno)
        nested_tree = trees.get((nested.co_firstlineno, nested.co_name))
        if nested_base is not None and nested_tree is not None:
            _register(nested_base, nested, nested_tree)
    return Continuation(compiled_code, compiled_tree, first, values)


# --- derived code objects -------------------------------------------------------------------

_DERIVED: dict[int, list[tuple[weakref.ref[CodeType], FunctionNode]]] = {}


def _register(base: CodeType, derived: CodeType, tree: FunctionNode) -> None:
    key = id(base)

    def forget(_ref: object, key: int = key) -> None:
        _DERIVED.pop(key, None)

    entries = _DERIVED.get(key)
    if entries is None:
        entries = _DERIVED[key] = []
        # the base's lifetime bounds the entry: ids may be reused once it is gone
        weakref.finalize(base, forget, None)
    entries[:] = [(ref, t) for ref, t in entries if ref() is not None]
    entries.append((weakref.ref(derived), tree))


def register_alias(alias: CodeType, base: CodeType, tree: FunctionNode) -> None:
    """Declare that functions given ``alias`` still run ``base``'s version: a copy of
    ``base`` with something added outside the user's body (a debugger's entry hook), compiled
    from ``tree``. Its frames are remapped like frames of ``base``, and an apply treats a
    function holding it as holding ``base`` (see :func:`unalias`). The alias is kept on the
    tracked module of ``base`` (an apply only ever replaces code of tracked modules)."""
    _register(base, alias, tree)
    tracked = REGISTRY.for_code(base)
    if tracked is None:
        return
    tracked.aliases[id(alias)] = (weakref.ref(alias), base)
    weakref.finalize(alias, tracked.aliases.pop, id(alias), None)


def has_aliases() -> bool:
    return any(tracked.aliases for tracked in REGISTRY)


def unalias(code: CodeType) -> CodeType:
    """The code ``code`` stands for: ``base`` if it is a registered alias, else itself."""
    tracked = REGISTRY.for_code(code)
    entry = tracked.aliases.get(id(code)) if tracked is not None else None
    return entry[1] if entry is not None and entry[0]() is code else code


def derived_codes(base: CodeType) -> list[tuple[CodeType, FunctionNode]]:
    """Continuation code objects built from ``base`` (and nested functions compiled in them),
    each with the tree it was compiled from. Frames running them run ``base``'s version."""
    found: list[tuple[CodeType, FunctionNode]] = []
    for ref, tree in _DERIVED.get(id(base), ()):
        code = ref()
        if code is not None:
            found.append((code, tree))
    return found


# --- running a continuation -------------------------------------------------------------------

class _Unbound:
    """Stands for a local the frame has not bound (one fresh instance per run)."""


def make_runner(
    continuation: Continuation,
    globals_: dict[str, Any],
    state: Mapping[str, object],
    cells: Mapping[str, CellType],
    share_cells: frozenset[str],
) -> Callable[[], object]:
    """A zero-argument callable that starts the continuation.

    ``state`` holds the values of the frame's locals (and of the carried loop iterators under
    their new hidden names). ``cells`` are the old frame's closure cells by name; those named
    in ``share_cells`` are reused, every other cell of the continuation is made fresh from
    ``state``. Calling the result of a generator or coroutine continuation only creates the
    generator or coroutine object: the old frame's trailer drives it.
    """
    closure = []
    for name in continuation.code.co_freevars:
        cell = cells.get(name) if name in share_cells else None
        if cell is None:
            cell = CellType(state[name]) if name in state else CellType()
        closure.append(cell)
    function = FunctionType(continuation.code, globals_, None, None, tuple(closure))
    args = (state[continuation.first_param],) if continuation.first_param else ()
    unbound = _Unbound()
    values = (*(state.get(name, unbound) for name in continuation.values), unbound)
    # a partial, not a closure: a Python-level wrapper would show up in tracebacks
    return functools.partial(function, *args, **{_VALUES: values})


def any_derived() -> bool:
    """Has any continuation code been built (and not yet dropped)?"""
    return bool(_DERIVED)


def has_derived(base: CodeType) -> bool:
    """Are there live continuation code objects built from ``base``?"""
    entries = _DERIVED.get(id(base))
    return entries is not None and any(ref() is not None for ref, _tree in entries)
