"""What relive needs to know of CPython's internals, version by version, in one place.

Each concern is one module, and every branch on the interpreter's version for it is written
there; the layers above (:mod:`relive.delta` for the pure facts, :mod:`relive.runtime`,
:mod:`relive.debugger`) ask these modules and test no version of their own for these facts.

- :mod:`~relive._cpython.code` — code object flags, and the kinds of function read from them.
- :mod:`~relive._cpython.bytecode` — inline caches, arguments, jump targets, positions the
  compiler gives.
- :mod:`~relive._cpython.exception_table` — ``co_exceptiontable`` read and written.
- :mod:`~relive._cpython.linetable` — ``co_linetable`` written, and swapped in place under a
  running frame (3.11 to 3.13).
- :mod:`~relive._cpython.frames` — what ``frame.f_locals`` is.
- :mod:`~relive._cpython.valuestack` — a paused frame's value stack (a ``with``'s exit),
  through ctypes.
- :mod:`~relive._cpython.tracing` — ``sys.monitoring`` or trace functions.
- :mod:`~relive._cpython.threadstate` — other threads' trace functions (3.11, through ctypes).
- :mod:`~relive._cpython.collector` — the garbage collector's generations.
- :mod:`~relive._cpython.syntax` — fields of ``ast`` nodes built by hand.
- :mod:`~relive._cpython.modules` — the attributes python gives ``__main__``.
"""
