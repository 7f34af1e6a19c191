"""File names as the engine compares them, and which code counts as the user's.

Code objects carry the file name they were compiled with, which may be relative or go
through a symbolic link; breakpoints name files the way the user typed them. Both go through
:func:`canonical` before they are compared. Which files are the user's is the runtime's notion
of the program's own files (:mod:`relive.runtime.files`), so that the code the debugger steps
through is the code whose edits the runtime applies. The answers are cached because the engine
asks on hot paths (every traced call on 3.11).
"""

from __future__ import annotations

import os
from functools import lru_cache

from relive.runtime.files import is_library_file, is_relive_file


@lru_cache(maxsize=4096)
def canonical(path: str) -> str:
    """The real absolute path of ``path``; names like ``<string>`` are returned unchanged."""
    if not path or path.startswith("<"):
        return path
    return os.path.realpath(os.path.abspath(path))


@lru_cache(maxsize=4096)
def is_internal(filename: str) -> bool:
    """True for relive's own code: the engine never stops or steps there."""
    return is_relive_file(filename)


@lru_cache(maxsize=4096)
def is_user_code(filename: str) -> bool:
    """True for code the user wrote: the program's own files as the runtime tells them
    (:mod:`relive.runtime.files`: not relive, not the standard library, not installed packages),
    and not frozen or generated code. Stepping stops only in user code ("just my code");
    breakpoints work everywhere."""
    if not filename or filename.startswith("<"):
        return False
    return not is_library_file(filename)
