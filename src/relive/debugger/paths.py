"""File names as the engine compares them, and which code counts as the user's.

Code objects carry the file name they were compiled with, which may be relative or go
through a symbolic link; breakpoints name files the way the user typed them. Both go through
:func:`canonical` before they are compared. The answers are cached because the engine asks on
hot paths (every traced call on 3.11).
"""

from __future__ import annotations

import os
import sysconfig
from functools import lru_cache

_RELIVE_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


@lru_cache(maxsize=4096)
def canonical(path: str) -> str:
    """The real absolute path of ``path``; names like ``<string>`` are returned unchanged."""
    if not path or path.startswith("<"):
        return path
    return os.path.realpath(os.path.abspath(path))


def _library_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(canonical(sysconfig.get_path(key)) + os.sep)
        except KeyError:
            continue
    return tuple(sorted(roots))


_LIBRARY_ROOTS = _library_roots()


@lru_cache(maxsize=4096)
def is_internal(filename: str) -> bool:
    """True for relive's own code: the engine never stops or steps there."""
    return canonical(filename).startswith(_RELIVE_ROOT + os.sep)


@lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """True for code the user wrote: not relive, not the standard library, not installed
    packages, not frozen or generated code. Stepping stops only in user code ("just my
    code"); breakpoints work everywhere."""
    if not filename or filename.startswith("<"):
        return False
    path = canonical(filename)
    if is_internal(path):
        return False
    return not path.startswith(_LIBRARY_ROOTS)
