"""The runtime side of Edit and Continue: apply deltas to the live process.

The public functions are in :mod:`relive.runtime.api` (``install``, ``tracked``, ``reload``,
``apply``, ``run_code``); the apply pipeline is :mod:`relive.runtime.apply`, moving running
frames is :mod:`relive.runtime.remap`, and EnC mode is :mod:`relive.runtime.enc`. An apply is
all or nothing and never raises for a refused edit: it returns an :class:`ApplyResult` that says
what happened and why.
"""

from __future__ import annotations

from relive.runtime.api import install, reload, run_code, tracked
from relive.runtime.errors import DeletedDefinitionError
from relive.runtime.events import on_update
from relive.runtime.importhook import installed, uninstall
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.result import ApplyResult, StaleFrame

__all__ = [
    "REGISTRY",
    "ApplyResult",
    "DeletedDefinitionError",
    "StaleFrame",
    "TrackedModule",
    "install",
    "installed",
    "on_update",
    "reload",
    "run_code",
    "tracked",
    "uninstall",
]
