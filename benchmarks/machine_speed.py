"""The machine's speed right now, for reading a latency figure: a shared machine can be half as
fast from one quarter of an hour to the next, so the benchmarks print a reference time too."""

from __future__ import annotations

import ast
import statistics
import time


def parse_time(source: str) -> float:
    """Median time of a full ``ast.parse`` of ``source``, in ms (the issues' targets for the
    6,000-line module were set where this took about 35 ms)."""
    times = []
    for _ in range(9):
        t0 = time.perf_counter()
        ast.parse(source)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3
