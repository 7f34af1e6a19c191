"""``relive run`` with a click program: an edited command body reaches the running command."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import RunningProgram

pytestmark = pytest.mark.slow

Start = Callable[..., RunningProgram]

APP = """
    import time

    import jobs

    for n in range(1, 2000):
        jobs.report.main(args=[str(n)], standalone_mode=False)
        time.sleep(0.02)
"""

JOBS = """
    import click

    @click.command()
    @click.argument("n", type=int)
    def report(n):
        click.echo(f"report {n} old")
"""


def test_an_edited_click_command_runs_its_new_body_in_the_running_program(
        program: Start) -> None:
    p = program({"app.py": APP, "jobs.py": JOBS}, ["app.py"])
    p.wait_line(lambda line: line == "report 3 old")
    p.edit("jobs.py", 'f"report {n} old"', 'f"report {n} new"')
    applied = p.wait_event("applied", module="jobs")
    assert applied["updated"] == ["report"]
    line = p.wait_line(lambda line: line.endswith(" new"))
    assert int(line.split()[1]) > 3, "the same process carries on"
    assert not any("nothing to update" in line for line in p.stderr_lines)
