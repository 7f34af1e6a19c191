"""EnC mode: compile Python source so that any frame of it can later be remapped.

A module loaded under relive is compiled in *EnC mode*, the way the .NET debugger must switch
Edit and Continue on when a module loads. This module owns that transformation. Each ``def``
and ``async def`` (methods and nested functions included; lambdas and class bodies are not
remapped) is compiled as::

    def f(a, b):
        "docstring stays first"
        try:
            <user body, unchanged except for `for` headers, see below>
            return                                   # the implicit return, made explicit
        except __relive_RemapSignal__:               # the remap handler
            pass
        try:                                         # the trailer: only reached after a remap
            return __relive_resume__(lambda: (cells...))()  # or `yield from`, `await`, or a
        except BaseException:                        # delegation loop (async generators)
            __relive_strip__()                       # drop this frame's traceback entry
            raise

and every ``for``/``async for`` of the function's own scope keeps its live iterator in a hidden
local ``__relive_for<N>__`` (``N`` is the number of ``for`` loops around it, so loops that never
run at the same time share one), deleted again when the loop is left.

Invariants, and why they hold:

- *Zero run-time cost.* A ``try`` costs nothing on 3.11+ until something is raised; the
  synthetic ``try``/``return`` carry no source position (``lineno = -1``), so the compiler emits
  exactly the instructions and line table it emits for the plain function. The only added work
  on the normal path is ``COPY 1; STORE_FAST`` when a loop starts and ``DELETE_FAST`` when it
  ends. The iterator is stored *after* ``GET_ITER``: the compiler emits
  ``COPY 1; STORE_FAST h; GET_ITER`` for ``for x in (h := it)`` and :func:`enc_compile` swaps
  that triple in place to ``GET_ITER; COPY 1; STORE_FAST h`` (same length, same positions: the
  walrus is given the position the compiler gives ``GET_ITER``, so the line table is unchanged).
- *Nothing a user sees changes.* Names, ``co_firstlineno``, ``co_qualname``, flags, docstrings,
  line numbers, tracebacks and tracing events of the user's code are those of a plain compile.
  The hidden names (loop iterators; async generators' delegation loop) all start with
  ``__relive_`` so that debuggers can filter them, and end with ``__`` so that the compiler
  does not mangle them inside classes.
- *Exceptions pass through untouched.* After compiling, the remap handler's reach is cut down
  to the offsets where a line event can fire, since the signal is only ever raised from one
  (:mod:`relive.runtime.enc_table`): an exception raised anywhere else (in a call, an
  operator, an attribute access...) unwinds through the frame exactly as through plain code
  (same events for ``sys.settrace`` and ``sys.monitoring``, same cost). Only an exception
  raised by the first instruction of a line enters the handler, is found not to be the signal
  and is re-raised unchanged (its traceback is not extended); ``sys.monitoring`` tools then
  see an ``EXCEPTION_HANDLED`` at :func:`remap_handler_offset`.
- *The handler binds no local.* A hidden local would cost every call of every function (the
  interpreter clears it on entry and on exit: about 3 % per local on a small function, as
  measured on 3.12), so the handler matches the signal by name and the trailer reaches its
  continuation through a builtin. The three builtins (``__relive_RemapSignal__``,
  ``__relive_resume__``, ``__relive_strip__``) are installed when this module is imported;
  EnC code only exists where this module compiled or loaded it. (Code run with a
  ``__builtins__`` that lacks them would turn an exception raised at a remap point into a
  ``NameError``.)
- *Cells stay shared.* A function that owns or uses closure cells passes them to the
  continuation through a lambda built in the trailer (it captures the frame's own cells), so
  that closures created before a remap and the remapped frame keep seeing the same variables.
  Which names are cells (and which functions are generators) is only known after symbol
  analysis, so :func:`enc_compile` first compiles the tree plainly and reads both from the
  code objects.
- *It never breaks a program.* The EnC code of a unit is checked against its plain code
  (:mod:`relive.runtime.enc_safety`); a function that cannot be compiled in EnC mode is
  compiled plainly, and reported (:func:`enc_compile_checked`): plain Python's verdict on a
  source is the only one that can fail an import.
- *The trailer has a line.* The trailer is given the ``def`` line so
  that ``frame.f_lineno`` of a frame that delegates to its continuation is a real line (tools
  such as ``inspect.stack()`` need one); the trailer only ever runs after a remap.
"""

from __future__ import annotations
import __future__

import ast
import copy
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any, Literal

from relive.runtime.enc_bytecode import (
    in_remap_machinery,
    is_enc_code,
    jump_targets,
    remap_handler_offset,
)
from relive.runtime.enc_bytecode import narrow_handlers as _narrow_handlers
from relive.runtime.enc_bytecode import (
    store_iterators_after_get_iter as _store_iterators_after_get_iter,
)
from relive.runtime.enc_runtime import RemapSignal, set_pending
from relive.runtime.enc_safety import (
    DefKey,
    Fallback,
    FunctionTable,
    code_kind,
    find_code,
    function_table,
    iter_code_objects,
    note_fallbacks,
    shape_problems,
    table_problems,
)
from relive.runtime.enc_tree import (
    HIDDEN_PREFIX,
    RESUME_NAME,
    SIGNAL_NAME,
    STRIP_NAME,
    FunctionKind,
    FunctionNode,
    Path,
    annotate_function,
    child_blocks,
    for_local,
    function_kind,
    is_remap_wrapper,
    iter_statements,
    loop_index,
    mark_remap_wrapper,
    mark_synthetic,
    statement_path,
)

__all__ = [
    "HIDDEN_PREFIX",
    "RESUME_NAME",
    "SIGNAL_NAME",
    "STRIP_NAME",
    "DefKey",
    "EncCompiled",
    "EncPredictionError",
    "Fallback",
    "FunctionKind",
    "FunctionTable",
    "Path",
    "RemapSignal",
    "TreeTable",
    "annotate_function",
    "code_kind",
    "enc_compile",
    "enc_compile_checked",
    "enc_compile_with_trees",
    "find_code",
    "for_local",
    "function_kind",
    "function_table",
    "future_flags",
    "in_remap_machinery",
    "is_enc_code",
    "is_remap_wrapper",
    "iter_code_objects",
    "iter_statements",
    "jump_targets",
    "loop_index",
    "mark_synthetic",
    "remap_handler_offset",
    "set_pending",
    "statement_path",
    "transform_function",
    "transform_module",
]

# --- building synthetic nodes ---------------------------------------------------------------

Position = tuple[int, int, int, int]  # lineno, end_lineno, col_offset, end_col_offset
_NOWHERE: Position = (-1, -1, -1, -1)
_CAPTURE = "__relive_capture__"  # placeholder in the trailer templates


def _clone(node: object, pos: Position, capture: ast.expr | None = None) -> object:
    """Copy a template tree, giving every node ``pos`` and substituting the capture slot.

    Cloning a tree parsed once is several times faster than parsing the text again for each
    function, and setting positions while copying avoids a second walk.
    """
    if isinstance(node, list):
        return [_clone(item, pos, capture) for item in node]
    if not isinstance(node, ast.AST):
        return node
    if capture is not None and isinstance(node, ast.Name) and node.id == _CAPTURE:
        return capture
    new = type(node)(**{f: _clone(getattr(node, f), pos, capture) for f in node._fields})
    if "lineno" in node._attributes:
        new.lineno, new.end_lineno, new.col_offset, new.end_col_offset = pos  # type: ignore[attr-defined]
    return new


_HANDLER = f"try:\n    pass\nexcept {SIGNAL_NAME}:\n    pass\n"

_STRIP = f"except BaseException:\n    {STRIP_NAME}()\n    raise\n"

_RUN = f"{RESUME_NAME}({_CAPTURE})()"

_TRAILERS: dict[FunctionKind, str] = {
    "function": f"try:\n    return {_RUN}\n{_STRIP}",
    "generator": f"try:\n    return (yield from {_RUN})\n{_STRIP}",
    "coroutine": f"try:\n    return await {_RUN}\n{_STRIP}",
    # `async for` would not forward asend()/athrow()/aclose(); delegate by hand. (These
    # locals cost a little when an async generator is created, not on each step.)
    "async_generator": (
        f"__relive_g__ = {_RUN}\n"
        "__relive_m__ = __relive_g__.asend\n"
        "__relive_x__ = None\n"
        "while True:\n"
        "    try:\n"
        "        __relive_y__ = await __relive_m__(__relive_x__)\n"
        "    except StopAsyncIteration:\n"
        "        return\n"
        + "".join(f"    {line}\n" for line in _STRIP.splitlines())
        + "    try:\n"
        "        __relive_x__ = yield __relive_y__\n"
        "    except GeneratorExit:\n"
        "        await __relive_g__.aclose()\n"
        "        raise\n"
        "    except BaseException as __relive_e__:\n"
        "        __relive_x__ = __relive_e__\n"
        "        __relive_m__ = __relive_g__.athrow\n"
        "    else:\n"
        "        __relive_m__ = __relive_g__.asend\n"
    ),
}


@functools.cache
def _template(kind: FunctionKind | Literal["handler"]) -> list[ast.stmt]:
    if kind == "handler":
        return ast.parse(_HANDLER).body
    # Parse inside a function of the right kind so that `yield`/`await` are accepted.
    header = "async def _():\n" if kind in ("coroutine", "async_generator") else "def _():\n"
    body = "".join(f"    {line}\n" for line in _TRAILERS[kind].splitlines())
    fn = ast.parse(header + body).body[0]
    assert isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    return fn.body


def _remap_handler() -> ast.ExceptHandler:
    try_stmt = _template("handler")[0]
    assert isinstance(try_stmt, ast.Try)
    handler = _clone(try_stmt.handlers[0], _NOWHERE)
    assert isinstance(handler, ast.ExceptHandler)
    return handler


def _trailer(kind: FunctionKind, cells: Sequence[str], pos: Position) -> list[ast.stmt]:
    """The code that runs the continuation once the remap handler has caught the signal.

    It is outside the ``except`` block on purpose: inside it, the signal would be the exception
    being handled, and would become the ``__context__`` of anything the new code raises. Its
    ``except`` clause drops this frame's traceback entry so that a traceback through a remapped
    frame reads as if the new code had been running all along. ``cells`` become a lambda that
    captures the frame's own closure cells (see the module docstring).
    """
    capture: ast.expr
    if cells:
        capture = ast.Lambda(
            args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                               kw_defaults=[], kwarg=None, defaults=[]),
            body=ast.Tuple(elts=[ast.Name(id=name, ctx=ast.Load()) for name in cells],
                           ctx=ast.Load()),
        )
    else:
        capture = ast.Constant(value=None)
    for node in ast.walk(capture):
        if "lineno" in node._attributes:
            node.lineno, node.end_lineno, node.col_offset, node.end_col_offset = pos  # type: ignore[attr-defined]
    body = _clone(_template(kind), pos, capture)
    assert isinstance(body, list)
    return body


def _iter_position(stmt: ast.For | ast.AsyncFor) -> Position:
    """The position the compiler gives to ``GET_ITER`` of this loop (see module docstring)."""
    node: ast.AST = stmt.iter if sys.version_info >= (3, 13) else stmt
    line: int = node.lineno  # type: ignore[attr-defined]
    end_line: int | None = node.end_lineno  # type: ignore[attr-defined]
    col: int = node.col_offset  # type: ignore[attr-defined]
    end_col: int | None = node.end_col_offset  # type: ignore[attr-defined]
    return line, end_line if end_line is not None else line, col, (
        end_col if end_col is not None else col
    )


# What a transformation changed in a tree, to put it back (see enc_compile_with_trees): one
# call per change, run in reverse order.
Undo = list[Callable[[], None]]


def _restore_list(items: list[Any], saved: list[Any]) -> None:
    items[:] = saved


def _keep_iterator(stmt: ast.For | ast.AsyncFor, name: str, undo: Undo | None = None) -> None:
    """Rewrite the loop header so that the iterator is also stored in ``name``."""
    iterable = stmt.iter
    if undo is not None:
        undo.append(functools.partial(setattr, stmt, "iter", iterable))
    # CPython turns a list display iterated by `for` into a tuple, and a set of constants into
    # a frozenset constant; do it here since the walrus would hide the display from it.
    if isinstance(iterable, ast.List):
        iterable = ast.copy_location(ast.Tuple(elts=iterable.elts, ctx=ast.Load()), iterable)
    elif isinstance(iterable, ast.Set) and all(isinstance(e, ast.Constant) for e in iterable.elts):
        values = frozenset(e.value for e in iterable.elts)  # type: ignore[attr-defined]
        # compile() accepts frozenset constants; the AST stubs do not say so
        iterable = ast.copy_location(ast.Constant(value=values), iterable)  # type: ignore[arg-type]
    pos = _iter_position(stmt)
    target = ast.Name(id=name, ctx=ast.Store())
    walrus = ast.NamedExpr(target=target, value=iterable)
    for node in (target, walrus):
        node.lineno, node.end_lineno, node.col_offset, node.end_col_offset = pos
    stmt.iter = walrus


def _delete(name: str) -> ast.stmt:
    node = ast.Delete(targets=[ast.Name(id=name, ctx=ast.Del())])
    for item in (node, node.targets[0]):
        item.lineno, item.end_lineno, item.col_offset, item.end_col_offset = _NOWHERE
    return node


def _rewrite_loops(block: list[ast.stmt], undo: Undo | None = None) -> None:
    """Keep the iterator of each annotated loop of this block (recursively) in a hidden local."""
    index = 0
    saved = undo is None
    while index < len(block):
        stmt = block[index]
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for _field, items in child_blocks(stmt):
                for item in items:
                    if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                        _rewrite_loops(item.body, undo)
                if isinstance(items[0], ast.stmt):
                    _rewrite_loops(items, undo)  # type: ignore[arg-type]
            loop = loop_index(stmt)
            if isinstance(stmt, (ast.For, ast.AsyncFor)) and loop is not None:
                name = for_local(loop)
                _keep_iterator(stmt, name, undo)
                if not saved and undo is not None:
                    undo.append(functools.partial(_restore_list, block, list(block)))
                    saved = True
                block.insert(index + 1, _delete(name))
                index += 1
        index += 1


def _has_docstring(fn: FunctionNode) -> bool:
    first = fn.body[0] if fn.body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def transform_function(fn: FunctionNode, kind: FunctionKind, cells: Sequence[str],
                       undo: Undo | None = None) -> None:
    """Apply the EnC transformation to ``fn`` in place (not to its nested functions).

    ``fn`` must have been annotated (:func:`annotate_function`). ``kind`` must be what ``fn``
    compiles to and ``cells`` the names of its closure cells (``co_cellvars`` and
    ``co_freevars`` of its code), in any order. ``undo`` receives what puts ``fn`` back.
    """
    if undo is not None:
        undo.append(functools.partial(setattr, fn, "body", fn.body))
    doc = fn.body[:1] if _has_docstring(fn) else []
    body = fn.body[len(doc):]
    _rewrite_loops(body, undo)
    implicit_return = ast.Return(value=None)
    implicit_return.lineno, implicit_return.end_lineno = -1, -1
    implicit_return.col_offset, implicit_return.end_col_offset = -1, -1
    wrapper = ast.Try(body=[*body, implicit_return], handlers=[_remap_handler()], orelse=[],
                      finalbody=[])
    wrapper.lineno, wrapper.end_lineno, wrapper.col_offset, wrapper.end_col_offset = _NOWHERE
    mark_remap_wrapper(wrapper)
    pos = (fn.lineno, fn.lineno, fn.col_offset, fn.col_offset)
    fn.body = [*doc, wrapper, *_trailer(kind, sorted(set(cells)), pos)]


def _first_line(fn: FunctionNode) -> int:
    """``co_firstlineno`` of the code compiled from ``fn`` (its first decorator's line)."""
    return min([fn.lineno, *(d.lineno for d in fn.decorator_list)])


def _all_functions(block: list[ast.stmt], found: list[FunctionNode]) -> None:
    """Every ``def`` in ``block``, at any depth. Definitions are statements, so only statement
    blocks need to be walked (lambdas, the only functions inside expressions, are skipped)."""
    for stmt in block:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(stmt)
        for _field, items in child_blocks(stmt):
            for item in items:
                if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    _all_functions(item.body, found)
            if isinstance(items[0], ast.stmt):
                _all_functions(items, found)  # type: ignore[arg-type]


def transform_module(tree: ast.Module, functions: FunctionTable | None = None) -> ast.Module:
    """Apply the EnC transformation, in place, to every function of ``tree``.

    ``functions`` maps ``(co_firstlineno, co_name)`` of each function to its kind and closure
    cell names, as a plain compile of the same tree reports them (:func:`function_table`); a
    function missing from it is analysed from its tree and taken to have no cells.
    """
    table: FunctionTable = functions or {}
    found = _annotated_functions(tree)
    for key, fn in found:
        transform_function(fn, *(table.get(key) or (function_kind(fn), ())))
    return tree


def _annotated_functions(tree: ast.Module) -> list[tuple[DefKey, FunctionNode]]:
    """Every ``def`` of ``tree`` with its key, annotated. Every function is annotated before
    any is transformed: a transformation rewrites the body of its own function only, but the
    annotations of nested functions must see the user's source."""
    found: list[FunctionNode] = []
    _all_functions(tree.body, found)
    for fn in found:
        annotate_function(fn)
    return [((_first_line(fn), fn.name), fn) for fn in found]


# --- compiling --------------------------------------------------------------------------------

TreeTable = dict[DefKey, FunctionNode]
Prologue = Mapping[DefKey, Callable[[FunctionNode], list[ast.stmt]]]


class EncPredictionError(RuntimeError):
    """The kinds and cells given for the functions of a tree (``functions=``) were wrong, or
    the tree did not compile in EnC mode; the caller compiles the slow way."""


@dataclass(frozen=True)
class EncCompiled:
    """The result of an EnC compile: the code, the transformed tree of each function compiled
    in EnC mode (by :data:`DefKey`), and the units compiled plainly instead, with why."""

    code: CodeType
    trees: TreeTable
    fallbacks: tuple[Fallback, ...] = ()


# Each round of the safety net compiles plainly at least one more function; past this many,
# the whole unit is compiled plainly (a unit that keeps failing is not worth more compiles).
_MAX_ROUNDS = 4


def enc_compile_checked(
    source: str | bytes | ast.Module,
    filename: str,
    flags: int = 0,
    dont_inherit: bool = True,
    optimize: int = -1,
    *,
    plain: CodeType | None = None,
    functions: FunctionTable | None = None,
    prologue: Prologue | None = None,
) -> EncCompiled:
    """Compile ``source`` in EnC mode, checked against its plain compile, never failing where
    the plain compile succeeds (the safety net).

    The EnC code is checked against the plain code of the same tree, code object by code
    object (:func:`relive.runtime.enc_safety.shape_problems`). A function whose transformation
    raises, does not compile (CPython's limits: the remap ``try`` is one more nested block) or
    does not check is compiled plainly, and the rest again; when what failed cannot be told
    apart, the whole unit is plain code. Each is a :class:`Fallback` in the result: it runs
    and takes edits, but its running frames cannot be remapped (rude edit RL5002).

    ``plain`` is the plain code of ``source`` if the caller has it (then a tree passed in is
    transformed *in place*: the caller made it for this call). ``functions`` instead *predicts*
    the kind and cells of each function (a tree passed in is also transformed in place); the
    prediction is checked and :class:`EncPredictionError` raised when it, or the compile,
    fails: there is no plain code to fall back to. With neither, a tree is copied and
    compiled plainly first. SyntaxError and ValueError of the plain compile propagate, as from
    ``compile``.
    """
    if isinstance(source, ast.Module):
        tree = source if plain is not None or functions is not None else copy.deepcopy(source)
    else:
        tree = ast.parse(source, filename, "exec")
    if plain is None and functions is None:
        # A plain compile of the same tree tells each function's kind and closure cells
        # exactly (symbol analysis is the compiler's); compiling an AST does not modify it.
        plain = compile(tree, filename, "exec", flags, dont_inherit, optimize)
    table: FunctionTable = function_table(plain) if plain is not None else functions or {}
    try:
        return _checked_rounds(tree, filename, (flags, dont_inherit, optimize), table, plain,
                               prologue)
    except EncPredictionError:
        raise
    except Exception as exc:  # a relive bug anywhere in the net itself: plain code still runs
        if plain is None:
            raise EncPredictionError(f"{filename}: {type(exc).__name__}: {exc}") from exc
        return _whole_unit_plain(plain, f"{type(exc).__name__}: {exc}")


def _checked_rounds(
    tree: ast.Module, filename: str, options: tuple[int, bool, int], table: FunctionTable,
    plain: CodeType | None, prologue: Prologue | None,
) -> EncCompiled:
    """The rounds of :func:`enc_compile_checked`, each with one more function plain."""
    found = _annotated_functions(tree)  # the transformation adds no ``def``
    plain_units: dict[DefKey, str] = {}
    problems: dict[DefKey | None, str] = {}
    for _round in range(_MAX_ROUNDS):
        undo: Undo = []
        compiled, problems = _try_enc(tree, filename, options, found, table, plain,
                                      plain_units, prologue, undo)
        if compiled is not None:
            if plain_units:
                note_fallbacks(compiled.code, plain_units)
            return compiled
        if plain is None:
            raise EncPredictionError(f"{filename}: {'; '.join(problems.values())}")
        for restore in reversed(undo):
            restore()
        blamed = {key: detail for key, detail in problems.items()
                  if key is not None and key not in plain_units}
        if None in problems or not blamed:
            break
        plain_units.update(blamed)
    assert plain is not None  # the loop raised otherwise
    return _whole_unit_plain(plain, "; ".join(problems.values()) or "it kept failing")


def _whole_unit_plain(plain: CodeType, detail: str) -> EncCompiled:
    note_fallbacks(plain, {}, everything=detail)
    return EncCompiled(plain, {}, (Fallback("<module>", plain.co_firstlineno, detail),))


def _try_enc(
    tree: ast.Module, filename: str, options: tuple[int, bool, int],
    found: list[tuple[DefKey, FunctionNode]], table: FunctionTable, plain: CodeType | None,
    plain_units: Mapping[DefKey, str], prologue: Prologue | None, undo: Undo,
) -> tuple[EncCompiled | None, dict[DefKey | None, str]]:
    """One round of :func:`enc_compile_checked`: the functions not in ``plain_units``
    transformed, the tree compiled and checked. Returns the result, or what failed."""
    problems: dict[DefKey | None, str] = {}
    trees: TreeTable = {}
    for key, fn in found:
        if key in plain_units:
            continue
        try:
            transform_function(fn, *(table.get(key) or (function_kind(fn), ())), undo=undo)
        except Exception as exc:  # a relive bug on some shape of function: that one is plain
            problems[key] = f"the transformation failed: {type(exc).__name__}: {exc}"
        trees[key] = fn
    if problems:
        return None, problems
    try:
        if prologue:
            _add_prologues(trees, prologue)
        code = compile(tree, filename, "exec", *options)
    except Exception as exc:  # CPython's limits, a relive bug: find whom to blame
        return None, {_blame(exc, found, plain_units): f"{type(exc).__name__}: {exc}"}
    problems = shape_problems(plain, code) if plain is not None else table_problems(table, code)
    if problems:
        return None, problems
    try:
        code = _narrow_handlers(_store_iterators_after_get_iter(code), trees)
    except Exception as exc:  # pragma: no cover - would be a relive bug
        return None, {None: f"rewriting its bytecode failed: {type(exc).__name__}: {exc}"}
    fallbacks = tuple(
        Fallback(item.co_qualname, item.co_firstlineno,
                 plain_units[(item.co_firstlineno, item.co_name)])
        for item in iter_code_objects(code)
        if (item.co_firstlineno, item.co_name) in plain_units and not is_enc_code(item)
    )
    return EncCompiled(code, trees, fallbacks), {}


def _blame(exc: Exception, found: list[tuple[DefKey, FunctionNode]],
           plain_units: Mapping[DefKey, str]) -> DefKey | None:
    """The innermost transformed function around the line a compile error names (None when
    it names none: the whole unit is to blame)."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if not isinstance(line, int):
        return None
    best: tuple[DefKey, int] | None = None
    for key, fn in found:
        end = getattr(fn, "end_lineno", None) or fn.lineno
        if key not in plain_units and key[0] <= line <= end and (
                best is None or fn.lineno > best[1]):
            best = key, fn.lineno
    return best[0] if best is not None else None


def enc_compile_with_trees(
    source: str | bytes | ast.Module,
    filename: str,
    flags: int = 0,
    dont_inherit: bool = True,
    optimize: int = -1,
    *,
    plain: CodeType | None = None,
    functions: FunctionTable | None = None,
    prologue: Prologue | None = None,
) -> tuple[CodeType, TreeTable]:
    """Like :func:`enc_compile`, and also return the transformed tree of every function
    compiled in EnC mode (see :func:`enc_compile_checked` for the arguments).

    The trees are keyed by ``(co_firstlineno, co_name)`` of the function's code object and
    carry the annotations of :func:`annotate_function`; the remapper reads a frame's position
    in them. A function compiled plainly by the safety net has no tree.

    ``prologue`` gives, for the functions it names (keyed like the trees), statements to run
    first on entry, before the remap handler's ``try`` (a debugger's entry hook): they are
    outside the user's body, so remap points and statement paths stay those of the plain EnC
    code.
    """
    compiled = enc_compile_checked(source, filename, flags, dont_inherit, optimize,
                                   plain=plain, functions=functions, prologue=prologue)
    return compiled.code, compiled.trees


def _add_prologues(trees: TreeTable, prologue: Prologue) -> None:
    for key, make in prologue.items():
        fn = trees.get(key)
        if fn is not None:
            at = next(i for i, stmt in enumerate(fn.body) if is_remap_wrapper(stmt))
            fn.body[at:at] = make(fn)


_FUTURE_FLAGS = __future__.annotations.compiler_flag | __future__.barry_as_FLUFL.compiler_flag


def future_flags(code: CodeType) -> int:
    """The ``from __future__`` compiler flags ``code`` was compiled with. Compile a unit for
    a function with ``enc_compile(unit, filename, flags=future_flags(old_code))`` when the
    unit does not repeat the module's ``from __future__`` imports."""
    return code.co_flags & _FUTURE_FLAGS


def enc_compile(
    source: str | bytes | ast.Module,
    filename: str,
    mode: str = "exec",
    flags: int = 0,
    dont_inherit: bool = True,
    optimize: int = -1,
) -> CodeType:
    """Compile ``source`` in EnC mode; the arguments mean what they mean for ``compile``.

    A tree passed in is not modified. Only ``mode="exec"`` is supported (functions can only be
    defined by statements). The result behaves as ``compile(source, ...)`` would, and every
    function in it can be remapped (see the module docstring).
    """
    if mode != "exec":
        raise ValueError("EnC mode compiles modules only (mode='exec')")
    return enc_compile_checked(source, filename, flags, dont_inherit, optimize).code
