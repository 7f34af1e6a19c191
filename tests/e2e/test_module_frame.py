"""``relive run``: the script's own body, waiting in ``main()`` at its bottom, takes the lines
that an edit above moved it to; a later uncaught exception shows them in its traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningProgram
from tests.runtime.test_linetable import RELOCATES_ONLY

pytestmark = pytest.mark.slow

Start = Callable[..., RunningProgram]

SCRIPT = """
    import pathlib
    import time


    def step(n):
        return n + 1


    def main():
        n = 0
        while not pathlib.Path("stop").exists():
            n = step(n)
            print("step", n, flush=True)
            time.sleep(0.02)
        raise RuntimeError("stopped")


    main()
"""


@RELOCATES_ONLY
def test_an_uncaught_exception_after_lines_moved_shows_the_new_line_of_the_script_body(
        program: Start, tmp_path: Path) -> None:
    p = program({"app.py": SCRIPT}, ["app.py"])
    p.wait_line(lambda line: line == "step 3")
    p.edit("app.py", "def step(n):\n", "def step(n):\n    # one\n    # two\n")
    p.wait_event("applied")
    (tmp_path / "stop").write_text("", encoding="utf-8")
    assert p.wait() == 1
    lines = (tmp_path / "app.py").read_text(encoding="utf-8").splitlines()
    err = "\n".join(p.stderr_lines)
    assert "RuntimeError: stopped" in err
    call = lines.index("main()") + 1
    raise_line = lines.index('    raise RuntimeError("stopped")') + 1
    assert f'app.py", line {call}, in <module>' in err, err
    assert f'app.py", line {raise_line}, in main' in err, err
    assert "still running the old code" not in err, err
