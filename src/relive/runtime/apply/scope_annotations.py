"""The annotations of a live module or class after an edit, equal to a fresh import's.

Running one annotated statement on its own (the way an apply runs new values) gives the
annotations of that statement only; the scope's annotations are rebuilt from the whole new
scope instead. The two ways CPython keeps them differ, and this module is the one place that
knows both:

- *eager* (3.11-3.13, and 3.14+ under ``from __future__ import annotations``): each annotated
  statement stores into the scope's ``__annotations__`` dict. The statement's run gives a dict
  with its own names, which is merged into the live one; a deleted name leaves it.
- *deferred* (3.14+, PEP 649/749): the compiler makes one ``__annotate__`` function per scope
  that evaluates every annotation of the scope when asked; the module keeps it as
  ``__annotate__`` and a class as ``__annotate_func__`` (a closure over the class namespace).
  Annotations inside ``if``/``try``/loops are *conditional*: the scope's body adds their index
  to a ``__conditional_annotations__`` set when it runs them, and ``__annotate__`` reports only
  those. Reading ``__annotations__`` caches the result (in the module's ``__annotations__``,
  a class's ``__annotations_cache__``). The rebuild gives the live function the code of the new
  scope's ``__annotate__`` (in place, so that it keeps its identity), carries the set over, and
  drops the cache.

A function's annotations are deferred the same way (its ``__annotate__``): see
:func:`function_annotations`.
"""

from __future__ import annotations

import dis
import sys
import weakref
from collections.abc import Iterable, Mapping
from types import CellType, CodeType, FunctionType, ModuleType
from typing import Any

from relive.runtime.apply.codetools import shift_code
from relive.runtime.apply.transaction import MISSING, Transaction

# names a scope's body binds to keep its annotations: never copied from a partial run
SCOPE_NAMES = frozenset({"__annotations__", "__annotate__", "__annotate_func__",
                         "__conditional_annotations__", "__annotations_cache__"})
_CONDITIONAL = "__conditional_annotations__"
_SCOPE_ANNOTATE = frozenset({"__annotate__", "__annotate_func__"})


def annotate_code(scope_code: CodeType) -> CodeType | None:
    """The ``__annotate__`` code of a module or class body (None: none, or eager).

    The body's constants also hold the ``__annotate__`` code of each function it defines
    (same name, same qualified name): the scope's own is the one the body stores as its
    ``__annotate__`` (a module) or ``__annotate_func__`` (a class)."""
    if not any(isinstance(c, CodeType) and c.co_name == "__annotate__"
               for c in scope_code.co_consts):
        return None  # most bodies, and every one before 3.14: no need to read the bytecode
    loaded: CodeType | None = None
    for instr in dis.get_instructions(scope_code):
        if instr.opname == "LOAD_CONST" and isinstance(instr.argval, CodeType):
            loaded = instr.argval if instr.argval.co_name == "__annotate__" else None
        elif instr.opname in ("STORE_NAME", "STORE_GLOBAL") and instr.argval in _SCOPE_ANNOTATE:
            return loaded
    return None


def is_deferred(scope_code: CodeType) -> bool:
    """Does ``scope_code`` keep its annotations deferred (3.14+, no future import)?"""
    return annotate_code(scope_code) is not None


class _Namespace:
    """A module's namespace with its items as attributes, for the transaction: a module's
    ``__annotations__`` attribute is the cache of its ``__annotate__`` on 3.14, and setting or
    deleting one of the two through the module drops the other."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, Any]) -> None:
        object.__setattr__(self, "_items", items)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._items[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._items[name]
        except KeyError:
            raise AttributeError(name) from None


_NAMESPACES: weakref.WeakKeyDictionary[ModuleType, _Namespace] = weakref.WeakKeyDictionary()


def _target(owner: object) -> object:
    """What the transaction changes for ``owner``'s own names (see :class:`_Namespace`)."""
    if not isinstance(owner, ModuleType):
        return owner
    found = _NAMESPACES.get(owner)
    if found is None:
        found = _NAMESPACES[owner] = _Namespace(vars(owner))
    return found


def merge_eager(txn: Transaction, owner: object, bound: Mapping[str, Any]) -> None:
    """Merge the ``__annotations__`` a partial run of eager code bound into the live ones."""
    partial = bound.get("__annotations__")
    if not isinstance(partial, dict):
        return
    target = _target(owner)
    live = txn.pending(target, "__annotations__")
    if live is partial:  # a class run works on the live dict itself
        return
    # ``partial`` may be a copy of the live annotations the statement ran against: take only
    # what it changed, so that a name an earlier edit of the same delta deleted stays deleted
    before = vars(owner).get("__annotations__")
    before = before if isinstance(before, dict) else {}
    merged = dict(live) if isinstance(live, dict) else {}
    merged.update((k, v) for k, v in partial.items() if k not in before or before[k] is not v)
    txn.set(target, "__annotations__", merged)


def forget_eager(txn: Transaction, owner: object, names: Iterable[str]) -> None:
    """Take deleted names out of a scope's eager ``__annotations__``."""
    target = _target(owner)
    live = txn.pending(target, "__annotations__")
    if isinstance(live, dict) and any(n in live for n in names):
        txn.set(target, "__annotations__", {k: v for k, v in live.items() if k not in names})


def rebuild_deferred(txn: Transaction, owner: ModuleType | type,
                     scope_code: CodeType) -> None:
    """Give ``owner`` (a live module or class) the deferred annotations of the new scope
    compiled to ``scope_code``."""
    new = annotate_code(scope_code)
    module = isinstance(owner, ModuleType)
    target = _target(owner)
    key = "__annotate__" if module else "__annotate_func__"
    live = vars(owner).get(key)
    live_fn = live if isinstance(live, FunctionType) else None
    if new is None and live_fn is None:  # eager annotations (a future import): kept as they are
        return
    executed = _executed(live_fn.__code__ if live_fn is not None else None,
                         _old_set(owner, live_fn), new)
    if new is None:
        if live is not None:
            txn.delete(target, key)
    elif live_fn is not None and live_fn.__code__.co_freevars == new.co_freevars:
        txn.set(live_fn, "__code__", new)
        cell = _cell(live_fn, _CONDITIONAL)
        if cell is not None:
            txn.set(cell, "cell_contents", executed)
    else:
        txn.set(target, key, _new_function(owner, new, live_fn, executed))
    if module:
        if executed is not None:
            txn.set(target, _CONDITIONAL, executed)
        elif _CONDITIONAL in vars(owner):
            txn.delete(target, _CONDITIONAL)
    # what reading __annotations__ cached: computed again from the new code when next read
    cache = "__annotations__" if module else "__annotations_cache__"
    if cache in vars(owner):
        txn.delete(target, cache)


def _new_function(owner: ModuleType | type, code: CodeType, live: FunctionType | None,
                  executed: set[int] | None) -> FunctionType:
    """An ``__annotate__`` function for ``code`` where the live one has another shape."""
    if isinstance(owner, ModuleType):
        return FunctionType(code, vars(owner))
    cells = []
    for name in code.co_freevars:
        if name == _CONDITIONAL:
            cells.append(CellType(executed if executed is not None else set()))
        else:  # __classdict__: the class namespace, which a mapping view reads the same
            cells.append(_cell(live, name) or CellType(vars(owner)))
    module = sys.modules.get(owner.__module__)
    return FunctionType(code, vars(module) if module is not None else {},
                        closure=tuple(cells))


def _cell(fn: FunctionType | None, name: str) -> CellType | None:
    if fn is None or fn.__closure__ is None or name not in fn.__code__.co_freevars:
        return None
    return fn.__closure__[fn.__code__.co_freevars.index(name)]


def _old_set(owner: ModuleType | type, live: FunctionType | None) -> set[int] | None:
    if isinstance(owner, ModuleType):
        found = vars(owner).get(_CONDITIONAL)
    else:
        cell = _cell(live, _CONDITIONAL)
        found = cell.cell_contents if cell is not None else None
    return found if isinstance(found, set) else None


def _executed(old: CodeType | None, old_set: set[int] | None,
              new: CodeType | None) -> set[int] | None:
    """The ``__conditional_annotations__`` set of the new scope: an annotation counts as run
    if the one of the same name (and rank among that name's) had run; a new one runs with the
    apply (a conditional statement that changed is a rude edit, so a new annotation is one of
    the scope's own statements)."""
    if new is None or _CONDITIONAL not in (*new.co_names, *new.co_freevars):
        return None
    ran: dict[tuple[str, int], bool] = {}
    if old is not None:
        for (index, name), rank in _ranked(_annotations_of(old)):
            ran[(name, rank)] = index is None or (old_set is not None and index in old_set)
    return {index for (index, name), rank in _ranked(_annotations_of(new))
            if index is not None and ran.get((name, rank), True)}


def _ranked(pairs: list[tuple[int | None, str]]) -> list[tuple[tuple[int | None, str], int]]:
    seen: dict[str, int] = {}
    out = []
    for index, name in pairs:
        out.append(((index, name), seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return out


def _annotations_of(code: CodeType) -> list[tuple[int | None, str]]:
    """(conditional index or None, name) of each annotation an ``__annotate__`` code stores,
    in order: ``index in __conditional_annotations__`` guards a conditional one, and each one
    ends in ``result[name] = value``."""
    out: list[tuple[int | None, str]] = []
    recent: list[Any] = [MISSING, MISSING]
    index: int | None = None
    for instr in dis.get_instructions(code):
        if instr.opname == "CONTAINS_OP" and recent[-1] == _CONDITIONAL and isinstance(
                recent[-2], int):
            index = recent[-2]
        elif instr.opname == "STORE_SUBSCR" and isinstance(recent[-1], str):
            out.append((index, recent[-1]))
            index = None
        recent = [recent[-1], instr.argval]
    return out


def plan(txn: Transaction, owner: object, bound: Mapping[str, Any],
         deleted: Iterable[str] = ()) -> bool:
    """Keep ``owner``'s annotations right after a statement of its scope bound ``bound`` (the
    names its partial run bound) or the edit deleted ``deleted``; whether the scope's deferred
    annotations must then be rebuilt from the new scope (:func:`rebuild_deferred`)."""
    deleted = tuple(deleted)
    merge_eager(txn, owner, bound)
    forget_eager(txn, owner, deleted)
    if not isinstance(owner, (ModuleType, type)):
        return False
    if bound.keys() & {"__annotate__", "__annotate_func__", _CONDITIONAL}:
        return True
    live = vars(owner).get("__annotate__" if isinstance(owner, ModuleType)
                           else "__annotate_func__")
    return isinstance(live, FunctionType) and any(
        name in live.__code__.co_consts for name in deleted)


def shift_deferred(txn: Transaction, cls: type, by: int) -> None:
    """Move the deferred annotations of a class whose whole body moved ``by`` lines."""
    live = vars(cls).get("__annotate_func__")
    if by and isinstance(live, FunctionType):
        txn.set(live, "__code__", shift_code(live.__code__, by))


def function_annotations(fresh: FunctionType) -> tuple[str, Any]:
    """The attribute, and its value, that give a live function the annotations of ``fresh``
    (a new version of it): its ``__annotate__`` where they are deferred (3.14+), since reading
    ``__annotations__`` would evaluate them now -- and raise for a name imported only under
    ``TYPE_CHECKING``; its ``__annotations__`` otherwise (which also drops an old
    ``__annotate__``)."""
    annotate = getattr(fresh, "__annotate__", None)
    if annotate is not None:
        return "__annotate__", annotate
    return "__annotations__", fresh.__annotations__
