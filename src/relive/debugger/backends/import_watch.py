"""Seeing module code just before it runs, to bind breakpoints set before the import.

The import system asks a module's loader for its code object (``get_code``) right before it
executes it, and ``runpy`` does the same for ``-m``. Wrapping the two standard file loaders'
``get_code`` lets the engine index that code first. An audit hook on ``exec`` would see the
same moment, but on 3.11 every ``frame.f_code`` read is an audited event, so an audit hook
would be called on every traced call; this costs nothing outside imports.

The wrappers call through to the original methods and are removed by the function that
:func:`watch_imports` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.machinery import SourceFileLoader, SourcelessFileLoader
from types import CodeType
from typing import Any


def watch_imports(on_code: Callable[[CodeType], CodeType]) -> Callable[[], None]:
    """Call ``on_code(code)`` with each module's code object before the module runs; the
    module runs the code object ``on_code`` returns.

    Returns a function that undoes the watch. ``on_code`` must not raise (an exception
    would fail the import); errors in it are swallowed.
    """
    originals: list[tuple[type, Any]] = []
    for loader_class in (SourceFileLoader, SourcelessFileLoader):
        original = loader_class.get_code

        def get_code(self: Any, fullname: str, _original: Any = original) -> Any:
            code = _original(self, fullname)
            if isinstance(code, CodeType):
                try:
                    return on_code(code)
                except Exception:  # never break the program's imports
                    pass
            return code

        originals.append((loader_class, original))
        setattr(loader_class, "get_code", get_code)  # noqa: B010 - typeshed hides the method

    # modules that relive tracks in EnC mode are compiled by its own loader
    from relive.runtime.importhook import CODE_OBSERVERS

    CODE_OBSERVERS.append(on_code)

    def undo() -> None:
        for loader_class, original in originals:
            setattr(loader_class, "get_code", original)  # noqa: B010
        if on_code in CODE_OBSERVERS:
            CODE_OBSERVERS.remove(on_code)

    return undo
