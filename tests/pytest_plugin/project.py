"""A small project for ``pytest --relive`` to run, and a driver for the live session.

The project: ``shop.py`` (the code under test), a ``conftest.py`` with a slow session-scoped
fixture that counts its setups in ``setups.txt``, ``test_price.py`` (3 tests that call
``shop.price``) and ``test_many.py`` (47 tests that do not).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

SHOP = '''\
class Cart:
    __slots__ = ("items",)

    def __init__(self):
        self.items = []


def price(n):
    return n * 10


def tax(n):
    return n * 2
'''

CONFTEST = '''\
import os
import time

import pytest


@pytest.fixture(scope="session")
def database():
    with open(os.path.join(os.path.dirname(__file__), "setups.txt"), "a") as f:
        f.write("x")
    time.sleep({setup_s})
    return {{"rows": 3}}
'''

TEST_PRICE = '''\
from shop import price


def test_one(database):
    assert price(1) == 10


def test_two(database):
    assert price(2) == 20


def test_rows(database):
    assert price(database["rows"]) == 30
'''


def test_many(n: int = 47) -> str:
    out = ["from shop import tax\n"]
    for i in range(n):
        out.append(f"\ndef test_tax_{i}(database):\n    assert tax({i}) == {2 * i}\n")
    return "\n".join(out)


def make_project(root: Path, setup_s: float = 0.3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "shop.py").write_text(SHOP)
    (root / "conftest.py").write_text(CONFTEST.format(setup_s=setup_s))
    (root / "test_price.py").write_text(TEST_PRICE)
    (root / "test_many.py").write_text(test_many())
    return root


def setups(root: Path) -> int:
    try:
        return len((root / "setups.txt").read_text())
    except FileNotFoundError:
        return 0


def save(path: Path, text: str) -> None:
    """Write ``text`` as an editor saves: a new file moved over the old one."""
    tmp = path.with_name(path.name + ".tmp~")
    tmp.write_text(text)
    os.replace(tmp, path)


class LiveRun:
    """``python -m pytest --relive`` in ``root``, its output read line by line."""

    def __init__(self, root: Path, *args: str, python: str = sys.executable) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.proc = subprocess.Popen(
            [python, "-m", "pytest", "--relive", "-p", "no:cacheprovider", *args],
            cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, env=env)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> list[str]:
        """The lines read until one matches ``pattern`` (a regex), that one included."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in {timeout} s; "
                                     f"output so far:\n" + "\n".join(self.lines)) from None
            if line is None:
                raise AssertionError(f"pytest ended before a line matched {pattern!r}; "
                                     f"output:\n" + "\n".join(self.lines))
            self.lines.append(line)
            seen.append(line)
            if re.search(pattern, line):
                return seen

    def waiting(self, timeout: float = 60.0) -> list[str]:
        return self.wait_for(r"^relive: waiting for changes", timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
