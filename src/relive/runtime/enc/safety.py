"""Keeping EnC mode safe: EnC code is checked against the plain code of the same tree, and a
unit that cannot be compiled in EnC mode is compiled plainly and reported (rude edit RL5002).

A compile makes a tree of code objects (each nested one in its parent's ``co_consts``). The
EnC compile of a tree must make the same tree as the plain compile, plus one ``<lambda>`` in
each function that passes its closure cells to a continuation (:mod:`relive.runtime.enc.transform`),
with the same shape for every code object: kind, arguments, closure cells and locals (hidden
ones aside). Code objects are paired by *position*: the children of two paired code objects
are paired by name, first line and rank among the siblings with that name and first line.
Neither ``(co_firstlineno, co_name)`` nor ``co_qualname`` is enough on its own: two lambdas,
or a lambda default and the trailer's ``<lambda>``, share both when they are on one line.

Functions made by ``def`` are different: no two of them start on the same line in source
(``def`` is a compound statement; a decorator starts a line), so ``(co_firstlineno, co_name)``
names one of them within a compile (:data:`DefKey`), and is how a tree's ``def`` node and its
code object find each other.

What fell back to plain code is remembered for each code object made (weakly), so that an
apply installing such code reports RL5002 for it whichever path compiled it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import CodeType, FunctionType

from relive._cpython.code import NEWLOCALS, VARARGS, VARKEYWORDS, function_kind
from relive.delta import Definition
from relive.delta.rude import RudeEdit, RudeEditKind
from relive.runtime.enc.tree import HIDDEN_PREFIX, SIGNAL_NAME, FunctionKind

__all__ = [
    "DefKey",
    "EncFallbackNotice",
    "Fallback",
    "FunctionTable",
    "code_kind",
    "definition_paths",
    "fallback_detail",
    "fallback_rude_edits",
    "find_code",
    "function_table",
    "is_def_code",
    "iter_code_objects",
    "note_fallbacks",
    "shape_problems",
    "table_problems",
]

DefKey = tuple[int, str]  # (co_firstlineno, co_name) of a function made by ``def``
FunctionTable = Mapping[DefKey, tuple[FunctionKind, tuple[str, ...]]]



def iter_code_objects(code: CodeType) -> Iterator[CodeType]:
    """``code`` and every code object nested in its constants, depth first (without
    recursion: code can nest deeper than the interpreter's recursion limit)."""
    stack = [code]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(c for c in reversed(item.co_consts) if isinstance(c, CodeType))


def find_code(code: CodeType, qualname: str, firstlineno: int) -> CodeType | None:
    """The first code object nested in ``code`` with this ``co_qualname`` and
    ``co_firstlineno`` (unique for a ``def``; two lambdas on one line share both)."""
    for item in iter_code_objects(code):
        if item.co_qualname == qualname and item.co_firstlineno == firstlineno:
            return item
    return None


def code_kind(code: CodeType) -> FunctionKind:
    """The kind of function ``code`` compiles, from its flags."""
    return function_kind(code)


def is_def_code(code: CodeType) -> bool:
    """Is ``code`` the body of a ``def`` (not a module, class body, lambda, comprehension,
    generator expression or 3.12+ type-parameter scope, all named ``<...>`` or not new
    locals)?"""
    return bool(code.co_flags & NEWLOCALS) and code.co_name.isidentifier()


def function_table(code: CodeType) -> dict[DefKey, tuple[FunctionKind, tuple[str, ...]]]:
    """Kind and closure cells of every ``def`` compiled in ``code``, by :data:`DefKey` (what
    :func:`relive.runtime.enc.transform.transform_module` needs to know of each function)."""
    return {
        (item.co_firstlineno, item.co_name): (
            code_kind(item),
            (*item.co_cellvars, *item.co_freevars),
        )
        for item in iter_code_objects(code)
        if is_def_code(item)
    }


# --- checking EnC code against plain code ---------------------------------------------------

def _shape(code: CodeType) -> tuple[object, ...]:
    """What EnC mode must keep of a code object (hidden locals left out)."""
    return (
        code.co_qualname,
        code_kind(code),
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags & (NEWLOCALS | VARARGS | VARKEYWORDS),
        code.co_cellvars,
        code.co_freevars,
        tuple(name for name in code.co_varnames if not name.startswith(HIDDEN_PREFIX)),
    )


_SHAPE_FIELDS = ("qualified name", "kind", "argument count", "positional-only count",
                 "keyword-only count", "flags", "cell variables", "free variables", "locals")


def _children(code: CodeType) -> list[CodeType]:
    return [c for c in code.co_consts if isinstance(c, CodeType)]


def _grouped(children: list[CodeType]) -> dict[tuple[str, int], list[CodeType]]:
    groups: dict[tuple[str, int], list[CodeType]] = {}
    for child in children:
        groups.setdefault((child.co_name, child.co_firstlineno), []).append(child)
    return groups


def shape_problems(plain: CodeType, enc: CodeType) -> dict[DefKey | None, str]:
    """How the EnC code ``enc`` differs from ``plain`` (both compiled from one tree), by the
    ``def`` whose transformation is to blame (None: no ``def``, the module itself). Empty when
    they agree. A code object that is not a ``def`` is blamed on the ``def`` around it: only
    the transformation of a function changes the code compiled inside it."""
    problems: dict[DefKey | None, str] = {}
    _compare(plain, enc, None, problems)
    return problems


def _compare(plain: CodeType, enc: CodeType, owner: DefKey | None,
             problems: dict[DefKey | None, str]) -> None:
    if is_def_code(plain):
        owner = (plain.co_firstlineno, plain.co_name)
    old, new = _shape(plain), _shape(enc)
    if old != new:
        field = next(f for f, a, b in zip(_SHAPE_FIELDS, old, new, strict=True) if a != b)
        at = _SHAPE_FIELDS.index(field)
        problems.setdefault(owner, f"EnC compilation changed the {field} of "
                                   f"{plain.co_qualname}: {old[at]!r} became {new[at]!r}")
        return
    enc_groups = _grouped(_children(enc))
    ranks: dict[tuple[str, int], int] = {}
    for child in _children(plain):
        key = (child.co_name, child.co_firstlineno)
        rank = ranks.get(key, 0)
        ranks[key] = rank + 1
        peers = enc_groups.get(key, [])
        if rank >= len(peers):
            problems.setdefault(owner, f"EnC compilation lost {child.co_qualname} "
                                       f"(line {child.co_firstlineno})")
            continue
        _compare(child, peers[rank], owner, problems)
    # Code objects with no peer at all in the plain code are unreachable code the plain
    # compile dropped (after a `return`, say) and the EnC compile keeps, as its wrapping
    # `try` hides that they are unreachable. Of the others, only the trailer's
    # cell-capturing lambda, in a function compiled in EnC mode, is EnC mode's own.
    extra = [c for key, peers in enc_groups.items() if key in ranks
             for c in peers[ranks[key]:]]
    allowed = 1 if SIGNAL_NAME in enc.co_names and is_def_code(enc) else 0
    if len(extra) > allowed or any(c.co_name != "<lambda>" or _children(c) for c in extra):
        problems.setdefault(owner, f"EnC compilation added code objects to "
                                   f"{plain.co_qualname}: "
                                   f"{', '.join(c.co_qualname for c in extra)}")


def table_problems(table: FunctionTable, enc: CodeType) -> dict[DefKey | None, str]:
    """How the functions of ``enc`` differ from what ``table`` predicted of them."""
    problems: dict[DefKey | None, str] = {}
    for key, (kind, cells) in function_table(enc).items():
        expected = table.get(key)
        if expected is not None and (expected[0] != kind or set(expected[1]) != set(cells)):
            problems[key] = (f"EnC compilation changed the shape of {key[1]!r}: expected a "
                             f"{expected[0]} with cells {sorted(expected[1])}, got a {kind} "
                             f"with cells {sorted(cells)}")
    return problems


# --- what fell back ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Fallback:
    """A unit that EnC mode compiled plainly: a function, or the whole module
    (``qualname`` ``<module>``), with the reason."""

    qualname: str
    firstlineno: int
    detail: str

    def rude_edit(self, path: str | None = None) -> RudeEdit:
        """The RL5002 warning that reports it (``path``: its definition path, if known)."""
        name = path if path is not None else (
            "" if self.qualname == "<module>" else self.qualname)
        return RudeEdit.make(RudeEditKind.ENC_COMPILED_PLAINLY, self.firstlineno, name,
                             self.detail)


@dataclass(frozen=True)
class EncFallbackNotice:
    """An event (:func:`relive.runtime.events.notify_observers`): a module was loaded with
    some of its code compiled plainly; each rude edit (RL5002) names a unit and says why."""

    filename: str
    rude_edits: tuple[RudeEdit, ...]


# plain code objects of functions that fell back, by id, with the reason; weakly held (code
# compares by value, so identity is what tells a fallback apart)
_FALLBACK_CODES: dict[int, tuple[weakref.ref[CodeType], str]] = {}


def note_fallbacks(code: CodeType, details: Mapping[DefKey, str],
                   everything: str | None = None) -> None:
    """Remember the functions of ``code`` that were compiled plainly: those named in
    ``details``, or every function when ``everything`` (the reason) is given."""
    for item in iter_code_objects(code):
        if not is_def_code(item) or SIGNAL_NAME in item.co_names:
            continue
        detail = everything if everything is not None else details.get(
            (item.co_firstlineno, item.co_name))
        if detail is not None:
            key = id(item)
            _FALLBACK_CODES[key] = (weakref.ref(item), detail)
            weakref.finalize(item, _FALLBACK_CODES.pop, key, None)


def fallback_detail(code: CodeType) -> str | None:
    """Why ``code`` was compiled plainly in EnC mode, if it was (see :func:`note_fallbacks`)."""
    entry = _FALLBACK_CODES.get(id(code))
    return entry[1] if entry is not None and entry[0]() is code else None


def _codes_of(obj: object, depth: int = 0) -> Iterator[CodeType]:
    """The code objects of a new function or class (methods, properties, wrappers)."""
    if depth > 3:
        return
    if isinstance(obj, FunctionType):
        yield obj.__code__
    elif isinstance(obj, type):
        for value in list(vars(obj).values()):
            yield from _codes_of(value, depth + 1)
    elif isinstance(obj, (staticmethod, classmethod)):
        yield from _codes_of(obj.__func__, depth + 1)
    elif isinstance(obj, property):
        for part in (obj.fget, obj.fset, obj.fdel):
            yield from _codes_of(part, depth + 1)
    wrapped = getattr(obj, "__wrapped__", None) if not isinstance(obj, type) else None
    if wrapped is not None:
        yield from _codes_of(wrapped, depth + 1)


def fallback_rude_edits(codes: Iterable[CodeType], objects: Iterable[object],
                        paths: Mapping[tuple[str, int], str]) -> list[RudeEdit]:
    """RL5002 for each function compiled plainly among ``codes`` (new code objects an apply
    installs) and the new functions and classes in ``objects``, nested functions included.
    ``paths`` gives definition paths by ``(qualname, first line)``."""
    seen: set[int] = set()
    out: list[RudeEdit] = []
    every: list[CodeType] = [*codes]
    for obj in objects:
        try:
            every.extend(_codes_of(obj))
        except Exception:  # an odd object must not break the apply: it is only a report
            continue
    for code in every:
        for item in iter_code_objects(code):
            detail = fallback_detail(item) if id(item) not in seen else None
            seen.add(id(item))
            if detail is None:
                continue
            path = paths.get((item.co_qualname, item.co_firstlineno), item.co_qualname)
            out.append(Fallback(item.co_qualname, item.co_firstlineno, detail).rude_edit(path))
    return out


def definition_paths(index: Mapping[str, Definition]) -> dict[tuple[str, int], str]:
    """Definition paths of an index by ``(qualname, first line)`` (for fallback_rude_edits)."""
    return {(d.qualname, d.first): d.path for d in index.values()
            if d.kind == "function"}
