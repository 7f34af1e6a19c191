"""Finding the live objects of a definition: every function object that runs its code.

A definition's code can be held by many function objects: the one bound in the module or
class, the original behind a decorator (``functools.wraps`` chains, ``lru_cache``,
``singledispatch`` registries, ``property``, ``staticmethod``, closure cells of a wrapper),
callbacks kept in containers or in framework objects (a click command's ``callback``, a
router's routes, ``atexit``), closures and lambdas created at run time. Updating *all* of them
in place is what keeps identities and references intact.

Functions are found by their code, not by the name they were bound to: the process-wide index
of :mod:`relive.runtime.apply.heap` holds every function object of the program's files, found
through the garbage collector (the whole heap once, then only the young generations), by
(qualname, first line) within a file. The module's namespace is walked too, once on first use
and then from each edited name, for what the collector's lists do not say: which
``lru_cache`` wrappers call a function, so that updating it clears them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from types import CodeType, FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any

from relive.delta import MODULE_PATH, Definition
from relive.runtime.apply.heap import HEAP, LRU_TYPE, Key, why_none

if TYPE_CHECKING:
    from relive.runtime.registry import TrackedModule

__all__ = ["HEAP", "Key", "LiveIndex", "code_key", "definition_key", "live_index",
           "needs_heap", "scope_in_heap", "scope_object", "why_none"]

_MAX_DEPTH = 4


def code_key(code: CodeType) -> Key:
    return (code.co_qualname, code.co_firstlineno)


def definition_key(d: Definition) -> Key:
    return (d.qualname, d.first)


def live_index(tracked: TrackedModule) -> LiveIndex:
    """The live index of ``tracked``, made on first use and kept on the tracked module."""
    if tracked.live_index is None:
        tracked.live_index = LiveIndex(tracked)
    return tracked.live_index


class LiveIndex:
    """The live function objects of one tracked module, by (qualname, first line)."""

    def __init__(self, tracked: TrackedModule) -> None:
        self.tracked = tracked
        self.file = HEAP.cover(tracked.filename)
        self._built = False

    # -- belonging --------------------------------------------------------------------

    def owns(self, code: CodeType) -> bool:
        """Is ``code`` compiled from this module's file?"""
        return HEAP.file_of(code.co_filename) == self.file

    # -- building and keeping current --------------------------------------------------

    def add(self, fn: FunctionType) -> None:
        HEAP.add(fn)

    def rekey(self, fn: FunctionType, old: Key) -> None:
        """Keep ``fn`` findable after its code changed from one with key ``old``."""
        HEAP.rekey(fn, old[0])

    def note_cache(self, fn: FunctionType, wrapper: Any) -> None:
        HEAP.note_cache(fn, wrapper)

    def caches_of(self, fn: FunctionType) -> list[Any]:
        return HEAP.caches_of(fn)

    def scan(self, closures: bool = False) -> None:
        """Index the functions made since the last look (once per apply; ``closures``: the
        apply updates functions made at run time; see :meth:`HeapScan.scan`)."""
        HEAP.scan(self.file, closures)

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self.walk(self.tracked.module.__dict__.values(), containers=True)

    def walk(self, roots: Iterable[object], containers: bool = False) -> None:
        """Index every function of this module reachable from ``roots``."""
        seen: set[int] = set()
        for root in roots:
            if containers and isinstance(root, (list, tuple, set, frozenset)):
                for item in list(root):
                    self._visit(item, 0, seen, None)
            elif containers and isinstance(root, dict):
                for item in list(root.values()):
                    self._visit(item, 0, seen, None)
            else:
                self._visit(root, 0, seen, None)

    def _visit(self, obj: object, depth: int, seen: set[int], cache: Any) -> None:
        """Index ``obj`` if it is one of our functions, then what it leads to.

        ``cache`` is the ``lru_cache`` wrapper ``obj`` was reached through, if any: updating
        the function must clear that cache.
        """
        if depth > _MAX_DEPTH or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, FunctionType) and self.owns(obj.__code__):
            self.add(obj)
            if cache is not None:
                self.note_cache(obj, cache)
        for child, child_cache in _children(obj, self.tracked.module):
            self._visit(child, depth + 1, seen, child_cache)

    # -- lookups ----------------------------------------------------------------------

    def functions(self, key: Key) -> list[FunctionType]:
        """The live functions of this module's file whose code has ``key`` (qualname, first
        line), wherever they are held (as far as the last :meth:`HeapScan.scan` saw)."""
        return HEAP.functions(self.file, key)

    def bound_object(self, index: dict[str, Definition], d: Definition) -> Any:
        """What the definition's name is bound to now, in its module or class (or None)."""
        owner = scope_object(self.tracked.module, index, d)
        if owner is None:
            return None
        return vars(owner).get(d.name)

    def find(self, index: dict[str, Definition], d: Definition) -> list[FunctionType]:
        """The live function objects running the code of ``d`` (a definition of ``index``)."""
        self.ensure_built()
        bound = self.bound_object(index, d)
        if bound is not None:
            self.walk([bound])
        self.scan(needs_heap(index, d))
        return self.functions(definition_key(d))


def needs_heap(index: dict[str, Definition], d: Definition) -> bool:
    """True for definitions whose function objects are made at run time (closures)."""
    return d.kind == "lambda" or scope_in_heap(index, d.parent)


def scope_in_heap(index: dict[str, Definition], path: str | None) -> bool:
    """Is the scope ``path`` (or one around it) a function, whose definitions are made each
    time it runs?"""
    parent = index.get(path or MODULE_PATH)
    while parent is not None and parent.kind != "module":
        if parent.kind in ("function", "lambda"):
            return True
        parent = index.get(parent.parent or MODULE_PATH)
    return False


def scope_object(module: ModuleType, index: dict[str, Definition],
                 d: Definition) -> Any:
    """The module or class whose namespace binds ``d``'s name (None inside functions)."""
    chain = []
    parent = index.get(d.parent or MODULE_PATH)
    while parent is not None and parent.kind != "module":
        if parent.kind != "class":
            return None
        chain.append(parent)
        parent = index.get(parent.parent or MODULE_PATH)
    owner: Any = module
    for cls in reversed(chain):
        owner = vars(owner).get(cls.name)
        if not isinstance(owner, type):
            return None
    return owner


def _children(obj: object, module: ModuleType) -> Iterator[tuple[object, Any]]:
    """Objects through which ``obj`` may run a function: (child, lru wrapper or None)."""
    if isinstance(obj, FunctionType):
        if obj.__closure__:
            for cell in obj.__closure__:
                try:
                    yield cell.cell_contents, None
                except ValueError:  # an empty cell
                    pass
        wrapped = obj.__dict__.get("__wrapped__")
        if wrapped is not None:
            yield wrapped, None
        registry = obj.__dict__.get("registry")
        if registry is not None and hasattr(registry, "values"):
            for impl in list(registry.values()):
                yield impl, None
        return
    if isinstance(obj, type):
        if getattr(obj, "__module__", None) == module.__name__:
            for value in list(vars(obj).values()):
                yield value, None
        return
    if isinstance(obj, (staticmethod, classmethod, MethodType)):
        yield obj.__func__, None
    elif isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                yield accessor, None
    elif isinstance(obj, LRU_TYPE):
        yield getattr(obj, "__wrapped__", None), obj
    elif isinstance(obj, (functools.partial, functools.partialmethod,
                          functools.cached_property)):
        yield obj.func, None
    elif isinstance(obj, functools.singledispatchmethod):
        yield obj.func, None
        yield obj.dispatcher, None
    else:
        wrapped = getattr(type(obj), "__wrapped__", None) and getattr(obj, "__wrapped__", None)
        if wrapped is not None:
            yield wrapped, None
