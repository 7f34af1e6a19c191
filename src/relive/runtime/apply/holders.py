"""Who else holds a module's definition by name: other tracked modules that took it with
``from m import name`` (or ``import *``), found when the definition is deleted (RL4004)."""

from __future__ import annotations

import re
from collections.abc import Callable

from relive.runtime.registry import REGISTRY, TrackedModule

# values whose identity says nothing of where they came from: two modules that bind the same
# small int, string or None under one name need not have imported it from each other
_ATOMIC = (type(None), bool, int, float, complex, str, bytes, type(...))

_MISSING = object()


def holders(tracked: TrackedModule, name: str, is_it: Callable[[object], bool]) -> list[str]:
    """``module.name`` for each other tracked module whose namespace binds ``name`` to the
    object ``is_it`` recognises (the one being deleted from ``tracked``).

    One dictionary lookup per tracked module and deleted name: the cost grows with the edit
    and the number of tracked modules, not with their size (a small int, string, bool or None
    found under the name is confirmed from that module's import statement). A module that
    holds it under another name (``from m import f as g``) is not found; finding it would mean
    reading every value of every module.
    """
    out = []
    for other in REGISTRY:
        if other is tracked or other.module is tracked.module:
            continue
        value = getattr(other.module, "__dict__", {}).get(name, _MISSING)
        if value is _MISSING or not is_it(value):
            continue
        if not isinstance(value, _ATOMIC) or _imports_name(other.source_bytes, tracked.name,
                                                           name):
            out.append(f"{other.name}.{name}")
    return sorted(out)


def _imports_name(source: bytes | None, module: str, name: str) -> bool:
    """Does ``source`` say ``from …module import …name…``? Asked only for a value whose
    identity proves nothing (a flag like ``PY310 = True``): then the holder's own text
    decides, read once for this one name."""
    if not source:
        return False
    tail = re.escape(module.rpartition(".")[2].encode())
    pattern = (rb"from\s+[\w.]*\b" + tail + rb"\s+import\s+(?:\([^)]*|[^\n]*)\b"
               + re.escape(name.encode()) + rb"\b")
    return re.search(pattern, source) is not None
