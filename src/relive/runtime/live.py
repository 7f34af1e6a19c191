"""Finding the live objects of a definition: every function object that runs its code.

A definition's code can be held by many function objects: the one bound in the module or
class, the original behind a decorator (``functools.wraps`` chains, ``lru_cache``,
``singledispatch`` registries, ``property``, ``staticmethod``, closure cells of a wrapper),
callbacks kept in containers, closures and lambdas created at run time. Updating *all* of them
in place is what keeps identities and references intact.

The index starts from the module's namespace, walked once on first use and kept current by
the applies themselves. Definitions that live only in closures (nested functions, lambdas)
are found by one scan of the garbage collector's objects, done lazily the first time such a
definition is edited; later edits look only at the young GC generations, where new objects
are, so no later edit pays for the whole heap.
"""

from __future__ import annotations

import functools
import gc
import os
import weakref
from collections.abc import Iterable, Iterator
from types import CodeType, FunctionType, MethodType, ModuleType
from typing import TYPE_CHECKING, Any

from relive.delta import MODULE_PATH, Definition

if TYPE_CHECKING:
    from relive.runtime.registry import TrackedModule

Key = tuple[str, int]  # (co_qualname, co_firstlineno)

_LRU_TYPE: type = type(functools.lru_cache(maxsize=1)(lambda: None))
_MAX_DEPTH = 4


def code_key(code: CodeType) -> Key:
    return (code.co_qualname, code.co_firstlineno)


def definition_key(d: Definition) -> Key:
    return (d.qualname, d.first)


class LiveIndex:
    """The live function objects of one tracked module, by (qualname, first line)."""

    def __init__(self, tracked: TrackedModule) -> None:
        self.tracked = tracked
        # by qualname: a function moved or edited keeps its entry, whatever its first line
        self._functions: dict[str, list[weakref.ref[FunctionType]]] = {}
        self._caches: dict[int, list[weakref.ref[Any]]] = {}  # id(function) -> lru wrappers
        self._built = False
        self._filenames: dict[str, bool] = {}

    # -- belonging --------------------------------------------------------------------

    def owns(self, code: CodeType) -> bool:
        """Is ``code`` compiled from this module's file?"""
        name = code.co_filename
        known = self._filenames.get(name)
        if known is None:
            known = _same_file(name, self.tracked.filename)
            self._filenames[name] = known
        return known

    # -- building and keeping current --------------------------------------------------

    def add(self, fn: FunctionType) -> None:
        refs = self._functions.setdefault(fn.__code__.co_qualname, [])
        if not any(r() is fn for r in refs):
            refs.append(weakref.ref(fn))

    def rekey(self, fn: FunctionType, old: Key) -> None:
        """Keep ``fn`` findable after its code changed from one with key ``old``."""
        if fn.__code__.co_qualname != old[0]:
            refs = self._functions.get(old[0])
            if refs is not None:
                refs[:] = [r for r in refs if r() is not fn and r() is not None]
            self.add(fn)

    def note_cache(self, fn: FunctionType, wrapper: Any) -> None:
        refs = self._caches.setdefault(id(fn), [])
        if not any(r() is wrapper for r in refs):
            refs.append(weakref.ref(wrapper))

    def caches_of(self, fn: FunctionType) -> list[Any]:
        return [w for w in (r() for r in self._caches.get(id(fn), ())) if w is not None]

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
        """The live functions whose code has ``key`` (qualname, first line)."""
        refs = self._functions.get(key[0])
        if not refs:
            return []
        first = key[1]
        out = []
        dead = False
        for ref in refs:  # one pass: a line shift looks up every definition below the edit
            fn = ref()
            if fn is None:
                dead = True
            elif fn.__code__.co_firstlineno == first:
                out.append(fn)
        if dead:
            refs[:] = [r for r in refs if r() is not None]
        return out

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
        if needs_heap(index, d):
            HEAP.scan()
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
    elif isinstance(obj, _LRU_TYPE):
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


def _same_file(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


class HeapScan:
    """The one scan of the GC's objects for functions of tracked modules (then young gens).

    The first call looks at every object the collector tracks; later calls only at
    generations 0 and 1, where objects made since then are (until a full collection ages
    them; :meth:`reset` forces a full scan again).
    """

    def __init__(self) -> None:
        self.full_done = False

    def scan(self) -> None:
        from relive.runtime.registry import REGISTRY

        indexes = [t.live for t in REGISTRY]
        if not indexes:
            return
        if self.full_done:
            objects = gc.get_objects(generation=0) + gc.get_objects(generation=1)
        else:
            objects = gc.get_objects()
            self.full_done = True
        functions = [o for o in objects if type(o) is FunctionType]
        del objects
        owner: dict[str, LiveIndex | None] = {}
        for fn in functions:
            filename = fn.__code__.co_filename
            if filename in owner:
                live = owner[filename]
            else:
                live = next((x for x in indexes if x.owns(fn.__code__)), None)
                owner[filename] = live
            if live is not None:
                live.add(fn)

    def reset(self) -> None:
        self.full_done = False


HEAP = HeapScan()
