"""Where a frame of an EnC code object can be remapped: the code's *layout*.

A remap opportunity is a line event at a statement boundary. Line events also fire in the
middle of statements (a multi-line expression, the loop of an inlined comprehension on 3.12+,
the ``a`` of ``a if b else c`` when ``b`` is on another line), so the line alone does not tell
whether the frame stands between two statements. The layout answers that question for every
instruction offset, once per code object, from the code and the (transformed) tree it was
compiled from:

- each instruction is *owned* by the innermost statement whose source span contains the
  instruction's position (positions are exact on 3.11+);
- an instruction *starts* its statement when control can reach it from an instruction owned by
  another statement (or from the function's entry): that is the first instruction of the
  statement, or the head of a loop reached from the end of its body;
- the value stack there must hold exactly what the enclosing loops keep on it (what each
  ``for`` holds: see :data:`relive._cpython.bytecode.FOR_STACK_ITEMS`), which a static
  stack-depth analysis checks; the items of one more ``for`` mean the frame is at the head of
  that loop, about to fetch the next item;
- outside every ``try`` and ``with`` of the tree, the innermost exception handler there must
  be the remap handler, so that the signal raised there is caught by the frame itself;
- inside the body (or ``else``) of a ``try`` and the body of a ``with`` or ``async with``, the
  signal would run the blocks' handlers, so the frame is moved by a jump instead (a *jump
  point*: its ``f_lineno`` is set to the code's landing line, see
  :mod:`relive.runtime.enc.transform`), which leaves the blocks without running their code.
  The point records where on the value stack each enclosing ``with`` keeps its exit, so that
  the continuation can take it along; the stack there must hold exactly the items of the
  enclosing loops and ``with`` blocks;
- an ``except`` body, and a ``finally`` body run for an exception, sit on the exception saved
  when they were entered (and the latter on the one raised): their points are jump points too,
  and record where each saved exception is, so that the continuation can handle the same
  exceptions again. The copy of a ``finally`` body run when its ``try`` is left normally has
  points as well; the copies run before a ``break``, ``continue`` or ``return`` that leaves
  the ``try``, and an ``except*`` body, offer none: what the frame must do once they end is
  not carried (see :func:`_normal_copies`).

Every rule errs on the side of *no point*: a frame that finds no point simply waits for the
next line. Anything the analysis does not understand (an inconsistent stack depth, say) makes
the whole code object offer no point at all.
"""

from __future__ import annotations

import ast
import bisect
import dis
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import CodeType
from typing import Literal

from relive._cpython.bytecode import FOR_STACK_ITEMS, WITH_STACK_ITEMS
from relive._cpython.exception_table import Entry, decode
from relive.runtime.enc import (
    SIGNAL_NAME,
    FunctionNode,
    Path,
    is_remap_wrapper,
    loop_index,
    statement_path,
)

__all__ = ["Layout", "Point", "PointMode", "compute_layout"]

PointMode = Literal["start", "head"]

_UNCONDITIONAL = frozenset({
    "JUMP_FORWARD",
    "JUMP_BACKWARD",
    "JUMP_BACKWARD_NO_INTERRUPT",
    "JUMP",
    "JUMP_NO_INTERRUPT",
    "RETURN_VALUE",
    "RETURN_CONST",
    "RAISE_VARARGS",
    "RERAISE",
})
# 3.14 gives END_ASYNC_FOR the offset of its loop's END_SEND as a jump-style argument, for
# branch monitoring to name where the loop came from; it never jumps there
_NOT_JUMPS = frozenset({dis.opmap["END_ASYNC_FOR"]})
_JUMPS = (frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
          | frozenset(getattr(dis, "hasjump", ()))) - _NOT_JUMPS


@dataclass(frozen=True)
class Point:
    """A statement boundary of the logical function: before ``path`` or at its loop head.

    ``withs`` is empty for a point reached by the remap signal. A jump point (inside a ``try``
    or ``with``) has ``jump`` set and gives, for each enclosing ``with`` item from the
    outermost, the value-stack index of its exit's first item (see
    :data:`relive._cpython.bytecode.WITH_STACK_ITEMS`)."""

    path: Path
    mode: PointMode
    jump: bool = False
    withs: tuple[int, ...] = ()
    # the value-stack index of each running ``for`` loop of the function around the point (and
    # of the loop itself at its head), by the loop's statement path: where its iterator is
    fors: tuple[tuple[Path, int], ...] = ()
    # for each ``except`` body or ``finally`` body entered by an exception around the point,
    # from the outermost, the value-stack index of the exception it saved on entry (the one
    # being handled around it; the innermost block's own is the frame's handled exception)
    handled: tuple[int, ...] = ()
    # for each finally body around the point, from the outermost: whether it is the copy run
    # for an exception (True) or the one run when its try is left normally
    finals: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Layout:
    """The remap points of one code object, by instruction offset."""

    points: Mapping[int, Point]
    reason: str | None = None  # why there are no points at all, when that is the case
    successors: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    handler: int | None = None  # offset of the remap handler
    landing: int | None = None  # the line a jump point's frame is sent to

    def next_points(self, offset: int, limit: int = 512) -> list[int]:
        """The remap points a frame at ``offset`` can reach first, found by walking the
        control flow; used to prepare continuations ahead of time. ``offset`` itself counts,
        and so do the points after it: a frame paused at a point (in the eval breaker of a
        loop's back jump, say) may already have had that point's line event."""
        # A frame inside a call reports the offset of the call's last inline cache entry
        # (3.12+): start from the instruction that contains it.
        starts = sorted(self.successors)
        index = bisect.bisect_right(starts, offset) - 1
        if index < 0:
            return []
        offset = starts[index]
        found: list[int] = []
        seen = {offset}
        todo = [offset]
        while todo and len(seen) < limit:
            current = todo.pop()
            if current in self.points:
                found.append(current)
                if current != offset:
                    continue
            for following in self.successors.get(current, ()):
                if following not in seen:
                    seen.add(following)
                    todo.append(following)
        return sorted(set(found))


@dataclass(frozen=True)
class _Context:
    """What the blocks around a statement of the compiled tree mean for a point there."""

    stack: int = 0  # value-stack items the enclosing blocks hold here
    handling: bool = False  # inside an except* body: no point
    blocked: bool = False  # inside a try, except, finally or with body: a jump point
    withs: tuple[int, ...] = ()  # stack index of each enclosing `with` item's exit
    fors: tuple[tuple[Path, int], ...] = ()  # stack index of each enclosing logical `for`
    handled: tuple[int, ...] = ()  # stack index of each enclosing handler's saved exception
    exceptional: bool = False  # in a finally body's copy run for an exception
    # each finally body around, outermost first: its try, and whether this is the copy run
    # for an exception (else the one run when the try is left normally)
    finals: tuple[tuple[ast.stmt, bool], ...] = ()


@dataclass(frozen=True)
class _StatementSpan:
    node: ast.stmt
    path: Path | None
    depth: int  # nesting depth in the compiled tree, to find the innermost owner
    context: _Context
    # where control goes when the statement ends normally: the next statement of its block,
    # or the loop whose body it ends (None: somewhere else)
    follows: ast.stmt | None = None


def _statements(fn: FunctionNode) -> list[_StatementSpan]:
    found: list[_StatementSpan] = []

    def visit(block: list[ast.stmt], depth: int, here: _Context,
              loop: ast.stmt | None = None) -> None:
        for index, stmt in enumerate(block):
            path = statement_path(stmt)
            follows = block[index + 1] if index + 1 < len(block) else loop
            found.append(_StatementSpan(stmt, path, depth, here, follows))
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            inner = depth + 1
            stack = here.stack
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                body = here
                if isinstance(stmt, (ast.For, ast.AsyncFor)):
                    items = FOR_STACK_ITEMS if isinstance(stmt, ast.For) else 1
                    running = here.fors if path is None else (*here.fors, (path, stack))
                    body = replace(here, stack=stack + items, fors=running)
                visit(stmt.body, inner, body, stmt)
                visit(stmt.orelse, inner, here)
            elif isinstance(stmt, ast.If):
                visit(stmt.body, inner, here)
                visit(stmt.orelse, inner, here)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    visit(case.body, inner, here)
            elif isinstance(stmt, (ast.Try, ast.TryStar)):
                guarded = replace(here, blocked=here.blocked or not is_remap_wrapper(stmt))
                visit(stmt.body, inner, guarded)
                visit(stmt.orelse, inner, guarded)
                # an except body sits on the exception it saved on entry (the one handled
                # around the try); an except* body on more, which no point carries
                handler = replace(here, stack=stack + 1, blocked=True,
                                  handling=here.handling or isinstance(stmt, ast.TryStar),
                                  handled=(*here.handled, stack))
                for clause in stmt.handlers:
                    visit(clause.body, inner, handler)
                # a finally body is compiled several times: the copy run for an exception
                # sits on the saved exception and the one raised; the copy run when the try
                # is left normally sits on nothing more (those run before a break, continue
                # or return also do, and offer no point: see _normal_copies)
                visit(stmt.finalbody, inner, replace(
                    here, stack=stack + 2, blocked=True, handled=(*here.handled, stack),
                    exceptional=True, finals=(*here.finals, (stmt, True))))
                visit(stmt.finalbody, inner, replace(
                    here, blocked=True, finals=(*here.finals, (stmt, False))))
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                exits = tuple(stack + WITH_STACK_ITEMS * i for i in range(len(stmt.items)))
                visit(stmt.body, inner, replace(
                    here, stack=stack + WITH_STACK_ITEMS * len(stmt.items), blocked=True,
                    withs=here.withs + exits))

    visit(fn.body, 0, _Context())
    return found


def _span(node: ast.AST) -> tuple[int, int, int, int] | None:
    line = getattr(node, "lineno", None)
    if line is None or line < 0:
        return None
    end_line = getattr(node, "end_lineno", None) or line
    col = getattr(node, "col_offset", None)
    end_col = getattr(node, "end_col_offset", None)
    return line, end_line, col if col is not None else -1, end_col if end_col is not None else -1


def _contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    line, end_line, col, end_col = outer
    i_line, i_end_line, i_col, i_end_col = inner
    if i_col < 0 or i_end_col < 0 or col < 0 or end_col < 0:
        return line <= i_line and i_end_line <= end_line
    return (line, col) <= (i_line, i_col) and (i_end_line, i_end_col) <= (end_line, end_col)


def _owners(
    instrs: list[dis.Instruction], statements: list[_StatementSpan]
) -> dict[int, list[_StatementSpan]]:
    """Offset -> the innermost statements containing the instruction (several when copies of
    one statement share a span, as in a continuation)."""
    by_line: dict[int, list[tuple[_StatementSpan, tuple[int, int, int, int]]]] = {}
    for stmt in statements:
        span = _span(stmt.node)
        if span is None:
            continue
        for line in range(span[0], span[1] + 1):
            by_line.setdefault(line, []).append((stmt, span))
    owners: dict[int, list[_StatementSpan]] = {}
    for instr in instrs:
        pos = instr.positions
        if pos is None or pos.lineno is None:
            continue
        ispan = (
            pos.lineno,
            pos.end_lineno if pos.end_lineno is not None else pos.lineno,
            pos.col_offset if pos.col_offset is not None else -1,
            pos.end_col_offset if pos.end_col_offset is not None else -1,
        )
        best: list[_StatementSpan] = []
        for stmt, span in by_line.get(pos.lineno, ()):
            if not _contains(span, ispan):
                continue
            if not best or stmt.depth > best[0].depth:
                best = [stmt]
            elif stmt.depth == best[0].depth:
                best.append(stmt)
        if best:
            owners[instr.offset] = best
    return owners


def _successors(instr: dis.Instruction, next_offset: int | None) -> Iterator[tuple[int, bool]]:
    """(offset, taken jump?) of each instruction that can follow ``instr``."""
    if instr.opcode in _JUMPS and isinstance(instr.argval, int):
        yield instr.argval, True
    if instr.opname not in _UNCONDITIONAL and next_offset is not None:
        yield next_offset, False


def _stack_depths(
    instrs: list[dis.Instruction], entries: list[Entry]
) -> dict[int, int] | None:
    """Value-stack depth before each reachable instruction, or None if the analysis fails."""
    at = {instr.offset: index for index, instr in enumerate(instrs)}
    depths: dict[int, int] = {}
    work: list[tuple[int, int]] = [(instrs[0].offset, 0)]
    for entry in entries:
        work.append((entry.target, entry.depth + (1 if entry.lasti else 0) + 1))
    while work:
        offset, depth = work.pop()
        known = depths.get(offset)
        if known is not None:
            if known != depth:
                return None
            continue
        if depth < 0 or offset not in at:
            return None
        depths[offset] = depth
        index = at[offset]
        instr = instrs[index]
        next_offset = instrs[index + 1].offset if index + 1 < len(instrs) else None
        if instr.opname == "EXTENDED_ARG":
            if next_offset is not None:
                work.append((next_offset, depth))
            continue
        arg = instr.arg if instr.opcode >= dis.HAVE_ARGUMENT else None
        for target, jumped in _successors(instr, next_offset):
            try:
                if instr.opname == "RETURN_GENERATOR":
                    # the frame resumes with the value sent in on the stack; 3.11 and 3.12
                    # report 0 here
                    effect = 1
                elif instr.opcode in _JUMPS:
                    effect = dis.stack_effect(instr.opcode, arg, jump=jumped)
                else:
                    effect = dis.stack_effect(instr.opcode, arg)
            except ValueError:
                return None
            work.append((target, depth + effect))
    return depths


def _handler_at(entries: list[Entry]) -> dict[int, int]:
    """Offset -> target of the innermost exception handler covering it."""
    covering: dict[int, int] = {}
    for entry in entries:
        for offset in range(entry.start, entry.end, 2):
            covering[offset] = entry.target
    return covering


def compute_layout(code: CodeType, fn: FunctionNode) -> Layout:
    """The remap points of ``code``, compiled in EnC mode from the transformed tree ``fn``."""
    if SIGNAL_NAME not in code.co_names:
        return Layout({}, "not compiled in EnC mode")
    instrs = list(dis.get_instructions(code))
    handler = _remap_handler(instrs)
    if handler is None:
        return Layout({}, "not compiled in EnC mode")
    entries = decode(code.co_exceptiontable)
    depths = _stack_depths(instrs, entries)
    if depths is None:
        return Layout({}, "the stack-depth analysis of this code object failed")
    statements = _statements(fn)
    owners = _owners(instrs, statements)
    landing = _landing(instrs, handler, depths)
    covering = _handler_at(entries)

    predecessors: dict[int, list[int]] = {}
    successors: dict[int, tuple[int, ...]] = {}
    for index, instr in enumerate(instrs):
        next_offset = instrs[index + 1].offset if index + 1 < len(instrs) else None
        following = tuple(target for target, _jumped in _successors(instr, next_offset))
        successors[instr.offset] = following
        for target in following:
            predecessors.setdefault(target, []).append(instr.offset)

    def key(offset: int) -> Path | None:
        found = owners.get(offset)
        return found[0].path if found else None

    # what runs without an exception: a finally body's copy for an exception is not in it
    normal: set[int] = set()
    todo = [instrs[0].offset]
    while todo:
        current = todo.pop()
        if current not in normal:
            normal.add(current)
            todo.extend(successors.get(current, ()))

    opnames = {instr.offset: instr.opname for instr in instrs}
    regions = _normal_copies(statements, owners, predecessors, successors, normal, opnames)
    points: dict[int, Point] = {}
    pending_prefix: list[int] = []  # EXTENDED_ARG offsets that lead to the next instruction
    for instr in instrs:
        if instr.opname == "EXTENDED_ARG":
            pending_prefix.append(instr.offset)
            continue
        prefix, pending_prefix = pending_prefix, []
        first = prefix[0] if prefix else instr.offset
        candidates = owners.get(instr.offset)
        depth = depths.get(first)
        if not candidates or depth is None:
            continue
        caught = all(covering.get(o) == handler for o in (*prefix, instr.offset))
        path = candidates[0].path
        if path is None:
            continue
        preds = predecessors.get(first, [])
        if preds and all(key(p) == path for p in preds):
            continue
        point: Point | None = None
        for stmt in candidates:
            ctx = stmt.context
            if ctx.handling or stmt.path != path:
                continue
            if (landing is None) if ctx.blocked else not caught:
                continue
            if ctx.exceptional and first in normal:
                continue
            if any(not exceptional and first not in regions.get(id(outer), ())
                   for outer, exceptional in ctx.finals):
                continue
            finals = tuple(exceptional for _outer, exceptional in ctx.finals)
            if depth == ctx.stack:
                point = Point(path, "start", ctx.blocked, ctx.withs, ctx.fors, ctx.handled,
                              finals)
            elif (
                depth == ctx.stack + FOR_STACK_ITEMS
                and isinstance(stmt.node, ast.For)
                and loop_index(stmt.node) is not None
            ):
                point = Point(path, "head", ctx.blocked, ctx.withs,
                              (*ctx.fors, (path, ctx.stack)), ctx.handled, finals)
        if point is not None:
            for offset in (*prefix, instr.offset):
                points[offset] = point
    return Layout(points, None, successors, handler, landing)


_JUMP_STATEMENTS = (ast.Break, ast.Continue, ast.Return)


def _normal_copies(
    statements: list[_StatementSpan], owners: Mapping[int, list[_StatementSpan]],
    predecessors: Mapping[int, list[int]], successors: Mapping[int, tuple[int, ...]],
    normal: set[int], opnames: Mapping[int, str],
) -> dict[int, set[int]]:
    """id(try) -> the offsets of the copy of its finally body that runs when the try is left
    normally (by the end of its body, ``else`` or a handler), for each try where that copy
    is told apart for sure.

    The compiler emits a finally body once more before each ``break``, ``continue`` or
    ``return`` that leaves the try; those copies end differently, and a frame moved from one
    would carry on wrongly. The copy wanted is the one entered from the try's own statements
    and from none of those, that goes on to the statement after the try (or back to the head
    of the loop whose body the try ends) and returns nowhere: when that does not single out
    one copy (a ``break`` that shares its line with an ``if``, an exit block the compiler
    duplicated, a try at the end of a block that is not a loop body), no copy has points.
    """
    def owned(offset: int, nodes: set[int]) -> bool:
        return any(id(span.node) in nodes for span in owners.get(offset, ()))

    def ids(blocks: list[list[ast.stmt]]) -> set[int]:
        return {id(node) for block in blocks for stmt in block for node in ast.walk(stmt)
                if isinstance(node, ast.stmt)}

    regions: dict[int, set[int]] = {}
    tries = {id(span.node): (span.node, span.follows) for span in statements
             if isinstance(span.node, (ast.Try, ast.TryStar)) and span.node.finalbody}
    for try_stmt, follows in tries.values():
        assert isinstance(try_stmt, (ast.Try, ast.TryStar))
        if follows is None:
            continue  # where the try goes next is not checked: no points
        final = ids([try_stmt.finalbody])
        inside = ids([try_stmt.body, try_stmt.orelse, *(h.body for h in try_stmt.handlers)])
        inside.add(id(try_stmt))
        first = try_stmt.finalbody[0]
        entries = []
        for offset in normal:
            if not any(span.node is first for span in owners.get(offset, ())):
                continue
            outside = [p for p in predecessors.get(offset, []) if not owned(p, final)]
            if outside and all(
                owned(p, inside)
                and not any(isinstance(span.node, _JUMP_STATEMENTS) for span in owners[p])
                for p in outside
            ):
                entries.append(offset)
        if len(entries) != 1:
            continue
        # the copy, and where it goes once it ends: to what follows the try, as a try left
        # normally does (a copy run on the way to a return returns, one run on the way to a
        # break jumps out of the loop: a try that never ends normally has no normal copy, and
        # its one copy found above is one of those)
        region: set[int] = set()
        exits: set[int] = set()
        todo = entries
        while todo:
            current = todo.pop()
            if current in region:
                continue
            if owned(current, final) or not owners.get(current):
                region.add(current)
                todo.extend(successors.get(current, ()))
            else:
                exits.add(current)
        after = ids([[follows]])
        returns = any(
            opnames.get(offset, "").startswith("RETURN")
            and not any(isinstance(span.node, ast.Return) and id(span.node) in final
                        for span in owners.get(offset, ()))
            for offset in region)
        if returns or not exits or not all(owned(offset, after) for offset in exits):
            continue
        regions[id(try_stmt)] = region
    return regions


def _landing(instrs: list[dis.Instruction], handler: int, depths: Mapping[int, int]) -> int | None:
    """The line jump points send a frame to: the landing ``pass`` after the remap handler, the
    only instruction on the code's last line, at an empty stack."""
    lines = [i.positions.lineno for i in instrs if i.positions and i.positions.lineno]
    if not lines:
        return None
    last = max(lines)
    on_last = [i for i in instrs if i.positions and i.positions.lineno == last]
    if (
        len(on_last) != 1
        or on_last[0].opname != "NOP"
        or on_last[0].offset < handler
        or depths.get(on_last[0].offset) != 0
    ):
        return None
    return last


def _remap_handler(instrs: list[dis.Instruction]) -> int | None:
    """Offset of the remap handler: the PUSH_EXC_INFO before the signal class's load."""
    last_push: int | None = None
    for instr in instrs:
        if instr.opname == "PUSH_EXC_INFO":
            last_push = instr.offset
        elif instr.opname == "LOAD_GLOBAL" and instr.argval == SIGNAL_NAME:
            return last_push
    return None
