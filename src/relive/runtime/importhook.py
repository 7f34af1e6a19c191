"""The import hook: modules loaded from the program's own files are tracked from birth.

:func:`install` puts a finder first on ``sys.meta_path``. It asks the finders after it for
the spec as usual and, when the module comes from a source file the registry's filter
accepts, swaps in a loader that keeps the exact source bytes the module was built from
(the baseline is made from them, lazily). Bytecode caching works as before.
"""

from __future__ import annotations

import functools
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from importlib.machinery import ModuleSpec
from types import CodeType, ModuleType
from typing import Any

from relive.runtime.files import PathFilter, normalize
from relive.runtime.registry import REGISTRY, TrackedModule


class TrackingLoader(importlib.machinery.SourceFileLoader):
    """A source loader that registers the module and its source before running it."""

    def exec_module(self, module: ModuleType) -> None:
        source = self.get_data(self.path)
        code = self.get_code(module.__name__)
        if code is None:  # pragma: no cover - SourceFileLoader always has code for .py
            raise ImportError(f"cannot load {self.path}", name=module.__name__)
        tracked = REGISTRY.register(module, self.path, source)
        compiled_by_hook(tracked)
        try:
            exec(code, module.__dict__)
        except BaseException:
            REGISTRY.unregister(tracked)
            raise

    def get_data(self, path: str) -> bytes:
        pinned = PINNED.get(normalize(path)) if PINNED else None
        return pinned if pinned is not None else super().get_data(path)

    def get_code(self, fullname: str) -> CodeType | None:
        compiler = _COMPILER
        if compiler is None:
            if PINNED and normalize(self.path) in PINNED:  # not the bytecode of the file
                return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)
            return super().get_code(fullname)
        code: CodeType = compiler(self.get_data(self.path), self.path)
        for observe in list(CODE_OBSERVERS):
            try:
                code = observe(code)
            except Exception:  # an observer must never break the program's imports
                continue
        return code


# The source to import instead of the file's, by normalised file name: a process that joins a
# program's session (relive run) runs the source the session's other processes run, which is
# not the file's when the file holds an edit they refused.
PINNED: dict[str, bytes] = {}

# An alternative compiler for tracked sources (EnC mode plugs in here); None: the default.
_COMPILER: Any = None

# Called with each tracked module's code before it runs; each returns the code to run (a
# debugger binds breakpoints set before the import). The standard loaders' own get_code is
# what a debugger usually wraps; tracked modules compiled in EnC mode do not go through it.
CODE_OBSERVERS: list[Callable[[CodeType], CodeType]] = []


class TrackingFinder:
    """Finds specs through the other finders; tracks the ones from the program's files.

    A meta path finder by its ``find_spec`` alone: deriving from ``importlib.abc`` would
    import ``importlib.resources`` (and with it ``pathlib``, ``tempfile``...) into every
    program before its first line."""

    def __init__(self) -> None:
        self._local = threading.local()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    return self._track(spec)
            return None
        finally:
            self._local.busy = False

    @staticmethod
    def _track(spec: ModuleSpec) -> ModuleSpec:
        loader = spec.loader
        if (type(loader) is importlib.machinery.SourceFileLoader and spec.origin
                and REGISTRY.filter.accepts(spec.origin)):
            spec.loader = TrackingLoader(spec.name, spec.origin)
        return spec


_FINDER: TrackingFinder | None = None
_install_lock = threading.Lock()


def compiled_by_hook(tracked: TrackedModule) -> None:
    """Note that ``tracked`` was compiled by this hook's compiler: in EnC mode when it is on,
    with the plain code the EnC cache kept for the first baseline."""
    tracked.enc = _COMPILER is not None
    source = tracked.source_bytes
    if tracked.enc and source is not None:
        from relive.runtime.enc.cache import load_plain_code

        tracked.plain_code = functools.partial(load_plain_code, tracked.filename, source)


def _enc_load(source: bytes, path: str) -> CodeType:
    from relive.runtime.enc.cache import load_enc_code

    return load_enc_code(path, source)


def install(paths: Iterable[str] | None = None, enc: bool = True) -> list[TrackedModule]:
    """Track the program's modules from now on (idempotent); see :func:`relive.install`.

    ``enc`` compiles them in EnC mode (cached on disk like bytecode), so that frames running
    their code can later move onto new code. Returns the modules already imported that it
    starts to track from their current file.
    """
    global _FINDER, _COMPILER
    with _install_lock:
        _COMPILER = _enc_load if enc else None
        if paths is not None:
            REGISTRY.filter = PathFilter(include=tuple(normalize(p) for p in paths))
        if _FINDER is None or _FINDER not in sys.meta_path:
            _FINDER = TrackingFinder()
            sys.meta_path.insert(0, _FINDER)
    return REGISTRY.track_existing(list(sys.modules.values()))


def uninstall() -> None:
    """Stop tracking new imports (modules already tracked stay tracked)."""
    global _FINDER
    with _install_lock:
        if _FINDER is not None and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        _FINDER = None


def installed() -> bool:
    return _FINDER is not None and _FINDER in sys.meta_path
