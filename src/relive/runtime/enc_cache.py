"""EnC-compiled modules cached on disk, and the loader the import hook uses.

Compiling in EnC mode costs a few times a plain compile (the source is parsed to a Python
tree and transformed), so the result is cached like bytecode, next to it:
``__pycache__/<name>.<cache tag>.opt-relive<optimize level>.pyc``. The file name keeps it apart
from the interpreter's own ``.pyc`` (which holds plain code); its header holds what the cached
code depends on:

- the interpreter's bytecode magic number (the cache tag in the name says which interpreter);
- relive's cache key: the cache format and relive's version, since a new relive may compile
  differently;
- a hash of the source bytes (``importlib.util.source_hash``, the one CPython uses for
  hash-based ``.pyc`` files): the cache is keyed by the source itself, not by its time stamp,
  because an edited file must never load stale EnC code (remapping reads the code against
  the source).

A cache file that is missing, unreadable, or does not match is ignored and rewritten; one that
cannot be written (read-only directory, ``sys.dont_write_bytecode``) is simply not written.
Nothing here raises for cache trouble: the worst case is a compile.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from types import CodeType

from relive.runtime.enc import enc_compile

__all__ = ["CACHE_FORMAT", "EncLoader", "cache_path", "load_enc_code", "relive_cache_key"]

CACHE_FORMAT = 1
_TAG = b"RLVE"


def relive_cache_key() -> bytes:
    """8 bytes that change whenever relive may compile the same source differently."""
    from relive import __version__

    return hashlib.sha256(f"{__version__}/{CACHE_FORMAT}".encode()).digest()[:8]


def cache_path(source_path: str) -> str:
    """Where the EnC code of ``source_path`` is cached."""
    return importlib.util.cache_from_source(
        source_path, optimization=f"relive{sys.flags.optimize}"
    )


def _header(source: bytes) -> bytes:
    return importlib.util.MAGIC_NUMBER + _TAG + relive_cache_key() + importlib.util.source_hash(
        source
    )


def _read(path: str, header: bytes) -> CodeType | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(header):
        return None
    try:
        code = marshal.loads(memoryview(data)[len(header):])
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _write(path: str, header: bytes, code: CodeType) -> None:
    if sys.dont_write_bytecode:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(header + marshal.dumps(code))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load_enc_code(source_path: str, source: bytes | None = None) -> CodeType:
    """The EnC code of a source file, from the cache when it matches, else compiled (and
    cached). ``source`` may be given when the caller has already read the file."""
    if source is None:
        with open(source_path, "rb") as f:
            source = f.read()
    header = _header(source)
    path = cache_path(source_path)
    code = _read(path, header)
    if code is None:
        code = enc_compile(source, source_path)
        _write(path, header, code)
    return code


class EncLoader(importlib.machinery.SourceFileLoader):
    """Loads a source module in EnC mode (use it for the modules relive tracks).

    Everything but the code object is the standard source loader's: ``get_source``,
    ``get_filename``, ``is_package``, resource reading and ``__spec__``/``__cached__`` (which
    names the interpreter's own ``.pyc``; the EnC cache is an implementation detail).
    """

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return load_enc_code(path, self.get_data(path))

    def source_to_code(  # type: ignore[override]
        self, data: bytes | str, path: str = "<string>", *, _optimize: int = -1
    ) -> CodeType:
        return enc_compile(data, path, optimize=_optimize)
