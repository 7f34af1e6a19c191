"""Warm import in EnC mode against a plain warm import (target: at most 1.2 times).

A set of real modules (copies of stdlib sources, under new names in a temporary directory) is
imported over and over, each time from scratch (``sys.modules`` entry removed, module body
executed again), once with the interpreter's own source loader reading its ``.pyc`` and once
with :class:`relive.runtime.enc.cache.EncLoader` reading the EnC cache. A first, untimed
import fills both caches; the cold figures (no cache at all) are printed for information.
The EnC loader reads and hashes the source on each import (its cache is keyed by the source,
not by a time stamp), then unmarshals somewhat larger code objects.

Usage: ``python benchmarks/enc_import.py [rounds]``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

from relive.runtime.enc.cache import EncLoader

SOURCES = [
    "textwrap.py", "json/decoder.py", "json/encoder.py", "difflib.py", "argparse.py",
    "fractions.py", "statistics.py", "calendar.py", "pprint.py", "shlex.py", "ipaddress.py",
    "dataclasses.py", "string.py", "ast.py", "inspect.py",
]

LoaderFactory = Callable[[str, str], importlib.machinery.SourceFileLoader]


def _copy_sources(directory: str) -> list[tuple[str, str]]:
    library = os.path.dirname(os.__file__)
    modules = []
    for index, name in enumerate(SOURCES):
        module = f"relive_bench_{index}_{os.path.basename(name)[:-3]}"
        path = os.path.join(directory, module + ".py")
        source = os.path.join(library, name)
        if not os.path.exists(source):  # string.py became string/__init__.py in 3.14
            source = os.path.join(library, name[:-3], "__init__.py")
        shutil.copyfile(source, path)
        modules.append((module, path))
    return modules


def _import_all(modules: list[tuple[str, str]], loader: LoaderFactory) -> float:
    start = time.perf_counter()
    for name, path in modules:
        spec = importlib.util.spec_from_file_location(name, path, loader=loader(name, path))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[name]
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    sys.dont_write_bytecode = False  # the caches are the point
    loaders: dict[str, LoaderFactory] = {
        "plain": importlib.machinery.SourceFileLoader,
        "EnC": EncLoader,
    }
    with tempfile.TemporaryDirectory() as directory:
        modules = _copy_sources(directory)
        cold = {kind: _import_all(modules, loader) for kind, loader in loaders.items()}
        best = dict.fromkeys(loaders, float("inf"))
        for round_ in range(rounds):
            order = list(loaders.items())
            if round_ % 2:
                order.reverse()
            for kind, loader in order:
                best[kind] = min(best[kind], _import_all(modules, loader))
    print(f"CPython {sys.version.split()[0]}: {len(modules)} modules, best of {rounds} rounds")
    print(f"  warm import: plain {best['plain'] * 1e3:.1f} ms, EnC {best['EnC'] * 1e3:.1f} ms"
          f" -> {best['EnC'] / best['plain']:.3f}x (target <= 1.2x)")
    print(f"  cold import: plain {cold['plain'] * 1e3:.1f} ms, EnC {cold['EnC'] * 1e3:.1f} ms"
          f" -> {cold['EnC'] / cold['plain']:.2f}x")


if __name__ == "__main__":
    main()
