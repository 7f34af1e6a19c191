"""Threads calling the program's functions while applies land: no thread ever sees half of
an apply. A snapshot of two functions' code is taken in one call into C (no bytecode in
between), so it is torn only if the commit let a thread run in its middle.

With an audit hook installed, CPython runs the hook inside every ``fn.__code__ =`` of the
commit, and a hook written in Python can hand the GIL to another thread there. The hooks here
run Python code only for the commit's assignments (``object.__setattr__``): reading
``fn.__code__`` is an audited event too, and a Python hook run there would let the readers'
own snapshots be torn, commit or not."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROGRAM = """
import functools, operator, sys, threading, time
{hook}
import relive
relive.install()
sys.path.insert(0, {directory!r})
import target

sys.setswitchinterval(1e-6)  # as many thread switches as the interpreter allows
snapshot = operator.attrgetter("f.__code__", "g.__code__")
stop = threading.Event()
seen = {{"snapshots": 0, "torn": 0, "calls": 0}}

def reader():
    while not stop.is_set():
        f, g = snapshot(target)
        seen["snapshots"] += 1
        if f.co_consts[-1] != g.co_consts[-1]:
            seen["torn"] += 1
        seen["calls"] += target.f() >= 0

threads = [threading.Thread(target=reader) for _ in range(3)]
for t in threads:
    t.start()
source = open(target.__file__).read()
applies = 0
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    applies += 1
    new = source.replace("0", str(applies))
    assert relive.reload(target, new).applied
stop.set()
for t in threads:
    t.join()
print(applies, seen["snapshots"], seen["torn"], seen["calls"])
"""

TARGET = """
def f():
    return 0

def g():
    return 0
"""

# The hook is ``getattr(an object, event, args)``: a lookup in C that finds nothing (and
# returns ``args``) for every event but ``object.__setattr__``, which is a property written in
# Python.
HOOK = """
class _Hook:
    pass
setattr(_Hook, "object.__setattr__", property(lambda self: {body}))
sys.addaudithook(functools.partial(getattr, _Hook()))
"""

HOOKS = {
    "no audit hook": "",
    # what a hook written in Python costs an assignment: one call, at whose start the
    # interpreter may switch threads
    "an audit hook": HOOK.format(body="None"),
    # a hook that gives the GIL away at every assignment: without the hold, most commits
    # are torn
    "a hook that switches threads": HOOK.format(body="time.sleep(0)"),
}


def _run(tmp_path: Path, hook: str) -> tuple[int, int, int, int]:
    (tmp_path / "target.py").write_text(TARGET)
    script = textwrap.dedent(PROGRAM).format(directory=str(tmp_path), seconds=2.0, hook=hook)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    applies, snapshots, torn, calls = map(int, out.stdout.split())
    print(f"applies={applies} snapshots={snapshots} torn={torn} calls={calls}")
    return applies, snapshots, torn, calls


@pytest.mark.parametrize("hook", HOOKS, ids=list(HOOKS))
def test_no_thread_sees_half_an_apply(tmp_path: Path, hook: str) -> None:
    applies, snapshots, torn, calls = _run(tmp_path, HOOKS[hook])
    assert applies > 20 and snapshots > 1000 and calls > 1000
    assert torn == 0
