"""3.11 refuses ``sys.settrace`` while another thread is inside it (its audit hook gave the GIL
away): relive's own trace bookkeeping in a program thread must not raise there."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = """
import sys, threading
from relive.runtime.remap.hooks import _settrace

inside = threading.Event()
leave = threading.Event()

def hook(event, args):
    if event == "sys.settrace" and threading.current_thread().name == "installer":
        inside.set()
        leave.wait(5)  # gives the GIL away while 3.11 counts a trace function as being installed

sys.addaudithook(hook)

def while_another_thread_installs(call):
    inside.clear()
    leave.clear()
    installer = threading.Thread(target=sys.settrace, args=(None,), name="installer")
    installer.start()
    inside.wait(5)
    try:
        return call()
    finally:
        leave.set()
        installer.join()

def plain():
    try:
        sys.settrace(None)
    except RuntimeError as exc:
        return str(exc)

print("plain:", while_another_thread_installs(plain))
print("relive:", while_another_thread_installs(lambda: _settrace(None)))
print("after:", _settrace(None))
"""


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 installs trace functions differently")
def test_the_remapper_s_settrace_returns_false_where_3_11_refuses_one() -> None:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(PROGRAM)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "plain: Cannot install a trace function while another trace function is being "
        "installed",
        "relive: False",
        "after: True",
    ]
