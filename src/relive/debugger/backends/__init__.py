"""How the engine hears the program run: a backend per interpreter family.

:mod:`~relive.debugger.backends.base` holds what the engine needs from a backend and the choice
of backend for this interpreter; :mod:`~relive.debugger.backends.monitoring` is the
``sys.monitoring`` backend (3.12+), :mod:`~relive.debugger.backends.tracing` the trace-function
backend (3.11), with its :mod:`~relive.debugger.backends.entry_hooks`;
:mod:`~relive.debugger.backends.import_watch` sees module code just before it runs.
"""
