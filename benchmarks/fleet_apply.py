"""Benchmark: from the file write to every process of a program running the new code, under
``relive run``, for programs of 1, 4 and 16 processes.

The program forks N workers (``multiprocessing``, fork); each imports ``target`` and calls
``answer()`` in a loop (every 0.5 ms), printing its pid and the time whenever the answer
changes. The benchmark writes a new version of ``answer()``, noting the time just before the
write, and measures until the last of the N workers reports the new answer. Prints the median
and 95th percentile over the edits for each N; the targets: at N = 1 a median within 30 ms, at
N = 16 at most twice the N = 1 median.
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

PROGRAM = """\
import multiprocessing as mp
import os
import sys
import time

def work():
    import target

    last = None
    while True:
        value = target.answer()
        if value != last:
            os.write(1, f"{os.getpid()} {value} {time.time()}\\n".encode())  # one write
            last = value
        time.sleep(0.0005)

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    workers = [ctx.Process(target=work, daemon=True) for _ in range(int(sys.argv[1]))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""

TARGET = "def answer():\n    return {n}\n"


def measure(processes: int, edits: int) -> list[float]:
    """The latency of each edit, in seconds, with ``processes`` workers."""
    with tempfile.TemporaryDirectory(prefix="relive-fleet-") as tmp:
        directory = Path(tmp)
        (directory / "main.py").write_text(PROGRAM, encoding="utf-8")
        target = directory / "target.py"
        target.write_text(TARGET.format(n=0), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "relive", "run", "--quiet", "--on-rude=ignore", "main.py",
             str(processes)],
            cwd=directory, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        assert proc.stdout is not None
        try:
            for _ in range(processes):
                proc.stdout.readline()  # every worker runs
            time.sleep(1.0 + 0.1 * processes)  # let the watcher arm and every worker join
            latencies = []
            for n in range(1, edits + 1):
                written = time.time()
                target.write_text(TARGET.format(n=n), encoding="utf-8")
                last = 0.0
                for _ in range(processes):
                    line = proc.stdout.readline()
                    try:
                        _pid, value, seen = line.split()
                    except ValueError:
                        raise SystemExit(f"unexpected output: {line!r}") from None
                    if int(value) != n:
                        raise SystemExit(f"unexpected answer {value} for edit {n}")
                    last = max(last, float(seen))
                latencies.append(last - written)
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return sorted(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 4, 16])
    args = parser.parse_args()
    medians = {}
    for n in args.processes:
        latencies = measure(n, args.edits)
        medians[n] = statistics.median(latencies)
        print(f"Python {sys.version.split()[0]}: {n:2d} processes: save to live in all over "
              f"{len(latencies)} edits: median {medians[n] * 1e3:.1f} ms, "
              f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1e3:.1f} ms, "
              f"max {latencies[-1] * 1e3:.1f} ms", flush=True)
    if 1 in medians and len(medians) > 1:
        largest = max(medians)
        print(f"{largest} processes / 1 process: {medians[largest] / medians[1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
