"""The registry of tracked modules: which files relive follows, and what it holds for each.

A module is *tracked* when its code comes from one of the program's own source files (by
default: any ``.py`` file outside the standard library, site-packages and relive itself). For
each tracked module the registry keeps the source it was imported from, and from it, on first
use, the module's :class:`~relive.delta.Baseline`. Nothing is parsed at import time, so a
program that is never edited pays only for reading its sources once.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from types import CodeType, FunctionType, ModuleType
from typing import TYPE_CHECKING

from relive.delta import Baseline
from relive.delta.units import pick_codes
from relive.runtime.files import PathFilter, normalize

if TYPE_CHECKING:
    import ast

    from relive.runtime.apply.live import LiveIndex

SourceTransform = Callable[["ast.Module", str], "ast.Module"]


class TrackedModule:
    """One tracked module: the live module object and what relive knows of its source."""

    def __init__(self, module: ModuleType, filename: str, source: bytes | None) -> None:
        self.module = module
        self.name = module.__name__
        self.filename = filename
        self._source = source
        # the bytes the current baseline was made from, when known (import, last apply)
        self.source_bytes: bytes | None = source
        self._baseline: Baseline | None = None
        self.verified: bool | None = None  # None: imported under relive (nothing to verify)
        self.enc = False  # compiled in EnC mode: its frames can be remapped
        # EnC mode: the plain code of the import-time source, when the EnC cache kept it; it
        # seeds the first baseline, so that the delta engine need not compile the old side
        self.plain_code: Callable[[], CodeType | None] | None = None
        # a transform of the parsed source of every unit compiled for this module's new code,
        # given the tree and the unit's text (or the whole new source: units keep the real
        # line numbers); it returns the tree to compile. For modules whose import transformed
        # their code too: pytest's assertion rewriting of test modules (relive.pytest_plugin).
        # The delta engine still compares the untransformed code; only what is installed is
        # transformed.
        self.transform: SourceTransform | None = None
        # what the apply keeps of this module between applies (see relive.runtime.apply)
        self.live_index: LiveIndex | None = None
        # deleted functions with their tombstone code, by definition path: an insert of the
        # same definition revives the same objects
        self.tombstones: dict[str, list[tuple[FunctionType, CodeType]]] = {}
        # code objects of this module that an apply replaced (by id; the reference tells a
        # reused id apart)
        self.replaced: dict[int, weakref.ref[CodeType]] = {}
        # copies of this module's code that stand for the original (a debugger's entry-hooked
        # copy), by the copy's id: the copy's reference and the original
        self.aliases: dict[int, tuple[weakref.ref[CodeType], CodeType]] = {}

    def take_file_now(self) -> None:
        """Take the file as it is now for the source this module runs (a module tracked
        after its import, when relive comes into a running process): a later save of the
        file is then an edit to apply. The first apply checks this against the live code
        (:mod:`relive.runtime.apply.verify`)."""
        if self._baseline is not None or self._source is not None:
            return
        try:
            with open(self.filename, "rb") as f:
                self._source = self.source_bytes = f.read()
        except OSError:
            return  # the baseline is read on first use, as for any module tracked late

    @property
    def baseline(self) -> Baseline:
        """The baseline; made from the import-time source on first use."""
        if self._baseline is None:
            source = self._source
            if source is None:
                with open(self.filename, "rb") as f:
                    source = f.read()
            baseline = Baseline.from_source(source, self.filename, self.name)
            if self.plain_code is not None and self._source is not None:
                _seed_compare_codes(baseline, self.plain_code)
            self._baseline = baseline
            self._source = None
            self.plain_code = None
        return self._baseline

    @baseline.setter
    def baseline(self, value: Baseline) -> None:
        self._baseline = value

    @property
    def generation(self) -> int:
        return self._baseline.generation if self._baseline is not None else 0

    def note_replaced(self, codes: Iterable[CodeType]) -> None:
        """An apply took ``codes`` out of service: a frame still running one is stale."""
        for code in codes:
            key = id(code)
            self.replaced[key] = weakref.ref(code, functools.partial(self._forget_replaced, key))

    def _forget_replaced(self, key: int, _ref: object) -> None:
        self.replaced.pop(key, None)

    def is_replaced(self, code: CodeType) -> bool:
        """Did an apply replace ``code`` (is a frame running it stale)? A frame running an
        alias of a code (a debugger's entry-hooked copy, still running after the function got
        its original back) runs that code."""
        alias = self.aliases.get(id(code))
        if alias is not None and alias[0]() is code:
            code = alias[1]
        ref = self.replaced.get(id(code))
        return ref is not None and ref() is code

    def __repr__(self) -> str:
        return f"<TrackedModule {self.name} {self.filename} gen {self.generation}>"


def _seed_compare_codes(baseline: Baseline, plain_code: Callable[[], CodeType | None]) -> None:
    """Give a module's first baseline the plain code of its import, when the EnC cache kept
    it: the delta engine then need not compile the old side of an edit."""
    try:
        plain = plain_code()
        if plain is not None:
            baseline.cache_codes(pick_codes(plain, (d for d in baseline.index.values()
                                                    if d.kind != "module")), "compare")
    except Exception:  # an optimisation only: the engine compiles what it does not find
        return


class Registry:
    """All tracked modules of the process (one instance: :data:`REGISTRY`)."""

    def __init__(self) -> None:
        self.filter = PathFilter()
        self._by_file: dict[str, TrackedModule] = {}
        self._by_name: dict[str, TrackedModule] = {}
        # by module object: a module may rename itself (``__name__ = "decimal"``)
        self._by_module: dict[int, TrackedModule] = {}
        # by a code object's file name as compiled in (memo of by_file, reset on any change)
        self._by_code_file: dict[str, TrackedModule | None] = {}
        self._lock = threading.RLock()
        # applies are serialised: one delta at a time in the whole process
        self.apply_lock = threading.RLock()
        # called with each module registered, in the thread that registers it
        self._listeners: list[Callable[[TrackedModule], None]] = []

    def listen(self, listener: Callable[[TrackedModule], None]) -> Callable[[], None]:
        """Call ``listener(tracked)`` after each registration, in the registering thread (an
        import); what it raises is ignored. Returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def register(self, module: ModuleType, filename: str,
                 source: bytes | None) -> TrackedModule:
        tracked = self._register(module, filename, source)
        for listener in list(self._listeners):
            try:
                listener(tracked)
            except Exception:  # a listener must not break the program's import
                pass
        return tracked

    def _register(self, module: ModuleType, filename: str,
                  source: bytes | None) -> TrackedModule:
        with self._lock:
            tracked = TrackedModule(module, os.path.abspath(filename), source)
            old = self._by_name.get(tracked.name)
            if old is not None:
                self._by_file.pop(normalize(old.filename), None)
                self._by_module.pop(id(old.module), None)
            self._by_file[normalize(filename)] = tracked
            self._by_name[tracked.name] = tracked
            self._by_module[id(module)] = tracked
            self._by_code_file.clear()
            return tracked

    def unregister(self, tracked: TrackedModule) -> None:
        with self._lock:
            if self._by_name.get(tracked.name) is tracked:
                del self._by_name[tracked.name]
            if self._by_file.get(normalize(tracked.filename)) is tracked:
                del self._by_file[normalize(tracked.filename)]
            if self._by_module.get(id(tracked.module)) is tracked:
                del self._by_module[id(tracked.module)]
            self._by_code_file.clear()

    def get(self, module: ModuleType | str) -> TrackedModule | None:
        """The tracked module for a module object, a module name or a file name."""
        with self._lock:
            if isinstance(module, ModuleType):
                tracked = self._by_module.get(id(module))
                return tracked if tracked is not None and tracked.module is module else None
            return self._by_name.get(module) or self._by_file.get(normalize(module))

    def by_file(self, filename: str) -> TrackedModule | None:
        with self._lock:
            return self._by_file.get(normalize(filename))

    def for_code(self, code: CodeType) -> TrackedModule | None:
        """The tracked module ``code`` was compiled from (by its file), if any. Cheap: asked
        for every frame on the stacks when an apply looks for running code."""
        name = code.co_filename
        try:
            return self._by_code_file[name]
        except KeyError:
            pass
        with self._lock:
            found = self._by_file.get(normalize(name)) if not name.startswith("<") else None
            self._by_code_file[name] = found
            return found

    def files(self) -> set[str]:
        with self._lock:
            return {t.filename for t in self._by_name.values()}

    def __iter__(self) -> Iterator[TrackedModule]:
        with self._lock:
            return iter(list(self._by_name.values()))

    def track_existing(self, modules: Iterable[ModuleType]) -> list[TrackedModule]:
        """Track modules imported before :func:`relive.install` (from their current file)."""
        out = []
        for module in modules:
            filename = getattr(module, "__file__", None)
            if not isinstance(filename, str) or not self.filter.accepts(filename):
                continue
            if self.get(module) is not None or not os.path.exists(filename):
                continue
            tracked = self.register(module, filename, None)
            tracked.verified = False  # checked against the live code on first use
            out.append(tracked)
        return out


REGISTRY = Registry()
