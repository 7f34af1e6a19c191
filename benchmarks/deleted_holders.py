"""Benchmark: what RL4004 costs an apply that deletes a module-level definition.

Finding the other tracked modules that still hold a deleted name is one dictionary lookup per
tracked module and deleted name (``relive.runtime.apply.holders.holders``): the cost must grow with
the number of tracked modules, not with their size. Registers N fake tracked modules of
``--names`` names each (every seventh holds the deleted function) and prints the time of one
look-up for each N.
"""

from __future__ import annotations

import argparse
import time
import types

from relive.runtime.apply.holders import holders
from relive.runtime.registry import REGISTRY


def deleted() -> None:
    """The definition being deleted."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=300, help="names in each module")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    tracked = []
    for n in (10, 100, 1000, 5000):
        while len(tracked) < n:
            k = len(tracked)
            module = types.ModuleType(f"relive_bench_holder_{k}")
            for i in range(args.names):
                setattr(module, f"name{i}", float(i))
            if k % 7 == 0:
                module.deleted = deleted  # type: ignore[attr-defined]
            tracked.append(REGISTRY.register(module, f"/nonexistent/holder_{k}.py", b""))
        start = time.perf_counter()
        for _ in range(args.repeat):
            found = holders(tracked[0], "deleted", lambda obj: obj is deleted)
        took = (time.perf_counter() - start) / args.repeat
        print(f"{n:5d} tracked modules of {args.names} names: {took * 1e6:8.1f} µs per "
              f"deleted name ({len(found)} holders)")
    for t in tracked:
        REGISTRY.unregister(t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
