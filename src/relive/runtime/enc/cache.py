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

After the header come the lengths of three marshalled objects and the objects: the EnC
code an import runs, the plain code of the same source, and the units the safety net compiled
plainly (a tuple of ``(qualname, first line, reason)``; see
:func:`relive.runtime.enc.transform.enc_compile_checked`). An import unmarshals the first and
the last, and reports each such unit again (an :class:`~relive.runtime.enc.safety.EncFallbackNotice`
event): the file still cannot be compiled in EnC mode. The plain code is read on the module's
first reload, where the delta engine compares old code with new (see
:func:`load_plain_code`) and would otherwise compile the old side.

A cache file that is missing, unreadable, or does not match is ignored and rewritten; one that
cannot be written (read-only directory, ``sys.dont_write_bytecode``) is simply not written.
Nothing here raises for cache trouble: the worst case is a compile.
"""

from __future__ import annotations

import _imp
import ast
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from types import CodeType

from relive.runtime import events
from relive.runtime.enc.compile import enc_compile, enc_compile_checked, whole_unit_plain
from relive.runtime.enc.safety import EncFallbackNotice, Fallback

__all__ = ["CACHE_FORMAT", "EncLoader", "cache_path", "load_enc_code", "load_plain_code",
           "relive_cache_key"]

CACHE_FORMAT = 6
_TAG = b"RLVE"
_LENGTH = 8  # bytes of each length after the header
_PARTS = 3  # EnC code, plain code, fallbacks


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


def _read_parts(path: str, header: bytes, which: tuple[int, ...]) -> list[object] | None:
    """Parts ``which`` (0: EnC code, 1: plain code, 2: fallbacks) of a cache file that
    matches ``header``, unmarshalled."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data.startswith(header):
        return None
    start = len(header) + _PARTS * _LENGTH
    sizes = [int.from_bytes(data[at:at + _LENGTH], "little")
             for at in range(len(header), start, _LENGTH)]
    if len(data) != start + sum(sizes):  # a file cut short (or grown) is not trusted
        return None
    out = []
    for part in which:
        begin = start + sum(sizes[:part])
        try:
            out.append(marshal.loads(memoryview(data)[begin:begin + sizes[part]]))
        except (EOFError, ValueError, TypeError):
            return None
    return out


def _read(path: str, header: bytes, which: int = 0) -> CodeType | None:
    """Code object ``which`` (0: EnC, 1: plain) of a cache file that matches ``header``."""
    parts = _read_parts(path, header, (which,))
    code = parts[0] if parts is not None else None
    return code if isinstance(code, CodeType) else None


def _read_enc(path: str, header: bytes) -> tuple[CodeType, tuple[Fallback, ...]] | None:
    """The EnC code of a cache file that matches ``header``, and its fallbacks."""
    parts = _read_parts(path, header, (0, 2))
    if parts is None or not isinstance(parts[0], CodeType) or not isinstance(parts[1], tuple):
        return None
    try:
        fallbacks = tuple(Fallback(str(q), int(line), str(detail))
                          for q, line, detail in parts[1])
    except (TypeError, ValueError):
        return None
    return parts[0], fallbacks


# The plain code of sources whose cache file could not be written, marshalled (compact),
# by cache path: the header it belongs to and the bytes. One entry per file at most.
_KEPT: dict[str, tuple[bytes, bytes]] = {}


def _write(path: str, header: bytes, code: CodeType, plain: CodeType,
           fallbacks: tuple[Fallback, ...] = ()) -> None:
    try:
        plain_blob = marshal.dumps(plain)
        blobs = [marshal.dumps(code), plain_blob,
                 marshal.dumps(tuple((f.qualname, f.firstlineno, f.detail) for f in fallbacks))]
    except ValueError:  # too deeply nested to marshal: not cached, as Python's own .pyc
        return
    if not sys.dont_write_bytecode:
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(b"".join([header, *(len(b).to_bytes(_LENGTH, "little") for b in blobs),
                                  *blobs]))
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file
            _KEPT.pop(path, None)
            return
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _KEPT[path] = (header, plain_blob)


def load_enc_code(source_path: str, source: bytes | None = None) -> CodeType:
    """The EnC code of a source file, from the cache when it matches, else compiled (and
    cached). ``source`` may be given when the caller has already read the file."""
    if source is None:
        with open(source_path, "rb") as f:
            source = f.read()
    header = _header(source)
    path = cache_path(source_path)
    cached = _read_enc(path, header)
    if cached is not None:
        code, fallbacks = cached
        _imp._fix_co_filename(code, source_path)  # type: ignore[attr-defined]
    else:
        code, plain, fallbacks = compile_both(source, source_path)
        _write(path, header, code, plain, fallbacks)
    if fallbacks:
        events.notify_observers(EncFallbackNotice(
            source_path, tuple(f.rude_edit() for f in fallbacks)))
    return code


def compile_both(source: bytes, filename: str) -> tuple[CodeType, CodeType,
                                                        tuple[Fallback, ...]]:
    """The EnC code and the plain code of a module's source (one parse for both), and the
    units of it compiled plainly in the EnC code (see :func:`enc_compile_checked`)."""
    try:
        tree = ast.parse(source, filename, "exec")
        plain = compile(tree, filename, "exec", dont_inherit=True)
    except RecursionError:
        # Nested deeper than a tree handed back to the compiler may be (a thousand nested
        # lambdas): the compiler takes the text itself deeper, as plain Python does.
        plain = compile(source, filename, "exec", dont_inherit=True)
        compiled = whole_unit_plain(plain, "it is nested too deeply to be transformed")
    else:
        compiled = enc_compile_checked(tree, filename, plain=plain)
    return compiled.code, plain, compiled.fallbacks


def load_plain_code(source_path: str, source: bytes) -> CodeType | None:
    """The plain code of ``source`` kept in the EnC cache of ``source_path``, if the cache
    holds that very source (None otherwise: the caller compiles what it needs). When the
    file could not be written, the plain code compiled at import was kept in memory, until
    this call: a module's first baseline asks once."""
    path, header = cache_path(source_path), _header(source)
    kept = _KEPT.pop(path, None)
    if kept is not None and kept[0] == header:
        code = marshal.loads(kept[1])
        return code if isinstance(code, CodeType) else None
    code = _read(path, header, which=1)
    if code is not None:
        _imp._fix_co_filename(code, source_path)  # type: ignore[attr-defined]
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
