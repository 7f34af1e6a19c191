"""How a tool hears the interpreter run, by version.

3.12 added ``sys.monitoring`` (PEP 669): events per code object, switched on and off where
they are needed, and ``sys.settrace`` became a layer over it. On 3.11 the only way is a trace
function per thread (``sys.settrace``; for other threads see :mod:`relive._cpython.threadstate`).
"""

from __future__ import annotations

import sys

HAS_MONITORING = sys.version_info >= (3, 12)
"""``sys.monitoring`` exists (3.12+)."""
