"""Compiling in EnC mode: transform, compile, check against the plain code (the safety net),
then rewrite the bytecode (see :mod:`relive.runtime.enc` for the whole design)."""

from __future__ import annotations
import __future__

import ast
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType

from relive.runtime.enc.bytecode import (
    is_enc_code,
)
from relive.runtime.enc.bytecode import narrow_handlers as _narrow_handlers
from relive.runtime.enc.safety import (
    DefKey,
    Fallback,
    FunctionTable,
    function_table,
    iter_code_objects,
    note_fallbacks,
    shape_problems,
    table_problems,
)
from relive.runtime.enc.transform import Undo, annotated_functions, transform_function
from relive.runtime.enc.tree import (
    FunctionNode,
    function_kind,
    is_remap_wrapper,
)

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
    object (:func:`relive.runtime.enc.safety.shape_problems`). A function whose transformation
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
        return whole_unit_plain(plain, f"{type(exc).__name__}: {exc}")


def _checked_rounds(
    tree: ast.Module, filename: str, options: tuple[int, bool, int], table: FunctionTable,
    plain: CodeType | None, prologue: Prologue | None,
) -> EncCompiled:
    """The rounds of :func:`enc_compile_checked`, each with one more function plain."""
    found = annotated_functions(tree)  # the transformation adds no ``def``
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
    return whole_unit_plain(plain, "; ".join(problems.values()) or "it kept failing")


def whole_unit_plain(plain: CodeType, detail: str) -> EncCompiled:
    """``plain`` as the result of an EnC compile: the whole unit compiled plainly (RL5002)."""
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
        code = _narrow_handlers(code, trees)
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
