"""relive: Edit and Continue for Python.

Change the source of a running program and the live process takes the change at once,
keeping its objects, sockets and loop counters. The public API is small and flat; everything
else lives in submodules:

- :mod:`relive.delta` — the compiler side: source text → :class:`Baseline` → :class:`Delta`
  (semantic edits, rude edits, line maps). Pure: it never touches live objects.

Names are imported on first use, so that ``import relive`` costs next to nothing in a program
that is never edited.

PYTEST_DONT_REWRITE: pytest loads relive's plugin (``pytest --relive``) in every session, and
would otherwise warn that this package, imported already under ``relive run``, cannot have its
assertions rewritten (an error with ``-W error``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Baseline": "relive.delta",
    "Delta": "relive.delta",
    "GenerationMismatchError": "relive.delta",
    "LineMap": "relive.delta",
    "RudeEdit": "relive.delta",
    "RudeEditKind": "relive.delta",
    "SemanticEdit": "relive.delta",
    "EditKind": "relive.delta",
    "EditTarget": "relive.delta",
    "SourceError": "relive.delta",
    "compute_delta": "relive.delta",
    "ApplyResult": "relive.runtime",
    "DeletedDefinitionError": "relive.runtime",
    "apply": "relive.runtime.api",
    "install": "relive.runtime",
    "on_update": "relive.runtime",
    "reload": "relive.runtime",
    "run_code": "relive.runtime",
    # what `%load_ext relive` calls in IPython and Jupyter
    "load_ipython_extension": "relive.ipython",
    "unload_ipython_extension": "relive.ipython",
}

__all__ = [
    "ApplyResult",
    "Baseline",
    "DeletedDefinitionError",
    "Delta",
    "EditKind",
    "EditTarget",
    "GenerationMismatchError",
    "LineMap",
    "RudeEdit",
    "RudeEditKind",
    "SemanticEdit",
    "SourceError",
    "__version__",
    "apply",
    "compute_delta",
    "install",
    "on_update",
    "reload",
    "run_code",
]

if TYPE_CHECKING:
    from relive.delta import (
        Baseline,
        Delta,
        EditKind,
        EditTarget,
        GenerationMismatchError,
        LineMap,
        RudeEdit,
        RudeEditKind,
        SemanticEdit,
        SourceError,
        compute_delta,
    )
    from relive.runtime import (
        ApplyResult,
        DeletedDefinitionError,
        install,
        on_update,
        reload,
        run_code,
    )
    from relive.runtime.api import apply


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'relive' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
