"""Real releases of pure-Python projects, fetched once and kept: the oracle's material.

Each release is a wheel from the package index (``pip download``), unpacked next to it under
``${XDG_CACHE_HOME:-~/.cache}/relive/releases/<project>/<version>/``. A CI rerun finds them
there and downloads nothing. A *case* is one module whose file differs between two
consecutive releases of a project.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Consecutive releases of each project (every one ships a pure-Python wheel). The runtime
# needs nothing the test environment lacks: none of these has a required dependency that is
# not installed with relive's test extras.
PROJECTS: dict[str, tuple[str, ...]] = {
    "attrs": ("23.1.0", "23.2.0", "24.1.0", "24.2.0"),
    "click": ("8.1.4", "8.1.5", "8.1.6", "8.1.7"),
    "pyparsing": ("3.1.0", "3.1.1", "3.1.2"),
    "packaging": ("23.1", "23.2", "24.0", "24.1"),
    "more-itertools": ("10.1.0", "10.2.0", "10.3.0"),
    "tomlkit": ("0.12.2", "0.12.3", "0.12.4", "0.12.5"),
    "urllib3": ("2.1.0", "2.2.0", "2.2.1", "2.2.2"),
    "rich": ("13.6.0", "13.7.0", "13.7.1"),
    "tomli": ("2.0.1", "2.0.2", "2.1.0"),
    "pluggy": ("1.3.0", "1.4.0", "1.5.0"),
    "typing-extensions": ("4.10.0", "4.11.0", "4.12.0"),
    "idna": ("3.4", "3.5", "3.6", "3.7"),
    "pyflakes": ("3.0.1", "3.1.0", "3.2.0"),
    "pycodestyle": ("2.10.0", "2.11.0", "2.11.1", "2.12.0"),
    "docutils": ("0.20.1", "0.21.1", "0.21.2"),
}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "relive" / "releases"


@dataclass(frozen=True)
class Case:
    """One module edited between two consecutive releases."""

    project: str
    old: str
    new: str
    relpath: str  # the module's file, relative to the unpacked release (``attr/_make.py``)

    @property
    def ident(self) -> str:
        return f"{self.project}:{self.old}..{self.new}:{self.relpath}"

    @property
    def module(self) -> str:
        parts = self.relpath[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)


def release_dir(project: str, version: str) -> Path:
    """The unpacked wheel of one release, fetched and unpacked on first use."""
    home = cache_root() / project / version
    unpacked = home / "unpacked"
    if (unpacked / ".complete").exists():
        return unpacked
    home.mkdir(parents=True, exist_ok=True)
    wheels = sorted(home.glob("*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--disable-pip-version-check",
             f"{project}=={version}", "-d", str(home)],
            check=True, stdout=subprocess.DEVNULL)
        wheels = sorted(home.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel of {project} {version} in {home}, "
                           f"found {[w.name for w in wheels]}")
    tmp = home / "unpacking"
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(wheels[0]) as z:
        for info in z.infolist():
            top = info.filename.split("/")[0]
            if top.endswith((".dist-info", ".data")):
                continue
            z.extract(info, tmp)
    (tmp / ".complete").write_text("")
    shutil.rmtree(unpacked, ignore_errors=True)
    tmp.rename(unpacked)
    return unpacked


def python_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.py"))
            if "__pycache__" not in p.parts}


def pairs(projects: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, str, str]]:
    out = []
    for project, versions in (projects or PROJECTS).items():
        out += [(project, a, b) for a, b in itertools.pairwise(versions)]
    return out


def cases_of(project: str, old: str, new: str) -> list[Case]:
    """The modules present in both releases whose source differs."""
    a, b = python_files(release_dir(project, old)), python_files(release_dir(project, new))
    return [Case(project, old, new, rel) for rel in sorted(a.keys() & b.keys())
            if a[rel].read_bytes() != b[rel].read_bytes()]


def all_cases(projects: dict[str, tuple[str, ...]] | None = None) -> list[Case]:
    out: list[Case] = []
    for project, old, new in pairs(projects):
        out += cases_of(project, old, new)
    return out
