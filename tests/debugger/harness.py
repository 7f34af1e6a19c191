"""Drive an in-process :class:`Engine` from the test thread, with the program in another.

The test thread plays the agent: it is ignored by the engine, waits for events (never
sleeps to synchronise) and issues control calls. The program runs in a thread of its own.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from relive.debugger.engine import Engine
from relive.debugger.model import Event, Stopped

PROGRAMS = Path(__file__).parent / "programs"
WAIT = float(os.environ.get("RELIVE_TEST_WAIT", "60"))  # generous: the machine may be loaded

E = TypeVar("E", bound=Event)


class Session:
    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.engine = Engine(self.events.put)
        self.engine.ignore_thread(threading.get_ident())
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.results: list[Any] = []

    def start(
        self, fn: Callable[[], Any], name: str = "program", catch: bool = True
    ) -> threading.Thread:
        def run() -> None:
            if not catch:  # let the exception end the thread (threading.excepthook)
                self.results.append(fn())
                return
            try:
                self.results.append(fn())
            except BaseException as exc:  # reported by the test
                self.errors.append(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread

    def wait_for(self, kind: type[E], timeout: float = WAIT) -> E:
        while True:
            event = self.events.get(timeout=timeout)
            if isinstance(event, kind):
                return event

    def stopped(self) -> Stopped:
        return self.wait_for(Stopped)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT)
            assert not thread.is_alive(), f"{thread.name} did not finish"
        if self.errors:
            raise self.errors[0]


def load_program(name: str) -> ModuleType:
    """Import ``programs/<name>.py`` fresh, as a module named ``prog_<name>``."""
    path = PROGRAMS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"prog_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def line_of(name: str, marker: str) -> int:
    """The line of ``programs/<name>.py`` that contains ``marker`` (a comment tag)."""
    for number, text in enumerate((PROGRAMS / f"{name}.py").read_text().splitlines(), 1):
        if marker in text:
            return number
    raise AssertionError(f"no {marker!r} in {name}.py")


@contextmanager
def session() -> Iterator[Session]:
    s = Session()
    s.engine.install()
    try:
        yield s
    finally:
        s.engine.uninstall()
        for thread in s.threads:
            thread.join(WAIT)
