"""Which files are the program's own: the one notion the runtime and the debugger share.

The runtime tracks the modules loaded from the program's own files (:class:`PathFilter`), and
the debugger steps only through them ("just my code"). Both ask this module, so that a file the
debugger shows as the user's is a file whose edits the runtime applies, and the reverse.

A file is the program's own unless it is under a *library root*: the standard library and
the site-packages directories of this interpreter, of its base installation (a virtual
environment's ``base_prefix``) and of the user's site, or relive itself. File names are compared
as :func:`normalize` makes them: real, absolute and case-folded as the platform folds them.
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
from dataclasses import dataclass, field

_SCHEME_KEYS = ("stdlib", "platstdlib", "purelib", "platlib")

RELIVE_ROOT = os.path.normcase(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
"""The directory of the ``relive`` package (normalised)."""


def normalize(path: str | os.PathLike[str]) -> str:
    """``path`` real, absolute and case-folded as the platform folds file names."""
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def is_under(path: str, root: str) -> bool:
    """Is the normalised ``path`` ``root`` itself or inside it?"""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@functools.cache
def library_roots() -> tuple[str, ...]:
    """The directories whose files are not the program's own, normalised and sorted."""
    roots: set[str] = set()
    for key in _SCHEME_KEYS:
        value = sysconfig.get_paths().get(key)
        if value:
            roots.add(value)
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        variables = {"base": prefix, "platbase": prefix,
                     "installed_base": prefix, "installed_platbase": prefix}
        for key in _SCHEME_KEYS:
            try:
                roots.add(sysconfig.get_path(key, vars=variables))
            except KeyError:
                pass
    try:
        roots.update(site.getsitepackages())
    except AttributeError:  # some virtualenv layouts
        pass
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if user_site:
        roots.add(user_site)
    roots.add(RELIVE_ROOT)
    return tuple(sorted({normalize(r) for r in roots if r}))


def is_relive_file(filename: str) -> bool:
    """Is ``filename`` (any spelling) one of relive's own files?"""
    return is_under(normalize(filename), RELIVE_ROOT)


def is_library_file(filename: str) -> bool:
    """Is ``filename`` (any spelling) under a library root (relive's own files included)?"""
    path = normalize(filename)
    return any(is_under(path, root) for root in library_roots())


@dataclass
class PathFilter:
    """Decides which source files are the program's own, and so tracked: those under
    ``include`` when it is given (``relive.install(paths)``), else those under no library
    root."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = field(default_factory=library_roots)

    def accepts(self, filename: str | None) -> bool:
        if not filename or not filename.endswith(".py"):
            return False
        path = normalize(filename)
        if self.include:
            return any(is_under(path, root) for root in self.include)
        return not any(is_under(path, root) for root in self.exclude)

