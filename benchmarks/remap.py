"""How long a frame in a tight loop takes to run new code once the new code is installed.

Two set-ups, each repeated, on the running interpreter:

- ``other thread``: a worker thread spins in ``while True:``; this thread installs the new code
  (``function.__code__ = new``), calls ``schedule_remap`` and waits for the worker to signal
  from the first statement of the new code. The figure includes handing the GIL over.
- ``same thread``: the loop itself calls the apply (a non-leaf frame, as when a program
  applies its own edits); the figure is from the start of the apply to the first new statement.

For each it prints the median and worst time of ``schedule_remap`` itself (the cost the apply
pays) and of install-to-new-code (the issue's target: at most 1 ms beyond the apply). Usage:
``python benchmarks/remap.py [repetitions]``.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from types import CodeType, FunctionType
from typing import Any

from relive.runtime.enc import enc_compile, iter_code_objects
from relive.runtime.remap.events import RemapItem
from relive.runtime.remap.tracker import schedule_remap

OLD = """
def spin(box):
    count = 0
    while True:
        count += 1
        if box["stop"]:
            return count
"""

NEW = """
def spin(box):
    count = 0
    while True:
        count += 1
        box["arrived"](count)
        if box["stop"]:
            return count
"""

SAME_OLD = """
def spin(box):
    count = 0
    while True:
        count += 1
        if count == 1000:
            box["apply"]()
        if box["stop"]:
            return count
"""

SAME_NEW = """
def spin(box):
    count = 0
    while True:
        count += 1
        box["arrived"](count)
        if count == 1000:
            box["apply"]()
        if box["stop"]:
            return count
"""

LINE_MAP = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7, 7: 8}
SAME_LINE_MAP = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7, 7: 8, 8: 9, 9: 10}


def _function(source: str, filename: str) -> FunctionType:
    namespace: dict[str, Any] = {}
    exec(enc_compile(source, filename), namespace)
    function = namespace["spin"]
    assert isinstance(function, FunctionType)
    return function


def _new_code(source: str, filename: str) -> CodeType:
    return next(c for c in iter_code_objects(enc_compile(source, filename))
                if c.co_name == "spin")


def other_thread(round_: int) -> tuple[float, float]:
    filename = f"<bench-remap-{round_}>"
    spin = _function(OLD, filename)
    new = _new_code(NEW, filename)
    arrived = threading.Event()
    stamps: list[float] = []
    box: dict[str, Any] = {"stop": False}

    def on_arrival(count: int) -> None:
        if not stamps:
            stamps.append(time.perf_counter())
            arrived.set()
        box["stop"] = True

    box["arrived"] = on_arrival
    started = threading.Event()
    box_start = {"go": started}
    worker = threading.Thread(target=lambda: (box_start["go"].set(), spin(box)))
    worker.start()
    started.wait()
    time.sleep(0.02)  # let it spin
    old = spin.__code__
    t0 = time.perf_counter()
    spin.__code__ = new
    schedule_remap([RemapItem(old, new, OLD, NEW, LINE_MAP)])
    t1 = time.perf_counter()
    arrived.wait(10)
    worker.join(10)
    return t1 - t0, stamps[0] - t0


def same_thread(round_: int) -> tuple[float, float]:
    filename = f"<bench-remap-same-{round_}>"
    spin = _function(SAME_OLD, filename)
    new = _new_code(SAME_NEW, filename)
    times: dict[str, float] = {}
    box: dict[str, Any] = {"stop": False}

    def apply() -> None:
        old = spin.__code__
        times["t0"] = time.perf_counter()
        spin.__code__ = new
        schedule_remap([RemapItem(old, new, SAME_OLD, SAME_NEW, SAME_LINE_MAP)])
        times["t1"] = time.perf_counter()

    def on_arrival(count: int) -> None:
        times.setdefault("arrived", time.perf_counter())
        box["stop"] = True

    box["apply"], box["arrived"] = apply, on_arrival
    spin(box)
    return times["t1"] - times["t0"], times["arrived"] - times["t0"]


def _report(name: str, samples: list[tuple[float, float]]) -> None:
    schedule = [s * 1e3 for s, _ in samples]
    total = [t * 1e3 for _, t in samples]
    print(f"{name:>13}: schedule_remap median {statistics.median(schedule):.3f} ms"
          f" (max {max(schedule):.3f}); install -> new code median"
          f" {statistics.median(total):.3f} ms (max {max(total):.3f});"
          f" beyond the apply {statistics.median(total) - statistics.median(schedule):.3f} ms")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(f"CPython {sys.version.split()[0]}, {rounds} rounds each")
    _report("other thread", [other_thread(i) for i in range(rounds)])
    _report("same thread", [same_thread(i) for i in range(rounds)])


if __name__ == "__main__":
    main()
