"""The tree transform of EnC mode: each ``def`` body wrapped in a remap handler, followed by
the landing and the trailer (see :mod:`relive.runtime.enc` for the whole design)."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Sequence
from typing import Literal

from relive.runtime.enc.safety import (
    DefKey,
    FunctionTable,
)
from relive.runtime.enc.tree import (
    RESUME_NAME,
    SIGNAL_NAME,
    STRIP_NAME,
    FunctionKind,
    FunctionNode,
    annotate_function,
    child_blocks,
    function_kind,
    mark_remap_wrapper,
)

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


# What a transformation changed in a tree, to put it back (see enc_compile_with_trees): one
# call per change, run in reverse order.
Undo = list[Callable[[], None]]


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
    implicit_return = ast.Return(value=None)
    implicit_return.lineno, implicit_return.end_lineno = -1, -1
    implicit_return.col_offset, implicit_return.end_col_offset = -1, -1
    wrapper = ast.Try(body=[*body, implicit_return], handlers=[_remap_handler()], orelse=[],
                      finalbody=[])
    wrapper.lineno, wrapper.end_lineno, wrapper.col_offset, wrapper.end_col_offset = _NOWHERE
    mark_remap_wrapper(wrapper)
    pos = (fn.lineno, fn.lineno, fn.col_offset, fn.col_offset)
    fn.body = [*doc, wrapper, _landing([*doc, *body]),
               *_trailer(kind, sorted(set(cells)), pos)]


def _landing(body: list[ast.stmt]) -> ast.stmt:
    """``if __relive_strip__ is None: pass``, the ``pass`` on the line after the body's last.

    A frame inside a ``try`` or ``with`` block cannot be handed the remap signal (the block's
    handlers would run), so it is sent here by setting its ``f_lineno`` from the line event
    instead, which leaves every block around it without running any of their code. The
    ``pass`` is the only instruction on its line (a line no other instruction of the code
    has, hence the jump's target), at an empty value stack, and falls through to the trailer;
    the test is never true, so a frame reaches it only by that jump.
    """
    last = max([stmt.end_lineno or stmt.lineno for stmt in body if stmt.lineno > 0] or [0])
    target = ast.Pass()
    target.lineno, target.end_lineno, target.col_offset, target.end_col_offset = (
        last + 1, last + 1, 0, 4)
    test = ast.Compare(left=ast.Name(id=STRIP_NAME, ctx=ast.Load()), ops=[ast.Is()],
                       comparators=[ast.Constant(value=None)])
    landing = ast.If(test=test, body=[target], orelse=[])
    for node in (test, test.left, test.comparators[0], landing):
        node.lineno, node.end_lineno, node.col_offset, node.end_col_offset = _NOWHERE
    return landing


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
    found = annotated_functions(tree)
    for key, fn in found:
        transform_function(fn, *(table.get(key) or (function_kind(fn), ())))
    return tree


def annotated_functions(tree: ast.Module) -> list[tuple[DefKey, FunctionNode]]:
    """Every ``def`` of ``tree`` with its key, annotated. Every function is annotated before
    any is transformed: a transformation rewrites the body of its own function only, but the
    annotations of nested functions must see the user's source."""
    found: list[FunctionNode] = []
    _all_functions(tree.body, found)
    for fn in found:
        annotate_function(fn)
    return [((_first_line(fn), fn.name), fn) for fn in found]
