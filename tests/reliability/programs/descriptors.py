"""Runs short of file descriptors, as told on the command line, and says what failed.

``exhaust``: at a line on stdin, opens files until none is left, says ``full``, holds them
(and any that is freed) a moment, says ``free`` and waits for another line. ``count``: few
descriptors to spare; opens and closes a file over and over until a line comes on stdin,
then says how many opens failed (it says ``counting`` first).
"""

import os
import resource
import select
import sys
import time


def spare(count):
    """Leave ``count`` descriptors above the highest one in use."""
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1 + count, hard))


def line_waiting():
    return bool(select.select([sys.stdin], [], [], 0)[0])


mode = sys.argv[1]
if mode == "exhaust":
    spare(24)
    sys.stdin.readline()
    held = []
    try:
        while True:
            held.append(open(__file__, "rb"))  # noqa: SIM115
    except OSError:
        pass
    print("full", flush=True)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        try:
            held.append(open(__file__, "rb"))  # noqa: SIM115
        except OSError:
            time.sleep(0.001)
    for f in held:
        f.close()
    print("free", flush=True)
    sys.stdin.readline()
    print("bye")
elif mode == "count":
    spare(16)
    opened = failed = 0
    print("counting", flush=True)
    while not line_waiting():
        try:
            with open(__file__, "rb"):
                opened += 1
        except OSError:
            failed += 1
        time.sleep(0.002)
    print(f"opened {opened} failed {failed}")
