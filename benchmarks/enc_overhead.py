"""Run-time cost of EnC mode: the same kernels compiled plainly and in EnC mode.

The kernels are small pyperformance-style programs, chosen to stress what EnC mode adds or
once added: calls (every function has the remap ``try``, free until something is raised) and
loop entries and exits (the kernels with short inner loops were the worst case while each
``for`` kept its iterator in a hidden local; it is now read from the value stack instead).
One more kernel raises exceptions through a few frames; it is reported apart: exceptions only
enter the remap handler when raised by the first instruction of a line (the handler is
narrowed to where a line event can fire).

Both variants are compiled from the same source and run interleaved (plain, EnC, EnC, plain,
...) so that drift in machine load affects both alike; time is the thread's CPU time (time
spent descheduled on a busy machine does not count). Each kernel runs at several call-stack
depths: CPython allocates frames in chunks, and a call chain that happens to straddle a chunk
boundary pays for a chunk on every call, which can make either variant 10-20 % slower at one
particular depth (EnC frames of tiny functions are a few slots larger, which moves the
boundaries). The figure for a kernel is the geometric mean over depths of the ratio of the
best times (and of the median times). Usage: ``python benchmarks/enc_overhead.py [rounds]``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from relive.runtime.enc import enc_compile

KERNELS = '''
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def call_simple_kernel(n):
    def leaf(a, b, c):
        return a

    def middle(a, b, c):
        leaf(a, b, c)
        leaf(a, b, c)
        return leaf(a, b, c)

    def top(a, b, c):
        middle(a, b, c)
        return middle(a, b, c)

    for _ in range(n):
        top(1, 2, 3)
        top(1, 2, 3)
        top(1, 2, 3)


class Counter:
    def __init__(self):
        self.value = 0

    def step(self, k):
        self.value += k
        return self.check()

    def check(self):
        return self.value & 1


def call_method_kernel(n):
    counter = Counter()
    step = 0
    for i in range(n):
        step += counter.step(i)
        step += counter.step(1)
        step += counter.check()
    return step


def nbody_kernel(n):
    bodies = [([0.0, 0.0, 0.0], [0.01 * i, 0.02, 0.03], 1.0 + i) for i in range(5)]
    pairs = [(bodies[i], bodies[j]) for i in range(5) for j in range(i + 1, 5)]
    dt = 0.01
    for _ in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz + 0.01) ** -1.5)
            b1m, b2m = m1 * mag, m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz
    return bodies[0][0][0]


def spectral_norm_kernel(n):
    def eval_a(i, j):
        return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)

    def times(u):
        return [sum(eval_a(i, j) * u_j for j, u_j in enumerate(u)) for i in range(len(u))]

    def times_transposed(u):
        return [sum(eval_a(j, i) * u_j for j, u_j in enumerate(u)) for i in range(len(u))]

    u = [1.0] * n
    for _ in range(4):
        v = times_transposed(times(u))
        u = times_transposed(times(v))
    return sum(u)


def short_loops_kernel(n):
    total = 0
    for i in range(n):
        for j in range(3):
            total += j
        for k in (1, 2):
            total -= k
        while total > 1000:
            total -= 1000
    return total


def nqueens_kernel(n):
    def permutations(pool):
        if len(pool) <= 1:
            yield tuple(pool)
            return
        for i, first in enumerate(pool):
            for rest in permutations(pool[:i] + pool[i + 1:]):
                yield (first,) + rest

    found = 0
    cols = list(range(n))
    for vec in permutations(cols):
        if n == len({vec[i] + i for i in cols}) == len({vec[i] - i for i in cols}):
            found += 1
    return found


def exceptions_kernel(n):
    def inner(i):
        if i % 2:
            raise KeyError(i)
        return i

    def middle(i):
        return inner(i)

    caught = 0
    for i in range(n):
        try:
            middle(i)
        except KeyError:
            caught += 1
    return caught
'''

# kernel name -> argument, chosen for roughly 5-20 ms per run
WORKLOADS: dict[str, int] = {
    "fib": 20,
    "call_simple_kernel": 6000,
    "call_method_kernel": 12000,
    "nbody_kernel": 1500,
    "spectral_norm_kernel": 50,
    "short_loops_kernel": 20000,
    "nqueens_kernel": 6,
}
EXCEPTIONS = {"exceptions_kernel": 20000}


def _namespace(code: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "kernels"}
    exec(code, namespace)
    return namespace


DEPTHS = (0, 5, 11, 17, 23, 31)


def _time(function: Callable[[int], object], argument: int, depth: int) -> float:
    if depth:
        return _time(function, argument, depth - 1)
    start = time.thread_time()
    function(argument)
    return time.thread_time() - start


def _geomean(ratios: list[float]) -> float:
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios)) - 1


def measure(rounds: int, workloads: dict[str, int]) -> dict[str, tuple[float, float]]:
    plain = _namespace(compile(KERNELS, "<kernels>", "exec", dont_inherit=True))
    enc = _namespace(enc_compile(KERNELS, "<kernels>"))
    results: dict[str, tuple[float, float]] = {}
    for name, argument in workloads.items():
        assert plain[name](argument) == enc[name](argument)  # same work, same answer
        best_ratios: list[float] = []
        median_ratios: list[float] = []
        for depth in DEPTHS:
            plain_times: list[float] = []
            enc_times: list[float] = []
            for round_ in range(rounds):
                first, second = (plain, enc) if round_ % 2 else (enc, plain)
                for namespace in (first, second):
                    elapsed = _time(namespace[name], argument, depth)
                    (plain_times if namespace is plain else enc_times).append(elapsed)
            best_ratios.append(min(enc_times) / min(plain_times))
            median_ratios.append(statistics.median(enc_times) / statistics.median(plain_times))
        results[name] = (_geomean(best_ratios), _geomean(median_ratios))
    return results


def _print(results: dict[str, tuple[float, float]]) -> None:
    for name, (best, typical) in results.items():
        print(f"  {name:>22}: {best * 100:+6.2f} % (best of rounds)"
              f"   {typical * 100:+6.2f} % (median)")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    print(f"CPython {sys.version.split()[0]}: EnC mode vs plain, {rounds} interleaved rounds"
          f" at each of the call depths {DEPTHS}")
    results = measure(rounds, WORKLOADS)
    _print(results)
    geomean = math.exp(sum(math.log1p(best) for best, _ in results.values()) / len(results)) - 1
    geomedian = math.exp(
        sum(math.log1p(typical) for _, typical in results.values()) / len(results)) - 1
    print(f"  {'geometric mean':>22}: {geomean * 100:+6.2f} % (best)"
          f"   {geomedian * 100:+6.2f} % (median)")
    print("exception-heavy (not in the mean):")
    _print(measure(rounds, EXCEPTIONS))


if __name__ == "__main__":
    main()
