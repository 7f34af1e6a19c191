"""Running a program as ``__main__`` the way ``python script.py`` / ``python -m mod`` does,
with its main module tracked like any other.

The differences from plain Python that a program can see are none by design: ``sys.argv``,
``sys.path[0]``, ``__main__`` with its ``__file__``, ``__spec__``, ``__loader__`` and
``__package__``, the exit status and the traceback of an uncaught exception (without relive's
own frames) are as Python makes them.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import os
import sys
import types
from dataclasses import dataclass
from types import CodeType

from relive._cpython.modules import MAIN_HAS_CACHED
from relive.runtime import importhook
from relive.runtime.files import normalize
from relive.runtime.registry import REGISTRY


@dataclass(frozen=True)
class MainTarget:
    """What to run: a script path, or a module name (``-m``), and its arguments."""

    path: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"-m {self.module}" if self.module else str(self.path)


class ProgramError(Exception):
    """The program cannot be started (no such file, no such module)."""


def prepare(target: MainTarget) -> tuple[types.ModuleType, CodeType]:
    """Create ``__main__`` for ``target`` and compile it; sets ``sys.argv`` and ``sys.path``.

    The module is registered as tracked (when the filter accepts its file) before it runs.
    """
    if target.module is not None:
        return _prepare_module(target.module, target.args)
    assert target.path is not None
    return _prepare_script(target.path, target.args)


def _set_path0(entry: str) -> None:
    """Put the script's directory (or the current one, for ``-m``) first on sys.path, where
    python put the directory of whatever started this process; not at all under ``-P``
    (``-I``), where python puts nothing there."""
    if not getattr(sys.flags, "safe_path", False):
        sys.path[0] = entry


def _compile(source: bytes, filename: str) -> CodeType:
    compiler = importhook._COMPILER
    if compiler is not None:
        code: CodeType = compiler(source, filename)
        return code
    return compile(source, filename, "exec", dont_inherit=True)


def _prepare_script(path: str, args: tuple[str, ...]) -> tuple[types.ModuleType, CodeType]:
    filename = os.path.abspath(path)
    try:
        with open(filename, "rb") as f:
            source = f.read()
    except OSError as exc:
        raise ProgramError(f"can't open file {path!r}: [Errno {exc.errno}] "
                           f"{exc.strerror}") from exc
    main = types.ModuleType("__main__")
    main.__file__ = filename  # absolute, as Python makes it (sys.argv[0] stays as given)
    if MAIN_HAS_CACHED:
        main.__cached__ = None  # type: ignore[attr-defined]
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)  # type: ignore[assignment,unused-ignore]
    main.__spec__ = None
    main.__package__ = None
    main.__builtins__ = builtins  # type: ignore[attr-defined]  # the module, as python's
    sys.argv[:] = [path, *args]
    _set_path0(os.path.dirname(filename))
    code = _compile(source, filename)
    sys.modules["__main__"] = main
    if REGISTRY.filter.accepts(filename):
        importhook.compiled_by_hook(REGISTRY.register(main, filename, source))
    return main, code


def _prepare_module(name: str, args: tuple[str, ...]) -> tuple[types.ModuleType, CodeType]:
    _set_path0(os.getcwd())
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise ProgramError(f"Error while finding module specification for {name!r} "
                           f"({type(exc).__name__}: {exc})") from exc
    if spec is not None and spec.submodule_search_locations is not None:
        name = f"{name}.__main__"
        spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None:
        raise ProgramError(f"No module named {name}")
    loader = spec.loader
    if isinstance(loader, importhook.TrackingLoader):
        # __main__ is tracked below, not by its loader: give it python's own loader
        loader = spec.loader = importlib.machinery.SourceFileLoader(loader.name, loader.path)
    get_code = getattr(loader, "get_code", None)
    get_data = getattr(loader, "get_data", None)
    if get_code is None:
        raise ProgramError(f"{name} has no code to run")
    source = get_data(spec.origin) if get_data is not None and spec.origin.endswith(
        ".py") else None
    main = types.ModuleType("__main__")
    main.__file__ = spec.origin
    if MAIN_HAS_CACHED:
        main.__cached__ = spec.cached  # type: ignore[attr-defined]
    main.__loader__ = loader  # type: ignore[assignment,unused-ignore]
    main.__spec__ = spec
    main.__package__ = spec.parent
    main.__builtins__ = builtins  # type: ignore[attr-defined]  # the module, as python's
    sys.argv[:] = [spec.origin, *args]
    code = (_compile(source, spec.origin) if source is not None else get_code(name))
    sys.modules["__main__"] = main
    if source is not None and REGISTRY.filter.accepts(spec.origin):
        importhook.compiled_by_hook(REGISTRY.register(main, spec.origin, source))
    return main, code


def run_script_as(name: str, path: str) -> types.ModuleType:
    """Run the script at ``path`` as module ``name``, tracked (when the filter accepts it),
    and return the module. For ``multiprocessing``'s children, which run the parent's main
    script again as ``__mp_main__``: its functions are then the module's, and an edit of the
    script reaches them (``runpy.run_path``, which multiprocessing uses, leaves them with a
    namespace no module holds). The source is the one the session pins, if it pins one."""
    filename = os.path.abspath(path)
    source = importhook.PINNED.get(normalize(filename))
    if source is None:
        with open(filename, "rb") as f:
            source = f.read()
    module = types.ModuleType(name)
    module.__file__ = filename
    module.__loader__ = importlib.machinery.SourceFileLoader(name, filename)  # type: ignore[assignment,unused-ignore]
    module.__spec__ = None
    module.__package__ = None
    if MAIN_HAS_CACHED:
        module.__cached__ = None  # type: ignore[attr-defined]
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    code = _compile(source, filename)
    sys.modules[name] = module
    tracked = None
    if REGISTRY.filter.accepts(filename):
        tracked = REGISTRY.register(module, filename, source)
        importhook.compiled_by_hook(tracked)
    try:
        exec(code, module.__dict__)
    except BaseException:
        if tracked is not None:
            REGISTRY.unregister(tracked)
        raise
    return module


def execute(main: types.ModuleType, code: CodeType) -> None:
    """Run the program's code in ``__main__`` (exceptions propagate to the caller)."""
    exec(code, main.__dict__)


def report_uncaught(exc: BaseException) -> None:
    """Hand an uncaught exception to ``sys.excepthook`` as Python would, with a traceback
    that starts at the program's own code (relive's frames are left out)."""
    tb = exc.__traceback__
    relive_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(
            relive_dir + os.sep):
        tb = tb.tb_next
    sys.stdout.flush()
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)
