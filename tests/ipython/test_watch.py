"""``%relive watch``: saves are applied from a thread while a cell runs, so that a long cell
takes the new code at its next call, or, inside a running function of the module, at that
function's next statement (remap)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from relive.ipython import extension_for

pytestmark = pytest.mark.slow

WORKER = '''
import time


def step():
    return 1


def count(log, seconds):
    total = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and total < 1000:
        total += 1
        log.append(total)
        time.sleep(0.01)
    return total
'''


def told(shell: Any, *needles: str, timeout: float = 5.0) -> str:
    """What was printed, once the watcher has told its apply (it prints from its thread,
    maybe after the cell that saw the new code ended)."""
    out = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out += shell.output()[0]
        if all(needle in out for needle in needles):
            break
        time.sleep(0.02)
    return out


def save_later(source: Any, old: str, new: str, delay: float = 0.3) -> threading.Timer:
    timer = threading.Timer(delay, source.replace, (old, new))
    timer.start()
    return timer


def start(shell: Any, modules: Any) -> Any:
    source = modules(WORKER, stem="worker")
    shell.run("%load_ext relive")
    shell.run(f"import {source.name} as worker")
    shell.run("%relive watch")
    out, _err = shell.output()
    assert "relive: watching" in out and "still starting" not in out
    return source


def test_a_running_cell_calls_the_new_function_after_a_save(shell: Any, modules: Any) -> None:
    source = start(shell, modules)
    timer = save_later(source, "return 1", "return 2")
    seen = shell.run("""
        import time
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            seen.append(worker.step())
            if seen[-1] == 2:
                break
            time.sleep(0.01)
        seen
    """)
    timer.join()
    assert seen[0] == 1 and seen[-1] == 2, seen[-5:]
    assert f"{source.name}.py: gen 1: updated step" in told(shell, "gen 1:")


def test_a_running_function_of_the_module_moves_to_its_new_code(
        shell: Any, modules: Any) -> None:
    source = start(shell, modules)
    timer = save_later(source, "total += 1\n", "total += 1000\n")
    total = shell.run("log = []\nworker.count(log, 10)")
    timer.join()
    log = shell.run("log")
    out = told(shell, "gen 1:", "remapped")
    assert f"{source.name}.py: gen 1: updated count" in out
    assert "relive: count (" in out and ": remapped, line " in out, out
    steps = {b - a for a, b in zip([0, *log], log, strict=False)}
    # the same frame went on with its locals: first steps of 1, then one of 1000
    assert steps == {1, 1000}, log[-5:]
    assert total == log[-1] > 1000


def test_watch_off_stops_the_thread(shell: Any, modules: Any) -> None:
    start(shell, modules)
    extension = extension_for(shell.ip)
    assert extension is not None and extension.watching
    shell.run("%relive watch off")
    assert not extension.watching
