"""Every function object of the program's files, found by its code wherever it is held.

A definition's function object may be held where no walk from the module's namespace leads:
``Command.callback`` of a click command, a route in a router's list, a task registry, the
``atexit`` and ``signal`` modules' C state, a thread's target, a ``partial``, a weak reference,
an instance's ``__dict__`` or ``__slots__``. Whoever holds it, the function object itself is
tracked by the garbage collector (CPython tracks every function), so the collector's lists
reach all of them. This module keeps a process-wide index of those functions, by file and
qualified name, held weakly:

* the first time it is needed (the first apply), one pass over ``gc.get_objects()`` indexes
  every function of the program's files: the cost of the heap, once per process;
* a module imported after that pass gets one more pass the first time it is edited (the
  functions its import made have aged out of the young generations by then), and so does the
  first edit of a definition whose functions are made at run time (a nested function, a
  lambda): the closures made until then are all found;
* every apply looks at the young generations (0 and 1: a few thousand objects), where the
  functions made since the last look are, unless a collection has aged them.

So an apply costs the young generations, not the heap. What this misses: a function made at
run time (a closure, a lambda, a copy made with ``types.FunctionType``) after the pass that
covered it, that aged into the old generation before the apply; and objects the program put out
of the collector's reach with ``gc.freeze()`` (:func:`why_none` says so when it matters).
Noting young functions from a ``gc.callbacks`` hook before each collection that ages them
would close the first gap, but it costs the program at every such collection from the first
edit on (measured in a loop that keeps many closures alive for a while: 13 % more time on
3.13, 30 % on 3.12), so it is not done.

Which generations are young is version-specific, and kept in :func:`_young_generations`.
"""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Iterable
from types import FunctionType
from typing import Any

from relive._cpython.collector import YOUNG_GENERATIONS
from relive.runtime.apply.codetools import is_continuation
from relive.runtime.files import normalize
from relive.runtime.registry import REGISTRY

Key = tuple[str, int]  # (co_qualname, co_firstlineno)

LRU_TYPE: type = type(functools.lru_cache(maxsize=1)(lambda: None))
_WANTED = frozenset({FunctionType, LRU_TYPE})
_UNSEEN = object()


def _young_generations() -> tuple[int, ...] | None:
    """The collector's generations where functions made since the last look are (see
    :mod:`relive._cpython.collector`). None where that is not known: every scan then looks at
    the whole heap, which is slow but misses nothing."""
    return YOUNG_GENERATIONS


def _wanted(objects: Iterable[object]) -> list[Any]:
    return [o for o in objects if type(o) in _WANTED]


class HeapScan:
    """The process-wide index of the program's function objects (one instance: :data:`HEAP`).

    Functions are kept by normalised file name, then by ``co_qualname``, each under its
    ``id`` with a weak reference; ``lru_cache`` wrappers found around them are kept by the
    function's ``id`` (updating the function must clear them).
    """

    def __init__(self) -> None:
        self.full_done = False
        self._by_file: dict[str, dict[str, dict[int, weakref.ref[FunctionType]]]] = {}
        self._caches: dict[int, list[weakref.ref[Any]]] = {}
        self._files: dict[str, object] = {}  # co_filename -> normalised name, or None: not ours
        self._extra: set[str] = set()  # tracked files the path filter does not accept
        self._filter: object = None
        self._covered: set[str] = set()  # files of the modules imported before the last pass
        self._closures_done = False  # a pass was made for an apply that needed closures
        self._added = 0  # entries added since dead ones were last dropped
        self._live = 0

    # -- which files are the program's -------------------------------------------------

    def file_of(self, filename: str) -> str | None:
        """The normalised name of ``filename`` if it is one of the program's files, else None
        (the standard library, site-packages, ``<string>``...)."""
        known = self._files.get(filename, _UNSEEN)
        if known is _UNSEEN:
            known = None
            if filename.endswith(".py"):
                norm = normalize(filename)
                if norm in self._extra or REGISTRY.filter.accepts(filename):
                    known = norm
            self._files[filename] = known
        return known  # type: ignore[return-value]

    def cover(self, filename: str) -> str:
        """Make sure functions of ``filename`` (a tracked module's file) are indexed; returns
        its normalised name. A file the path filter does not accept (a module tracked by
        name) is added, and then needs one more pass over the heap."""
        norm = normalize(filename)
        if norm not in self._extra and not REGISTRY.filter.accepts(filename):
            self._extra.add(norm)
            self._files = {}
            self.full_done = False
        return norm

    # -- indexing ----------------------------------------------------------------------

    def add(self, fn: FunctionType) -> None:
        code = fn.__code__
        file = self.file_of(code.co_filename)
        if file is None or is_continuation(code):
            return
        by_name = self._by_file.get(file)
        if by_name is None:
            by_name = self._by_file[file] = {}
        entries = by_name.get(code.co_qualname)
        if entries is None:
            entries = by_name[code.co_qualname] = {}
        ref = entries.get(id(fn))
        if ref is None or ref() is not fn:
            entries[id(fn)] = weakref.ref(fn)
            self._added += 1

    def rekey(self, fn: FunctionType, old_qualname: str) -> None:
        """Keep ``fn`` findable after its code changed from one named ``old_qualname``."""
        if fn.__code__.co_qualname != old_qualname:
            file = self.file_of(fn.__code__.co_filename)
            entries = self._by_file.get(file or "", {}).get(old_qualname)
            if entries is not None:
                entries.pop(id(fn), None)
            self.add(fn)

    def note_cache(self, fn: FunctionType, wrapper: Any) -> None:
        refs = self._caches.setdefault(id(fn), [])
        if not any(r() is wrapper for r in refs):
            refs.append(weakref.ref(wrapper))

    def caches_of(self, fn: FunctionType) -> list[Any]:
        return [w for w in (r() for r in self._caches.get(id(fn), ())) if w is not None]

    def _take(self, objects: Iterable[Any]) -> None:
        for obj in objects:
            if type(obj) is FunctionType:
                self.add(obj)
            else:  # an lru_cache wrapper: note it for the function it calls
                fn = getattr(obj, "__wrapped__", None)
                if type(fn) is FunctionType and self.file_of(fn.__code__.co_filename):
                    self.add(fn)
                    self.note_cache(fn, obj)
        if self._added > max(1024, self._live):
            self._drop_dead()

    def _drop_dead(self) -> None:
        """Forget functions that died (closures come and go): amortised over the adds."""
        live = 0
        for by_name in self._by_file.values():
            for name, entries in list(by_name.items()):
                dead = [k for k, r in entries.items() if r() is None]
                for k in dead:
                    del entries[k]
                if not entries:
                    del by_name[name]
                live += len(entries)
        for key, refs in list(self._caches.items()):
            refs[:] = [r for r in refs if r() is not None]
            if not refs:
                del self._caches[key]
        self._live = live
        self._added = 0

    # -- lookups ----------------------------------------------------------------------

    def functions(self, file: str, key: Key) -> list[FunctionType]:
        """The live functions of ``file`` whose code has ``key`` (qualname, first line)."""
        entries = self._by_file.get(file, {}).get(key[0])
        if not entries:
            return []
        first = key[1]
        out = []
        for ref in list(entries.values()):
            fn = ref()
            if fn is not None and fn.__code__.co_firstlineno == first:
                out.append(fn)
        return out

    # -- scanning ----------------------------------------------------------------------

    def scan(self, file: str | None = None, closures: bool = False) -> None:
        """Bring the index up to date for an apply to the module of ``file`` (normalised).

        The whole heap is searched the first time, when that module was imported after the
        last pass, and the first time an apply needs ``closures`` (functions made at run time:
        waiting for that need keeps the closures made before it findable); else the young
        generations only. Called once per apply, under the apply lock."""
        if REGISTRY.filter is not self._filter:  # other files are the program's now
            self._filter = REGISTRY.filter
            self._files = {}
            self.full_done = False
        young = _young_generations()
        if (self.full_done and young is not None and (closures <= self._closures_done)
                and (file is None or file in self._covered)):
            objects: list[Any] = []
            for generation in young:
                objects += _wanted(gc.get_objects(generation))
            self._take(objects)
            return
        self._covered.update(_imported_files())
        self._take(_wanted(gc.get_objects()))
        self.full_done = True
        self._closures_done |= closures

    def reset(self) -> None:
        """The next scan looks at the whole heap again."""
        self.full_done = False

    def frozen(self) -> int:
        """How many objects the program put out of the collector's reach (``gc.freeze``)."""
        return gc.get_freeze_count()


def _imported_files() -> set[str]:
    """The files of the tracked modules whose import has finished (one still running makes
    more functions after the pass)."""
    return {normalize(t.filename) for t in REGISTRY
            if not getattr(getattr(t.module, "__spec__", None), "_initializing", False)}


HEAP = HeapScan()


def why_none(path: str) -> str:
    """The warning for an update whose definition has no function object in the process."""
    note = (f"{path}: nothing to update: no function object in the process runs this "
            f"definition's code (the program keeps none: every reference to it was dropped, "
            f"or its decorator returned something that does not hold the function)")
    frozen = HEAP.frozen()
    if frozen:
        note += (f"; {frozen} objects are frozen with gc.freeze() and could not be searched "
                 f"(gc.unfreeze() before the edit makes them reachable)")
    return note
