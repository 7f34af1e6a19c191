"""EnC mode: compile Python source so that any frame of it can later be remapped.

This package's namespace is the one EnC surface for the rest of relive: the debugger imports
nothing else of it. Its modules: :mod:`~relive.runtime.enc.tree` (a function's statement tree),
:mod:`~relive.runtime.enc.transform` (the tree transform), :mod:`~relive.runtime.enc.compile`
(compile and check), :mod:`~relive.runtime.enc.bytecode` (marks and rewrites of EnC bytecode),
:mod:`~relive.runtime.enc.handlers` (the remap handler's exception-table entries),
:mod:`~relive.runtime.enc.safety` (the safety net), :mod:`~relive.runtime.enc.cache` (EnC code
on disk) and :mod:`~relive.runtime.enc.signal` (what EnC code calls at run time).


A module loaded under relive is compiled in *EnC mode*, the way the .NET debugger must switch
Edit and Continue on when a module loads. This module owns that transformation. Each ``def``
and ``async def`` (methods and nested functions included; lambdas and class bodies are not
remapped) is compiled as::

    def f(a, b):
        "docstring stays first"
        try:
            <user body, unchanged except for `for` headers, see below>
            return                                   # the implicit return, made explicit
        except __relive_RemapSignal__:               # the remap handler
            pass
        if __relive_strip__ is None:                 # never true: the landing, reached by a
            pass                                     # jump (on the line after the body's last)
        try:                                         # the trailer: only reached after a remap
            return __relive_resume__(lambda: (cells...))()  # or `yield from`, `await`, or a
        except BaseException:                        # delegation loop (async generators)
            __relive_strip__()                       # drop this frame's traceback entry
            raise

and the user's body is compiled as it is: a running loop's iterator is on the frame's value
stack, where a remap reads it (:mod:`relive._cpython.valuestack`).

Invariants, and why they hold:

- *Zero run-time cost.* A ``try`` costs nothing on 3.11+ until something is raised; the
  synthetic ``try``/``return`` carry no source position (``lineno = -1``), so the compiler emits
  exactly the instructions and line table it emits for the plain function, with the same
  locals (``benchmarks/enc_overhead.py`` measures it).
- *Nothing a user sees changes.* Names, ``co_firstlineno``, ``co_qualname``, flags, docstrings,
  line numbers, tracebacks and tracing events of the user's code are those of a plain compile.
  The hidden names (what a continuation carries; async generators' delegation loop) start with
  ``__relive_`` so that debuggers can filter them, and end with ``__`` so that the compiler
  does not mangle them inside classes.
- *Exceptions pass through untouched.* After compiling, the remap handler's reach is cut down
  to the offsets where a line event can fire, since the signal is only ever raised from one
  (:mod:`relive.runtime.enc.handlers`): an exception raised anywhere else (in a call, an
  operator, an attribute access...) unwinds through the frame exactly as through plain code
  (same events for ``sys.settrace`` and ``sys.monitoring``, same cost). Only an exception
  raised by the first instruction of a line enters the handler, is found not to be the signal
  and is re-raised unchanged (its traceback is not extended); ``sys.monitoring`` tools then
  see an ``EXCEPTION_HANDLED`` at :func:`remap_handler_offset`.
- *The handler binds no local.* A hidden local would cost every call of every function (the
  interpreter clears it on entry and on exit: about 3 % per local on a small function, as
  measured on 3.12), so the handler matches the signal by name and the trailer reaches its
  continuation through a builtin. The three builtins (``__relive_RemapSignal__``,
  ``__relive_resume__``, ``__relive_strip__``) are installed when this module is imported;
  EnC code only exists where this module compiled or loaded it. (Code run with a
  ``__builtins__`` that lacks them would turn an exception raised at a remap point into a
  ``NameError``.)
- *Cells stay shared.* A function that owns or uses closure cells passes them to the
  continuation through a lambda built in the trailer (it captures the frame's own cells), so
  that closures created before a remap and the remapped frame keep seeing the same variables.
  Which names are cells (and which functions are generators) is only known after symbol
  analysis, so :func:`enc_compile` first compiles the tree plainly and reads both from the
  code objects.
- *It never breaks a program.* The EnC code of a unit is checked against its plain code
  (:mod:`relive.runtime.enc.safety`); a function that cannot be compiled in EnC mode is
  compiled plainly, and reported (:func:`enc_compile_checked`): plain Python's verdict on a
  source is the only one that can fail an import.
- *The trailer has a line.* The trailer is given the ``def`` line so
  that ``frame.f_lineno`` of a frame that delegates to its continuation is a real line (tools
  such as ``inspect.stack()`` need one); the trailer only ever runs after a remap.
"""

from __future__ import annotations

from relive.runtime.enc.bytecode import in_remap_machinery, is_enc_code, remap_handler_offset
from relive.runtime.enc.compile import (
    EncCompiled,
    EncPredictionError,
    TreeTable,
    enc_compile,
    enc_compile_checked,
    enc_compile_with_trees,
    future_flags,
)
from relive.runtime.enc.safety import (
    DefKey,
    EncFallbackNotice,
    Fallback,
    FunctionTable,
    code_kind,
    definition_paths,
    fallback_rude_edits,
    find_code,
    function_table,
    iter_code_objects,
)
from relive.runtime.enc.signal import RemapSignal, drop_pending, set_pending
from relive.runtime.enc.transform import transform_function, transform_module
from relive.runtime.enc.tree import (
    HIDDEN_PREFIX,
    RESUME_NAME,
    SIGNAL_NAME,
    STRIP_NAME,
    FunctionKind,
    FunctionNode,
    Path,
    annotate_function,
    for_local,
    function_kind,
    is_remap_wrapper,
    iter_statements,
    loop_index,
    mark_synthetic,
    statement_path,
)

__all__ = [
    "HIDDEN_PREFIX",
    "RESUME_NAME",
    "SIGNAL_NAME",
    "STRIP_NAME",
    "DefKey",
    "EncCompiled",
    "EncFallbackNotice",
    "EncPredictionError",
    "Fallback",
    "FunctionKind",
    "FunctionNode",
    "FunctionTable",
    "Path",
    "RemapSignal",
    "TreeTable",
    "annotate_function",
    "code_kind",
    "definition_paths",
    "drop_pending",
    "enc_compile",
    "enc_compile_checked",
    "enc_compile_with_trees",
    "fallback_rude_edits",
    "find_code",
    "for_local",
    "function_kind",
    "function_table",
    "future_flags",
    "in_remap_machinery",
    "is_enc_code",
    "is_remap_wrapper",
    "iter_code_objects",
    "iter_statements",
    "loop_index",
    "mark_synthetic",
    "remap_handler_offset",
    "set_pending",
    "statement_path",
    "transform_function",
    "transform_module",
]
