"""The commit of an apply: every change at once, or none.

All changes an apply makes to live objects are attribute assignments and deletions
(``fn.__code__``, ``cls.method``, ``module.NAME``), collected first and then performed by one
call into C: ``deque(map(setattr, ...))`` runs no Python bytecode between two assignments,
so the interpreter cannot switch threads in the middle (CPython only switches threads between
bytecodes, and these built-in setters never release the GIL). That is what makes the commit
atomic for every other thread. Where an assignment runs Python code all the same (an audit
hook, a metaclass ``__setattr__``), :func:`relive._cpython.world.held` keeps every other
thread from running its next instruction until the commit is over. The previous values are
kept, so a failure part way restores them all; keeping them also means no object is freed
(and no ``__del__`` runs) during the commit.
"""

from __future__ import annotations

import operator
import warnings
from collections import deque
from collections.abc import Callable
from itertools import chain
from types import CodeType, FunctionType, ModuleType
from typing import Any

from relive._cpython.code import SUSPENDS
from relive._cpython.world import held

MISSING: Any = object()
_clear_cache = operator.methodcaller("cache_clear")


def _own(obj: object, name: str) -> Any:
    """The value ``obj`` itself holds for ``name`` (not one it inherits)."""
    if isinstance(obj, FunctionType):  # first: most changes are ``fn.__code__``
        return (getattr(obj, name, MISSING) if name.startswith("__")
                else obj.__dict__.get(name, MISSING))
    if isinstance(obj, (ModuleType, type)):
        return vars(obj).get(name, MISSING)
    return getattr(obj, name, MISSING)


class Transaction:
    """Changes to make to live objects, then made atomically by :meth:`commit`."""

    def __init__(self) -> None:
        self.sets: list[tuple[object, str, object]] = []
        self.deletes: list[tuple[object, str]] = []
        self.caches: list[object] = []
        self.after: list[Callable[[], None]] = []
        self._undo: list[tuple[object, str, object]] = []
        self.attempted = False  # commit was called (and has undone itself if it failed)
        self.committed = False

    def set(self, obj: object, name: str, value: object) -> None:
        self.sets.append((obj, name, value))

    def delete(self, obj: object, name: str) -> None:
        self.deletes.append((obj, name))

    def clear_cache(self, wrapper: object) -> None:
        if all(w is not wrapper for w in self.caches):
            self.caches.append(wrapper)

    def pending(self, obj: object, name: str) -> Any:
        """The value this transaction will give ``obj.name`` (MISSING if it will delete it,
        the live value if it does not touch it)."""
        for o, n, v in reversed(self.sets):
            if o is obj and n == name:
                return v
        if any(o is obj and n == name for o, n in self.deletes):
            return MISSING
        return _own(obj, name)

    def commit(self) -> None:
        """Make every change; on any failure undo the ones made and re-raise."""
        self.attempted = True
        self._undo = [(o, n, _own(o, n)) for o, n, _ in self.sets]
        self._undo += [(o, n, _own(o, n)) for o, n in self.deletes]
        set_objs, set_names, set_values = (zip(*self.sets, strict=True) if self.sets
                                           else ((), (), ()))
        del_objs, del_names = zip(*self.deletes, strict=True) if self.deletes else ((), ())
        try:
            with warnings.catch_warnings(), held():
                if self._changes_kind():
                    # 3.13+ warns when a function is given code of another kind (a function
                    # that became a generator); that is an edit relive makes on purpose, and
                    # a warning (or an error under -W error) must not cut the commit in two
                    warnings.simplefilter("ignore", DeprecationWarning)
                deque(chain(map(setattr, set_objs, set_names, set_values),
                            map(delattr, del_objs, del_names),
                            map(_clear_cache, self.caches)), maxlen=0)
            # An exception raised from here on (a KeyboardInterrupt between two bytecodes)
            # undoes the commit until this assignment, and leaves it standing after it: the
            # caller reads ``committed`` to know which.
            self.committed = True
        except BaseException:
            if not self.committed:
                self.rollback()
            raise

    def _changes_kind(self) -> bool:
        return any(
            name == "__code__" and isinstance(obj, FunctionType) and isinstance(value, CodeType)
            and (obj.__code__.co_flags ^ value.co_flags) & SUSPENDS
            for obj, name, value in self.sets)

    def rollback(self) -> None:
        """Put back every value recorded at commit (best effort, last change first)."""
        for obj, name, old in reversed(self._undo):
            try:
                if old is MISSING:
                    if _own(obj, name) is not MISSING:
                        delattr(obj, name)
                else:
                    setattr(obj, name, old)
            except Exception:  # restore as much as can be restored
                continue
        self.committed = False
