"""The statement tree of a function, as EnC mode and the remapper see it.

Remapping moves a frame from one version of a function to another by *statement*: a frame
stands before some statement of the old version, which the line map sends to a statement of
the new version. Statements are named by their *path* from the function (a tuple of steps,
each the field of the parent block and an index in it), recorded on the nodes by
:func:`annotate_function` before the EnC transformation inserts anything, so that paths always
name statements of the user's source, including in copies made for continuations.

This module also names what EnC code refers to: the hidden locals and the builtins.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from relive._cpython.code import FunctionKind

__all__ = [
    "FOR_PREFIX",
    "HIDDEN_PREFIX",
    "RESUME_NAME",
    "SIGNAL_NAME",
    "STRIP_NAME",
    "FunctionKind",
    "FunctionNode",
    "Path",
    "Step",
    "annotate_function",
    "child_blocks",
    "for_local",
    "function_kind",
    "is_remap_wrapper",
    "iter_statements",
    "loop_index",
    "mark_remap_wrapper",
    "mark_synthetic",
    "statement_path",
]

HIDDEN_PREFIX = "__relive_"
# Builtins that EnC code refers to (see `_install_builtins`). They end with "__" so that the
# compiler never mangles them inside classes.
SIGNAL_NAME = "__relive_RemapSignal__"
RESUME_NAME = "__relive_resume__"
STRIP_NAME = "__relive_strip__"
FOR_PREFIX = "__relive_for"

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

# One step of a statement path: the field of the parent that holds the block ("body",
# "orelse", "finalbody", "handlers", "cases") and the index in it. A handler or a match case
# is a step of its own, followed by ("body", i).
Step = tuple[str, int]
Path = tuple[Step, ...]

_PATH_ATTR = "_relive_path"
_LOOP_ATTR = "_relive_loop"
_WRAPPER_ATTR = "_relive_wrapper"
_SYNTHETIC_ATTR = "_relive_synthetic"


def for_local(index: int) -> str:
    """The hidden local of a continuation that holds the live iterator of the loops in slot
    ``index`` (see :func:`annotate_function`), carried from the frame it continues."""
    return f"{FOR_PREFIX}{index}__"


_BLOCK_FIELDS = ("body", "handlers", "orelse", "finalbody", "cases")


def child_blocks(stmt: ast.AST) -> Iterator[tuple[str, list[ast.AST]]]:
    for field in _BLOCK_FIELDS:
        value = getattr(stmt, field, None)
        if isinstance(value, list) and value:
            yield field, value


def iter_statements(fn: FunctionNode) -> Iterator[tuple[ast.stmt, Path]]:
    """Yield ``(statement, path)`` for every statement of ``fn``'s own scope, in source order.

    Nested function and class bodies are separate scopes (separate code objects) and are not
    entered. Exception handlers and match cases are traversed (their bodies hold statements)
    but are not statements themselves.
    """
    for index, stmt in enumerate(fn.body):
        yield from _walk_statement(stmt, (("body", index),))


def _walk_statement(stmt: ast.stmt, path: Path) -> Iterator[tuple[ast.stmt, Path]]:
    yield stmt, path
    for child, child_path in _inner_statements(stmt, path):
        yield from _walk_statement(child, child_path)


def _inner_statements(stmt: ast.stmt, path: Path) -> Iterator[tuple[ast.stmt, Path]]:
    """The statements directly inside ``stmt`` (at ``path``) with their paths, handlers' and
    match cases' bodies included; none for a nested function or class (another scope)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for field, items in child_blocks(stmt):
        for index, item in enumerate(items):
            step = (*path, (field, index))
            if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                for inner_index, inner in enumerate(item.body):
                    yield inner, (*step, ("body", inner_index))
            elif isinstance(item, ast.stmt):
                yield item, step


def annotate_function(fn: FunctionNode) -> None:
    """Record on each statement of ``fn`` its path, and on each ``for`` loop its slot.

    Paths and slots name statements of the *logical* function (the user's source), so they are
    taken before the EnC transformation inserts anything. Copies of annotated nodes
    (``copy.deepcopy``) keep the annotations, which is how a continuation's statements remember
    which statement of the function they stand for. Annotating twice changes nothing.

    A loop's slot is the number of ``for`` loops around it (a loop in another's ``else``
    counts as inside it: the outer iterator is only dropped after the ``else``). Loops with the
    same slot are never running at the same time, so a continuation names the iterator it
    carries for each by its slot.
    """

    def visit(stmt: ast.stmt, path: Path, depth: int) -> None:
        if getattr(stmt, _SYNTHETIC_ATTR, False):
            # a continuation's one-shot loop: not the user's, and holds no iterator
            inner = depth
        else:
            if not hasattr(stmt, _PATH_ATTR):
                setattr(stmt, _PATH_ATTR, path)
            is_loop = isinstance(stmt, (ast.For, ast.AsyncFor))
            if is_loop and not hasattr(stmt, _LOOP_ATTR):
                setattr(stmt, _LOOP_ATTR, depth)
            inner = depth + 1 if is_loop else depth
        for child, child_path in _inner_statements(stmt, path):
            visit(child, child_path, inner)

    for index, stmt in enumerate(fn.body):
        visit(stmt, (("body", index),), 0)


def mark_synthetic(stmt: ast.stmt) -> ast.stmt:
    """Mark a statement relive made up, so that :func:`annotate_function` leaves it (and its
    loop, if it is one) out of the logical function."""
    setattr(stmt, _SYNTHETIC_ATTR, True)
    return stmt


def statement_path(stmt: ast.AST) -> Path | None:
    """The logical path recorded by :func:`annotate_function`, or None for synthetic code."""
    path = getattr(stmt, _PATH_ATTR, None)
    return path if isinstance(path, tuple) else None


def mark_remap_wrapper(stmt: ast.stmt) -> ast.stmt:
    """Mark the synthetic ``try`` that EnC mode puts around a function body."""
    setattr(stmt, _WRAPPER_ATTR, True)
    return stmt


def is_remap_wrapper(stmt: ast.AST) -> bool:
    """True for the synthetic ``try`` that :func:`transform_function` puts around a body."""
    return getattr(stmt, _WRAPPER_ATTR, False) is True


def loop_index(stmt: ast.AST) -> int | None:
    """The loop index recorded by :func:`annotate_function`, or None for a synthetic loop."""
    index = getattr(stmt, _LOOP_ATTR, None)
    return index if isinstance(index, int) else None


def _own_scope_nodes(fn: FunctionNode) -> Iterator[ast.AST]:
    """All nodes of ``fn``'s own scope: nested functions, classes and lambdas are skipped."""
    stack: list[ast.AST] = [*fn.body]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # decorators, defaults and bases are evaluated in the enclosing scope
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend(node.bases)
                stack.extend(node.keywords)
            else:
                stack.extend(node.args.defaults)
                stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            # only the first iterable is evaluated in this scope
            stack.append(node.generators[0].iter)
            continue
        stack.extend(ast.iter_child_nodes(node))


def function_kind(fn: FunctionNode) -> FunctionKind:
    """Whether ``fn`` compiles to a plain function, generator, coroutine or async generator."""
    has_yield = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_scope_nodes(fn))
    if isinstance(fn, ast.AsyncFunctionDef):
        return "async_generator" if has_yield else "coroutine"
    return "generator" if has_yield else "function"
