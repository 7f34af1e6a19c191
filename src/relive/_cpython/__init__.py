"""What relive needs to know of CPython's internals, version by version, in one place.

Code flags, thread-state and frame access, exception and line tables: each concern is one
module, and every branch on the interpreter's version for it is written there. The layers above
(:mod:`relive.runtime`, :mod:`relive.debugger`) ask these modules and do not test versions of
their own for these facts.
"""
