"""What the debugger costs a program that does not stop: run time of two kernels, plain and
under ``relive debug``.

    python benchmarks/overhead.py [--repeat N]

Runs with the interpreter it is started with (run it from each version's virtual
environment). Four configurations:

- plain: ``python kernel.py``
- run: ``relive run kernel.py``, the program compiled in EnC mode and watched, no debugger
  (what EnC mode and the runtime cost, apart from the debugger's own events)
- debug: ``relive debug kernel.py`` with no breakpoints
- idle breakpoint: ``relive debug`` with a breakpoint in a function that is never called

Two kernels: *call-heavy* (recursive calls, little work per call) and *loop-heavy* (one long
loop of arithmetic). The kernel times itself (best of N runs, after a warm-up, at six call-stack
depths added up, since a debugger runs the program a few frames deeper and CPython's frame
chunks make one depth dearer than another), so process start-up and the debugger's launch are
not counted: the figure is what the program's own code pays. Targets: at most 1.03x on 3.12+
and 1.5x on 3.11.

Wall-clock figures on a shared machine move by several per cent from run to run, and the
same code runs a few per cent faster or slower depending on where its frames and objects
land in memory (a program started a few frames deeper, as under a debugger, is enough). So
``--instructions`` measures what cannot move: the instructions the CPU executes for the
kernels' work in the program's process, counted by valgrind (callgrind), as the difference
between a run that does the work and one that does not. A ratio of 1.000 there
means relive adds no work to the program's own code.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# the two kernels, and a function a breakpoint is set in that is never called
FUNCTIONS = '''

def never_called():
    return "this function is never called"  # breakpoint here


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def loop(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total
'''

KERNEL = '''\
import sys
import time
''' + FUNCTIONS + '''

def at_depth(depth, fn, arg):
    return fn(arg) if depth == 0 else at_depth(depth - 1, fn, arg)


def best(fn, arg, repeat):
    # CPython allocates frames in chunks: a call chain that straddles a chunk boundary pays
    # for a chunk on every call, so the same kernel can be 10-50 % slower one frame deeper.
    # A debugger runs the program a few frames deeper than `python` does: time the kernel at
    # several depths and add them up, so that both configurations meet the same boundaries.
    total = 0.0
    for depth in (0, 5, 11, 17, 23, 31):
        at_depth(depth, fn, arg)  # warm-up (specialisation, caches)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            at_depth(depth, fn, arg)
            times.append(time.perf_counter() - start)
        total += min(times)
    return total


repeat = int(sys.argv[1])
print(f"call_s={best(fib, 25, repeat):.6f} loop_s={best(loop, 1_000_000, repeat):.6f}")
'''


# the work counted by --instructions: the same two kernels, a fixed amount of each
WORK = '''\
import sys
''' + FUNCTIONS + '''

kernel, times = sys.argv[1], int(sys.argv[2])
for _ in range(times):
    if kernel == "call":
        fib(22)
    else:
        loop(100_000)
'''


def _instructions(command: list[str], env: dict[str, str], tmp: str) -> int:
    """Instructions executed by the process that runs the program: ``command`` itself, or
    the process it starts for it (relive's front end waits meanwhile, and its own count
    grows with the time it waits, which valgrind stretches)."""
    logs = os.path.join(tmp, "logs")
    shutil.rmtree(logs, ignore_errors=True)
    os.mkdir(logs)
    valgrind = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                f"--callgrind-out-file={logs}/out.%p", f"--log-file={logs}/log.%p"]
    proc = subprocess.run([*valgrind, *command], capture_output=True, text=True, env=env,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")
    counts: dict[int, int] = {}  # by pid: the front end has the lowest
    for name in os.listdir(logs):
        if name.startswith("log."):
            with open(os.path.join(logs, name)) as f:
                found = re.search(r"Collected : (\d+)", f.read())
            if found:
                counts[int(name.split(".")[1])] = int(found.group(1))
    if len(counts) != (1 if command[1:3] != ["-m", "relive"] else 2):
        raise SystemExit(f"{' '.join(command)}: expected the program's process and its front"
                         f" end, found {len(counts)} processes")
    return counts[max(counts)]


def _count(configurations: dict[str, list[str]], env: dict[str, str], tmp: str) -> int:
    print(f"CPython {'.'.join(map(str, sys.version_info[:3]))}: instructions of the kernels'"
          " work, relative to plain (valgrind callgrind)")
    print(f"{'configuration':<26}{'call-heavy':>14}{'loop-heavy':>14}")
    plain: dict[str, int] = {}
    for name, command in configurations.items():
        cells = ""
        for kernel in ("call", "loop"):
            idle = _instructions([*command, kernel, "0"], env, tmp)
            work = _instructions([*command, kernel, "3"], env, tmp) - idle
            plain.setdefault(kernel, work)
            cells += (f"{work / 1e6:>12.1f} M" if name == "plain"
                      else f"{work / plain[kernel]:>13.4f}x")
        print(f"{name:<26}{cells}", flush=True)
    return 0


def _run(command: list[str], env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    match = re.search(r"call_s=([0-9.]+) loop_s=([0-9.]+)", proc.stdout)
    if proc.returncode != 0 or match is None:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")
    return {"call-heavy": float(match.group(1)), "loop-heavy": float(match.group(2))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per kernel")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with valgrind instead of timing")
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on the PATH")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    source = WORK if args.instructions else KERNEL
    with tempfile.TemporaryDirectory() as tmp:
        kernel = os.path.join(tmp, "kernel.py")
        with open(kernel, "w") as f:
            f.write(source)
        line = next(
            n for n, text in enumerate(source.splitlines(), 1) if "breakpoint here" in text
        )
        no_breakpoints = os.path.join(tmp, "go.txt")
        with open(no_breakpoints, "w") as f:
            f.write("go\n")
        idle_breakpoint = os.path.join(tmp, "idle.txt")
        with open(idle_breakpoint, "w") as f:
            f.write(f"break {kernel}:{line}\ngo\n")
        debug = [sys.executable, "-m", "relive", "debug", "--commands"]
        if args.instructions:
            return _count({
                "plain": [sys.executable, kernel],
                "run (EnC, no debugger)": [sys.executable, "-m", "relive", "run", kernel],
                "debug, no breakpoints": [*debug, no_breakpoints, kernel],
                "debug, idle breakpoint": [*debug, idle_breakpoint, kernel],
            }, env, tmp)
        repeat = str(args.repeat)
        commands = {
            "plain": [sys.executable, kernel, repeat],
            "run (EnC, no debugger)": [sys.executable, "-m", "relive", "run", kernel, repeat],
            "debug, no breakpoints": [*debug, no_breakpoints, kernel, repeat],
            "debug, idle breakpoint": [*debug, idle_breakpoint, kernel, repeat],
        }
        # Interleave the configurations and keep each one's best, so that a slow spell of a
        # shared machine does not land on one configuration only.
        results: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times = _run(command, env)
                best = results.setdefault(name, times)
                for kernel_name, value in times.items():
                    best[kernel_name] = min(best[kernel_name], value)
    version = ".".join(map(str, sys.version_info[:3]))
    target = 1.03 if sys.version_info >= (3, 12) else 1.5
    print(f"CPython {version}: run time relative to plain (target <= {target}x)")
    print(f"{'configuration':<26}{'call-heavy':>14}{'loop-heavy':>14}")
    plain = results["plain"]
    for name, times in results.items():
        cells = "".join(
            f"{times[k] / plain[k]:>13.3f}x" if name != "plain" else f"{times[k] * 1000:>11.1f} ms"
            for k in ("call-heavy", "loop-heavy")
        )
        print(f"{name:<26}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
