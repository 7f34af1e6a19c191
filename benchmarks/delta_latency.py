"""Benchmark: time of ``relive.compute_delta`` for a one-function edit in a 6,000-line module.

The module is the standard library's ``_pydecimal.py``, copied at run time. Each step edits the
body of one function (a different one each time, in a fixed pseudo-random order) and computes
the delta from the previous generation, as a program under ``relive run`` does on each save.
Prints the median and 95th percentile; the target is a median of at most 2 ms on CPython 3.12.
"""

from __future__ import annotations

import _pydecimal
import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from machine_speed import parse_time

import relive


def edited(source: str, line: int, step: int) -> str:
    """Insert a statement at the top of the body that starts at ``line``."""
    lines = source.split("\n")
    body = lines[line - 1]
    indent = body[: len(body) - len(body.lstrip())]
    lines.insert(line - 1, f"{indent}_relive_bench_{step} = {step}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    source = Path(_pydecimal.__file__).read_text(encoding="utf-8")
    base = relive.Baseline.from_source(source, "_pydecimal_copy.py", "_pydecimal_copy")
    print(f"module: {len(source.splitlines())} lines, {len(base.index)} definitions, "
          f"Python {sys.version.split()[0]}")
    rng = random.Random(args.seed)
    times: list[float] = []
    for step in range(args.steps):
        functions = [d for d in base.index.values()
                     if d.kind == "function" and d.body_start() is not None]
        target = rng.choice(functions)
        line = target.first + target.body[-1].first  # the last statement of its body
        new_source = edited(base.source, line, step)
        t0 = time.perf_counter()
        delta = relive.compute_delta(base, new_source)
        times.append(time.perf_counter() - t0)
        if not delta.ok or delta.next_baseline is None:
            print(f"step {step}: unexpected result {delta.errors} {delta.rude_edits}")
            return 1
        base = delta.next_baseline
    times.sort()
    median = statistics.median(times) * 1e3
    p95 = times[int(len(times) * 0.95) - 1] * 1e3
    print(f"compute_delta over {args.steps} one-function edits: "
          f"median {median:.2f} ms, p95 {p95:.2f} ms, max {times[-1] * 1e3:.2f} ms")
    scale = parse_time(source)
    print(f"for scale: ast.parse of the whole module takes {scale:.1f} ms now (the target of "
          f"2 ms was set where it took about 35 ms); the median is {median / scale:.1%} of it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
