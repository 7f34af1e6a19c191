"""Benchmark: the edit-test loop of ``pytest --relive`` against a full ``pytest`` run.

The project of ``tests/pytest_plugin/project.py``: 50 tests sharing a session-scoped fixture
whose setup takes 1 s (``--setup``), 3 of which call ``shop.price``. Measured:

- a full run: the wall time of ``python -m pytest -q`` on the project (median of ``--full``
  runs), what a developer waits for after each save without relive;
- the loop: in a ``python -m pytest --relive`` session, the time from saving an edit of
  ``price`` (written to a new file moved over the old one, as editors do) to the line that
  gives the result of the 3 affected tests (median of ``--edits`` edits; the first edit,
  which also builds relive's baselines of the edited module, is shown apart).

Prints both figures and their ratio; the target is at most 0.1x. Run from the repository's
root: ``python benchmarks/test_loop.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pytest_plugin.project import SHOP, LiveRun, make_project, save


def full_run(root: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=root, capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the full run failed:\n{done.stdout}{done.stderr}")
    return took


def loop_times(root: Path, edits: int) -> list[float]:
    run = LiveRun(root)
    out = []
    try:
        run.waiting(timeout=120)
        for i in range(edits + 1):
            time.sleep(0.3)  # a developer does not save twice within a few ms
            body = f"return n * 10 + {i} - {i}"
            start = time.perf_counter()
            save(root / "shop.py", SHOP.replace("return n * 10", body))
            run.wait_for(r"^relive: ran 3 of 50 tests: 3 passed", timeout=60)
            out.append(time.perf_counter() - start)
            run.waiting()
    finally:
        run.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup", type=float, default=1.0, help="fixture setup time (s)")
    parser.add_argument("--full", type=int, default=3, help="full runs to time")
    parser.add_argument("--edits", type=int, default=10, help="edits to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "proj", setup_s=args.setup)
        full = statistics.median(full_run(root) for _ in range(args.full))
        times = loop_times(root, args.edits)
    first, rest = times[0], times[1:]
    loop = statistics.median(rest)
    print(f"python {sys.version.split()[0]}, 50 tests, session fixture setup {args.setup:.1f} s")
    print(f"full pytest run:              {full * 1e3:8.1f} ms (median of {args.full})")
    print(f"save to affected tests' line: {loop * 1e3:8.1f} ms (median of {len(rest)}; "
          f"max {max(rest) * 1e3:.1f} ms)")
    print(f"  first edit (builds baseline): {first * 1e3:6.1f} ms")
    print(f"ratio: {loop / full:.3f}x (target <= 0.1x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
