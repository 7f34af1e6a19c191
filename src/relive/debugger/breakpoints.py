"""The breakpoint table and the index of code objects per file.

A breakpoint names a file and a line. It binds to the code objects of that file whose line
table contains the line; until the file's code is seen (the module is not imported yet) the
breakpoint is *pending* and binds as soon as the engine indexes that code. A requested line
without code moves to the next line that has some, and the breakpoint says so.

Invariants:

- ``BreakpointTable.lines_for(path)`` is the exact set of lines at which a stop may be
  considered for ``path``; the backends enable line events only on code objects that own
  one of these lines (plus stepping, which is separate).
- Nothing here evaluates user code: conditions and log messages are evaluated by the engine
  on the program's thread.
"""

from __future__ import annotations

import linecache
import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import CodeType

from relive.debugger.model import BreakpointInfo
from relive.debugger.paths import canonical


class BreakpointError(ValueError):
    """A breakpoint request that cannot be honoured; the message says what to do instead."""


def code_lines(code: CodeType) -> frozenset[int]:
    """The lines that own at least one instruction of ``code`` (not of nested code), not
    counting EnC mode's remap machinery after the body (its trailer carries the ``def``
    line, which of a decorated function is not the first line of the code)."""
    from relive.runtime.enc import remap_handler_offset

    end = remap_handler_offset(code)
    return frozenset(line for start, _, line in code.co_lines()
                     if line is not None and (end is None or start < end))


def walk_code(code: CodeType) -> Iterator[CodeType]:
    """``code`` and every code object nested in it (functions, classes, lambdas, ...)."""
    stack = [code]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in current.co_consts if isinstance(c, CodeType))


def body_first_line(code: CodeType) -> int:
    """The first line of a function's body: where a function breakpoint stops.

    The header instructions (``RESUME`` and friends) carry the first line of the
    definition (its first decorator, if any); the body is the lowest other line.
    """
    others = [line for line in code_lines(code) if line != code.co_firstlineno]
    return min(others) if others else code.co_firstlineno


def source_lines_with_code(path: str) -> frozenset[int]:
    """Lines of the file at ``path`` that own code, from compiling its current text.

    Raises :class:`BreakpointError` when the file cannot be read or compiled.
    """
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise BreakpointError(f"cannot read {path}: {exc.strerror}; check the file name") from None
    key = (path, stat.st_mtime_ns, stat.st_size)
    cached = _LINES_CACHE.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    linecache.checkcache(path)
    text = "".join(linecache.getlines(path))
    try:
        code = compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise BreakpointError(f"cannot compile {path}: {exc}; fix the file first") from None
    lines = frozenset(line for c in walk_code(code) for line in code_lines(c))
    _LINES_CACHE[path] = (key, lines)
    return lines


_LINES_CACHE: dict[str, tuple[tuple[str, int, int], frozenset[int]]] = {}


class CodeIndex:
    """Code objects seen so far, per canonical file, held weakly.

    Fed by the engine with module code as it is executed (and with the code of functions
    found on the heap when a breakpoint names a file that was loaded before the engine).

    Keyed by identity: code objects compare equal by value, and two loads of one file (a
    reload, an edit that only moved lines back) give equal but distinct code objects that
    all need their own events.
    """

    def __init__(self) -> None:
        self._by_path: dict[str, weakref.WeakValueDictionary[int, CodeType]] = {}
        self._seen: weakref.WeakValueDictionary[int, CodeType] = weakref.WeakValueDictionary()

    def add_tree(self, code: CodeType) -> list[CodeType]:
        """Index ``code`` and its nested code; returns the code objects that were new."""
        new = []
        for c in walk_code(code):
            if self._seen.get(id(c)) is c:
                continue
            self._seen[id(c)] = c
            path = canonical(c.co_filename)
            self._by_path.setdefault(path, weakref.WeakValueDictionary())[id(c)] = c
            new.append(c)
        return new

    def codes(self, path: str) -> list[CodeType]:
        return list(self._by_path.get(path, {}).values())

    def has(self, path: str) -> bool:
        return bool(self._by_path.get(path))

    def all_codes(self) -> Iterator[CodeType]:
        for codes in list(self._by_path.values()):
            yield from list(codes.values())


@dataclass
class Breakpoint:
    """A breakpoint as the table holds it (mutable: hit counts change)."""

    id: int
    path: str
    line: int
    requested_line: int
    verified: bool
    enabled: bool = True
    condition: str | None = None
    ignore: int = 0
    log_message: str | None = None
    temporary: bool = False
    function: str | None = None
    hits: int = 0
    message: str | None = None
    compiled_condition: CodeType | None = field(default=None, repr=False)

    def info(self) -> BreakpointInfo:
        return BreakpointInfo(
            id=self.id,
            path=self.path,
            line=self.line,
            requested_line=self.requested_line,
            verified=self.verified,
            enabled=self.enabled,
            condition=self.condition,
            hit_condition=self.ignore,
            log_message=self.log_message,
            temporary=self.temporary,
            function=self.function,
            hits=self.hits,
            message=self.message,
        )


@dataclass(frozen=True)
class FunctionBreakpointSpec:
    """A function breakpoint still looking for its function (``qualname`` or a suffix of
    it after a dot, optionally limited to one file)."""

    id: int
    name: str
    path: str | None
    condition: str | None
    temporary: bool

    def matches(self, code: CodeType, exactly: bool = False) -> bool:
        """Does ``code`` have this name: its qualified name, or (unless ``exactly``) one that
        ends with ``.name``; or ``module.qualname`` (``exactly``) or ``module.tail``."""
        if self.path is not None and canonical(code.co_filename) != self.path:
            return False
        qualname = code.co_qualname
        if qualname == self.name or (not exactly and qualname.endswith("." + self.name)):
            return True
        # ``module.function``: the module named by its file (``pkg/shapes.py`` -> ``shapes``)
        module, _, rest = self.name.partition(".")
        if rest and (qualname == rest or (not exactly and qualname.endswith("." + rest))):
            stem = os.path.splitext(os.path.basename(code.co_filename))[0]
            parent = os.path.basename(os.path.dirname(code.co_filename))
            return module in (stem, parent) if stem == "__init__" else module == stem
        return False


def compile_condition(text: str | None) -> CodeType | None:
    if text is None:
        return None
    try:
        return compile(text, "<breakpoint condition>", "eval")
    except SyntaxError as exc:
        raise BreakpointError(
            f"the condition {text!r} is not a Python expression: {exc.msg}"
        ) from None


class BreakpointTable:
    """Breakpoints by id and by (canonical path, line)."""

    def __init__(self) -> None:
        self._next_id = 1
        self._by_id: dict[int, Breakpoint] = {}
        self._by_location: dict[str, dict[int, list[Breakpoint]]] = {}
        self._pending_functions: dict[int, FunctionBreakpointSpec] = {}

    # -------------------------------------------------------------- queries (hot path)

    def at(self, path: str, line: int) -> list[Breakpoint]:
        lines = self._by_location.get(path)
        if not lines:
            return []
        return lines.get(line, [])

    def lines_for(self, path: str) -> frozenset[int]:
        return frozenset(self._by_location.get(path, {}))

    def paths(self) -> list[str]:
        return [p for p, lines in self._by_location.items() if lines]

    def __iter__(self) -> Iterator[Breakpoint]:
        return iter(sorted(self._by_id.values(), key=lambda b: b.id))

    def get(self, bp_id: int) -> Breakpoint:
        try:
            return self._by_id[bp_id]
        except KeyError:
            raise BreakpointError(
                f"no breakpoint {bp_id}; `break` lists the breakpoints and their numbers"
            ) from None

    def pending_functions(self) -> list[FunctionBreakpointSpec]:
        return list(self._pending_functions.values())

    def is_empty(self) -> bool:
        return not self._by_id

    # ------------------------------------------------------------------ changes

    def _new_id(self) -> int:
        bp_id = self._next_id
        self._next_id += 1
        return bp_id

    def add_line(
        self,
        path: str,
        line: int,
        *,
        condition: str | None = None,
        ignore: int = 0,
        log_message: str | None = None,
        temporary: bool = False,
        verified: bool = False,
        function: str | None = None,
        bp_id: int | None = None,
    ) -> Breakpoint:
        """Add a breakpoint at ``path:line``, moved to the next line with code if needed."""
        path = canonical(path)
        lines = source_lines_with_code(path)
        bound = min((n for n in lines if n >= line), default=None)
        if bound is None:
            last = max(lines, default=0)
            raise BreakpointError(
                f"{os.path.basename(path)} has no code at or after line {line} "
                f"(its last line with code is {last}); choose a line up to {last}"
            )
        message = None
        if bound != line:
            message = f"line {line} has no code; the breakpoint moved to line {bound}"
        bp = Breakpoint(
            id=self._new_id() if bp_id is None else bp_id,
            path=path,
            line=bound,
            requested_line=line,
            verified=verified,
            condition=condition,
            ignore=ignore,
            log_message=log_message,
            temporary=temporary,
            function=function,
            message=message,
            compiled_condition=compile_condition(condition),
        )
        self._by_id[bp.id] = bp
        self._by_location.setdefault(path, {}).setdefault(bound, []).append(bp)
        return bp

    def add_function(
        self, name: str, path: str | None, condition: str | None, temporary: bool
    ) -> FunctionBreakpointSpec:
        compile_condition(condition)
        spec = FunctionBreakpointSpec(
            self._new_id(), name, canonical(path) if path else None, condition, temporary
        )
        self._pending_functions[spec.id] = spec
        return spec

    def bind_function(self, spec: FunctionBreakpointSpec, code: CodeType) -> Breakpoint:
        """Turn a pending function breakpoint into a line breakpoint on ``code``'s body."""
        del self._pending_functions[spec.id]
        return self.add_line(
            code.co_filename,
            body_first_line(code),
            condition=spec.condition,
            temporary=spec.temporary,
            verified=True,
            function=spec.name,
            bp_id=spec.id,
        )

    def remove(self, bp_id: int) -> Breakpoint | None:
        """Remove a breakpoint; returns it, or None for a function breakpoint still pending."""
        if bp_id in self._pending_functions:
            del self._pending_functions[bp_id]
            return None
        bp = self.get(bp_id)
        del self._by_id[bp_id]
        at_line = self._by_location[bp.path][bp.line]
        at_line.remove(bp)
        if not at_line:
            del self._by_location[bp.path][bp.line]
        return bp

    def clear(self) -> list[Breakpoint]:
        removed = list(self._by_id.values())
        self._by_id.clear()
        self._by_location.clear()
        self._pending_functions.clear()
        return removed

    def move(self, bp: Breakpoint, new_line: int, message: str) -> None:
        """Re-bind ``bp`` at ``new_line`` of the same file (an edit moved its code)."""
        at_line = self._by_location[bp.path][bp.line]
        at_line.remove(bp)
        if not at_line:
            del self._by_location[bp.path][bp.line]
        bp.line = new_line
        bp.requested_line = new_line
        bp.message = message
        self._by_location.setdefault(bp.path, {}).setdefault(new_line, []).append(bp)

    def mark_verified(self, paths: Iterable[str]) -> list[Breakpoint]:
        changed = []
        wanted = set(paths)
        for bp in self._by_id.values():
            if not bp.verified and bp.path in wanted:
                bp.verified = True
                changed.append(bp)
        return changed

    def replace_fields(self, bp: Breakpoint, **changes: object) -> None:
        for key, value in changes.items():
            setattr(bp, key, value)
        if "condition" in changes:
            bp.compiled_condition = compile_condition(bp.condition)


__all__ = [
    "Breakpoint",
    "BreakpointError",
    "BreakpointTable",
    "CodeIndex",
    "FunctionBreakpointSpec",
    "body_first_line",
    "code_lines",
    "source_lines_with_code",
    "walk_code",
]
