"""Benchmark: from the file write to the new code answering a call, under ``relive run``.

A program runs under ``relive run`` and calls ``answer()`` in a loop (every 0.5 ms); each time
the answer changes it prints the time. The benchmark writes a new version of ``answer()`` to
disk, noting the time just before the write, and measures until the program reports the new
answer. Prints the median and 95th percentile over the edits; the target is a median of at
most 30 ms.
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
import time
import target

last = None
while True:
    value = target.answer()
    if value != last:
        print(value, time.time(), flush=True)
        last = value
    time.sleep(0.0005)
"""

TARGET = "def answer():\n    return {n}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relive-save-") as tmp:
        directory = Path(tmp)
        (directory / "main.py").write_text(PROGRAM, encoding="utf-8")
        target = directory / "target.py"
        target.write_text(TARGET.format(n=0), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "relive", "run", "--quiet", "--on-rude=ignore", "main.py"],
            cwd=directory, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        assert proc.stdout is not None
        try:
            proc.stdout.readline()  # the first answer: the program runs
            time.sleep(1.0)  # let the watcher arm
            latencies = []
            for n in range(1, args.edits + 1):
                written = time.time()
                target.write_text(TARGET.format(n=n), encoding="utf-8")
                value, seen = proc.stdout.readline().split()
                if int(value) != n:
                    print(f"unexpected answer {value} for edit {n}")
                    return 1
                latencies.append(float(seen) - written)
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    latencies.sort()
    print(f"Python {sys.version.split()[0]}: save to live over {len(latencies)} edits: "
          f"median {statistics.median(latencies) * 1e3:.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1e3:.1f} ms, "
          f"max {latencies[-1] * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
