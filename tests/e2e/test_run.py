"""``relive run`` end to end: a real program, its files edited on disk, its output read."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest

from tests.e2e.conftest import RunningProgram

pytestmark = pytest.mark.slow

Start = Callable[..., RunningProgram]

LOOP = """
    import sys
    import time
    import shapes

    count = 0

    def describe(n):
        return f"tick {n}"

    def main():
        global count
        while count < 2000:
            count += 1
            print(describe(count), shapes.area(2), flush=True)
            time.sleep(0.02)

    if __name__ == "__main__":
        main()
"""

SHAPES = """
    class Square:
        def __init__(self, side):
            self.side = side

    def area(side):
        return side * side
"""


def _tick(line: str) -> int:
    return int(line.split()[1])


def test_saved_edits_apply_to_the_running_program_and_its_state_carries_on(
        program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    first = p.wait_line(lambda line: line.startswith("tick 3 "))
    assert first == "tick 3 4"
    p.edit("shapes.py", "side * side", "side * side * 10")
    applied = p.wait_event("applied")
    assert applied["module"] == "shapes" and applied["updated"] == ["area"]
    line = p.wait_line(lambda line: line.endswith(" 40"))
    assert _tick(line) > 3, "the counter carries on: the program was not restarted"
    p.edit("app.py", 'f"tick {n}"', 'f"TICK {n}"')
    p.wait_event("applied", count=2)
    line = p.wait_line(lambda line: line.startswith("TICK"))
    assert _tick(line) > 3
    p.wait_stderr(lambda line: "shapes.py: gen 1: updated area" in line)


def test_a_syntax_error_is_reported_and_the_program_keeps_its_code(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    p.wait_line(lambda line: line.startswith("tick 2 "))
    p.edit("shapes.py", "return side * side", "return side * (side")
    error = p.wait_event("error")
    assert error["source_errors"][0]["line"] == 7
    p.wait_line(lambda line: line.endswith(" 4"))
    p.edit("shapes.py", "return side * (side", "return side + side + 1")
    p.wait_event("applied")
    p.wait_line(lambda line: line.endswith(" 5"))
    p.wait_stderr(lambda line: "shapes.py:7" in line and "syntax error" in line)


def test_a_rude_edit_restarts_the_program_when_asked_to(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"],
                options=("--on-rude=restart",))
    p.wait_line(lambda line: line.startswith("tick 5 "))
    p.edit("shapes.py", "class Square:", "class Square(dict):")
    rude = p.wait_event("rude_edit")
    assert rude["code"] == "RL1001" and rude["severity"] == "error"
    restart = p.wait_event("restart")
    assert restart["restarts"] == 1
    p.wait_line(lambda line: line.startswith("tick 1 "))  # it starts over
    started = [e for e in p.events() if e["event"] == "started"]
    assert len(started) >= 2 and started[-1]["restarts"] == 1
    # a real restart: the old process is gone (its sockets, its threads with it)
    assert started[-1]["pid"] != started[0]["pid"]
    assert not os.path.exists(f"/proc/{started[0]['pid']}")


def test_a_rude_edit_is_reported_and_ignored_when_asked_to(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    p.wait_line(lambda line: line.startswith("tick 2 "))
    p.edit("shapes.py", "class Square:", "class Square(dict):")
    p.wait_event("rude_edit")
    line = p.wait_line(lambda line: line.startswith("tick"))
    assert _tick(line) > 2
    assert not [e for e in p.events() if e["event"] == "restart"]
    p.wait_stderr(lambda line: "RL1001" in line)


def test_argv_exit_status_and_stdin_are_the_programs(program: Start) -> None:
    p = program({"echo.py": """
        import sys
        line = sys.stdin.readline().strip()
        print(sys.argv, line, __name__, flush=True)
        sys.exit(int(sys.argv[1]))
    """}, ["echo.py", "3", "two words"], stdin=True)
    assert p.process.stdin is not None
    p.process.stdin.write("from stdin\n")
    p.process.stdin.close()
    assert p.wait() == 3
    assert p.all_lines == ["['echo.py', '3', 'two words'] from stdin __main__"]


def test_an_uncaught_exception_exits_1_with_a_traceback_of_the_program_only(
        program: Start) -> None:
    p = program({"crash.py": """
        def fail():
            raise ValueError("boom")

        fail()
    """}, ["crash.py"])
    assert p.wait() == 1
    err = "\n".join(p.stderr_lines)
    assert "ValueError: boom" in err and 'crash.py", line 5' in err
    assert "relive" not in err.replace("relive-", "")


def test_run_a_module_with_dash_m(program: Start) -> None:
    p = program({"pkg/__init__.py": "", "pkg/__main__.py": """
        import sys
        print("main of", __name__, __package__, sys.argv[1:], flush=True)
    """}, ["-m", "pkg", "x"])
    assert p.wait() == 0
    assert p.all_lines == ["main of __main__ pkg ['x']"]


def test_a_deleted_file_is_reported_and_changes_nothing(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    p.wait_line(lambda line: line.startswith("tick 2 "))
    os.remove(p.directory / "shapes.py")
    p.wait_event("error")
    line = p.wait_line(lambda line: line.startswith("tick"))
    assert line.endswith(" 4")


def test_sigterm_ends_the_program_as_it_would_without_relive(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    p.wait_line(lambda line: line.startswith("tick 2 "))
    p.process.send_signal(signal.SIGTERM)
    assert p.wait() == -signal.SIGTERM


def test_ctrl_c_ends_the_program_with_a_keyboard_interrupt(program: Start) -> None:
    p = program({"app.py": LOOP, "shapes.py": SHAPES}, ["app.py"])
    p.wait_line(lambda line: line.startswith("tick 2 "))
    p.process.send_signal(signal.SIGINT)
    assert p.wait() == -signal.SIGINT
    assert any("KeyboardInterrupt" in line for line in p.stderr_lines)


MAIN_LOOP = """
    import time

    def main():
        count = 0
        while True:
            count += 1
            print("count", count, flush=True)
            time.sleep(0.02)

    if __name__ == "__main__":
        main()
"""


def test_the_running_main_loop_takes_an_edit_of_its_own_body(program: Start) -> None:
    p = program({"loop.py": MAIN_LOOP}, ["loop.py"])
    p.wait_line(lambda line: line == "count 5")
    p.edit("loop.py", 'print("count", count, flush=True)',
           'print("edited", count * 10, flush=True)')
    applied = p.wait_event("applied")
    assert applied["updated"] == ["main"]
    line = p.wait_line(lambda line: line.startswith("edited"))
    value = int(line.split()[1])
    assert value > 50 and value % 10 == 0, "the loop carries on with its counter"
    remapped = p.wait_event("remap", what="remapped")
    assert remapped["path"] == "main" and remapped["new_line"] == remapped["old_line"]
    p.wait_stderr(lambda line: "remapped" in line)


GUARDED_LOOP = """
    import threading
    import time

    lock = threading.Lock()

    def main():
        count = 0
        try:
            with lock:
                while True:
                    count += 1
                    print("count", count, lock.locked(), flush=True)
                    time.sleep(0.02)
        except KeyboardInterrupt:
            print("interrupted at", count, "locked:", lock.locked(), flush=True)

    if __name__ == "__main__":
        main()
"""


def test_a_main_loop_inside_try_and_with_takes_an_edit_and_its_handler_still_runs(
        program: Start) -> None:
    p = program({"loop.py": GUARDED_LOOP}, ["loop.py"])
    p.wait_line(lambda line: line == "count 5 True")
    p.edit("loop.py", 'print("count", count, lock.locked(), flush=True)',
           'print("edited", count * 10, lock.locked(), flush=True)')
    remapped = p.wait_event("remap", what="remapped")
    assert remapped["path"] == "main"
    line = p.wait_line(lambda line: line.startswith("edited"))
    value, held = int(line.split()[1]), line.split()[2]
    assert value > 50 and value % 10 == 0, "the loop carries on with its counter"
    assert held == "True", "the lock the frame took is still held by the new code"
    p.process.send_signal(signal.SIGINT)
    line = p.wait_line(lambda line: line.startswith("interrupted"))
    assert line.endswith("locked: False"), "the with was left once, by the new code"
    assert p.wait() == 0


HANDLER_LOOP = """
    import sys
    import time

    def main():
        try:
            raise ConnectionError("primary down")
        except ConnectionError:
            tries = 0
            while tries < 100_000:
                tries += 1
                print("fallback", tries, repr(sys.exception()), flush=True)
                time.sleep(0.02)
            raise

    if __name__ == "__main__":
        main()
"""


def test_a_loop_inside_an_except_handler_takes_an_edit_and_still_handles_its_exception(
        program: Start) -> None:
    p = program({"handler.py": HANDLER_LOOP}, ["handler.py"])
    p.wait_line(lambda line: line.startswith("fallback 5 "))
    p.edit("handler.py", 'print("fallback", tries, repr(sys.exception()), flush=True)',
           'print("edited", tries * 10, repr(sys.exception()), flush=True)\n'
           '            if tries > 20:\n'
           '                raise RuntimeError("gave up")')
    remapped = p.wait_event("remap", what="remapped")
    assert remapped["path"] == "main"
    line = p.wait_line(lambda line: line.startswith("edited"))
    value = int(line.split()[1])
    assert value > 50 and value % 10 == 0, "the loop carries on with its counter"
    assert line.endswith("ConnectionError('primary down')"), "the same exception is handled"
    assert p.wait() == 1
    p.wait_stderr(lambda line: "RuntimeError: gave up" in line)
    err = "\n".join(p.stderr_lines)
    # the new code's exception, raised while handling the old one: both in the traceback
    assert "ConnectionError: primary down" in err and "RuntimeError: gave up" in err
    assert "During handling of the above exception, another exception occurred" in err
