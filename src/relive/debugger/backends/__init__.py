"""How the engine hears the program run: a backend per interpreter family.

:mod:`~relive.debugger.backends.base` holds what the engine needs from a backend (and what a
backend needs from the engine); :func:`make_backend` chooses the backend for this interpreter.
:mod:`~relive.debugger.backends.monitoring` is the
``sys.monitoring`` backend (3.12+), :mod:`~relive.debugger.backends.tracing` the trace-function
backend (3.11), with its :mod:`~relive.debugger.backends.entry_hooks`;
:mod:`~relive.debugger.backends.import_watch` sees module code just before it runs.
"""

from __future__ import annotations

from relive._cpython.tracing import HAS_MONITORING
from relive.debugger.backends.base import Backend, EngineHooks

__all__ = ["Backend", "EngineHooks", "make_backend"]


def make_backend(hooks: EngineHooks) -> Backend:
    """The backend for this interpreter: ``sys.monitoring`` where it exists, tracing else."""
    if HAS_MONITORING:
        from relive.debugger.backends.monitoring import MonitoringBackend

        return MonitoringBackend(hooks)
    from relive.debugger.backends.tracing import TracingBackend

    return TracingBackend(hooks)
