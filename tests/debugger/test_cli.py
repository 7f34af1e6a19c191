"""End-to-end: ``relive debug`` driven by command scripts on real programs."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from driver import Interactive, program, relive_debug
from harness import PROGRAMS, line_of

pytestmark = pytest.mark.slow


def tag(name: str, marker: str) -> int:
    return line_of(name.removesuffix(".py"), f"tag:{marker}")


def test_breakpoint_print_locals_and_continue_to_the_end() -> None:
    line = tag("state_prog", "total")
    run = relive_debug(
        program("state_prog.py"),
        [f"break state_prog.py:{line}", "go", "where", "p value + 10", "locals", "go"],
    )
    assert run.code == 0, run.output
    assert "Stopped (breakpoint 1) in compute at" in run.output
    assert f"->{line:5d}" in run.output
    assert "11" in run.lines()
    assert "items = [1, 2, 3]" in run.lines()
    assert "compute ('x', 4)" in run.output
    assert "Program exited with code 0." in run.output


def test_stop_on_entry_stops_at_the_first_line() -> None:
    run = relive_debug(program("gen_prog.py"), ["where", "go"], options=("--stop-on-entry",))
    assert "Stopped (entry) in <module> at" in run.output
    assert "collected [10, 20]" in run.output


def test_breakpoint_on_blank_line_moves_and_says_so() -> None:
    line = tag("state_prog", "a") - 3  # a blank line before `def steps():`
    run = relive_debug(program("state_prog.py"), [f"break {line}", "go", "go"])
    assert "note: line" in run.output and "has no code" in run.output


def test_assignments_stick_and_jump_skips_lines() -> None:
    run = relive_debug(
        program("state_prog.py"),
        [
            f"break {tag('state_prog', 'total')}",
            f"break {tag('state_prog', 'a')}",
            "go",
            "set value = 100",
            "! label = 'changed'",
            "go",
            f"jump {tag('state_prog', 'c')}",
            "go",
        ],
    )
    assert "compute ('changed', 103)" in run.output
    assert "steps ['c']" in run.output


def test_jump_into_a_loop_is_refused_with_the_reason() -> None:
    run = relive_debug(
        program("state_prog.py"),
        [f"break {tag('state_prog', 'loop') + 1}", "go", f"jump {tag('state_prog', 'loop')}", "go"],
    )
    assert "cannot jump to line" in run.output and "for" in run.output
    assert "loop 10" in run.output


def test_conditional_log_and_ignore_breakpoints() -> None:
    loop = tag("state_prog", "loop")
    run = relive_debug(
        program("state_prog.py"),
        [f"log state_prog.py:{loop} i is {{i}}", f"break {loop} if i == 3", "go", "p i", "go"],
    )
    logged = [line for line in run.lines() if line.startswith("i is")]
    assert logged[:4] == [f"i is {i}" for i in range(4)]
    assert "3" in run.lines()


def test_function_breakpoint_and_step_commands() -> None:
    run = relive_debug(
        program("state_prog.py"),
        ["break steps", "go", "next", "next", "out", "go"],
    )
    assert "Stopped (function breakpoint 1 (steps)) in steps" in run.output
    stops = [line for line in run.lines() if line.startswith("Stopped")]
    assert len(stops) == 4
    assert "steps at" in stops[1] and f":{tag('state_prog', 'a')}" in stops[1]
    assert "<module>" in stops[3]


def test_threads_stop_together_and_list_their_states() -> None:
    run = relive_debug(
        program("threads_prog.py"),
        [f"break {tag('threads_prog', 'work-done')}", "go", "threads", "delete", "go"],
    )
    assert run.code == 0, run.output
    assert "Stopped (breakpoint 1) in work" in run.output
    listing = [line for line in run.lines() if "worker-" in line or "MainThread" in line]
    assert any("stopped" in line for line in listing)
    assert "results [('w0', 10), ('w1', 10)]" in run.output


def test_generator_step_over_yield_goes_back_to_the_consumer() -> None:
    run = relive_debug(
        program("gen_prog.py"),
        [f"break {tag('gen_prog', 'yield-first')}", "go", "next", "go"],
    )
    stops = [line for line in run.lines() if line.startswith("Stopped")]
    assert "in numbers" in stops[0]
    assert "in main" in stops[1] and f":{tag('gen_prog', 'append')}" in stops[1]


def test_async_where_shows_await_chain_and_next_steps_over_await() -> None:
    run = relive_debug(
        program("async_prog.py"),
        [
            f"break {tag('async_prog', 'fetch-return')}",
            f"break {tag('async_prog', 'handler-await')}",
            "go",
            "next",
            "where",
            "go",
        ],
    )
    stops = [line for line in run.lines() if line.startswith("Stopped")]
    assert "in handler" in stops[0]
    assert "in fetch" in stops[1] and "breakpoint 1" in stops[1]
    assert "awaited from:" in run.output
    assert "value 42" in run.output


def test_uncaught_exception_stops_post_mortem_with_locals() -> None:
    run = relive_debug(
        program("exc_prog.py"), ["catch uncaught", "go", "p text", "go"], "crash"
    )
    assert "Uncaught exception: ValueError" in run.output
    assert "Stopped (exception) in parse" in run.output
    assert "'not a number'" in run.lines()
    assert run.code == 1
    assert "Traceback" in run.output


def test_raised_exception_stops_where_raised_even_if_handled() -> None:
    run = relive_debug(program("exc_prog.py"), ["catch raised", "go", "catch off", "go"])
    assert "Stopped (exception) in parse" in run.output
    assert "tolerant -1" in run.output and run.code == 0


def test_module_target_runs_with_its_arguments() -> None:
    run = relive_debug(
        "-m mod_prog", [f"break mod_prog.py:{tag('mod_prog', 'greet')}", "go", "p name", "go"],
        "you", cwd=PROGRAMS,
    )
    assert "'you'" in run.lines()
    assert "hello you" in run.output


def test_program_keeps_its_stdin_when_commands_come_from_a_file() -> None:
    run = relive_debug(program("stdin_prog.py"), ["go"], stdin="typed by the user\n")
    assert "read 'typed by the user'" in run.output


def test_fix_a_function_at_a_breakpoint_then_enc_remap_and_continue(tmp_path: Path) -> None:
    """The whole Edit and Continue loop on relive's own runtime: stop in ``f``, fix ``f``
    on disk, ``enc``, ``remap`` the running frame onto the fix, continue."""
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    body, middle = (tag("enc_prog", t) for t in ("f-body", "f-middle"))
    session = Interactive(source)
    session.send(f"break {source}:{body}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text(source.read_text().replace("z = y + 1  # tag:f-middle",
                                                 "z = y + 100  # tag:f-middle"))
    session.send("enc")
    session.expect("Edit applied (generation 1): update f")
    session.expect("Applied edits to")
    session.send("go")
    # stopped before line `body` when the edit was applied: the opportunity is right there
    session.expect(f"Remap opportunity: f is at line {body} of the old code; the new code "
                   f"continues at line {body}")
    session.send("where")
    session.expect("[stale]")
    session.send("remap")
    session.expect(f"Remap complete: f continues at line {body} of the new code")
    session.expect("Stopped (breakpoint 1)")  # the breakpoint followed its line
    session.send("next")
    session.expect(f"enc_prog.py:{middle}")
    session.send("print y")
    session.expect("0")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    # the running call moved onto the fix at its next statement, and so did the next calls
    assert "f 0 = 100" in output and "f 1 = 102" in output and "f 2 = 104" in output, output


def test_enc_refuses_a_rude_edit_and_the_program_keeps_its_code(tmp_path: Path) -> None:
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    session = Interactive(source)
    session.send(f"break {source}:{tag('enc_prog', 'f-body')}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text(source.read_text() + "\nmain()\n")
    session.send("enc")
    session.expect("RL3001")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert "f 2 = 5" in output


def test_dis_and_modules_and_help() -> None:
    run = relive_debug(
        program("state_prog.py"),
        [f"break {tag('state_prog', 'total')}", "go", "dis", "modules", "help", "help jump", "go"],
    )
    assert "Bytecode of compute:" in run.output and "-->" in run.output
    assert "__main__" in run.output
    assert "enc [FILE...]" in run.output


def test_edit_and_continue_applies_moves_breakpoints_and_offers_remap(tmp_path: Path) -> None:
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    body, middle, ret = (tag("enc_prog", t) for t in ("f-body", "f-middle", "f-return"))
    session = Interactive(
        source, "--edit-service", "fake_runtime:make_edit_service",
        extra_env={"RELIVE_FAKE_WATCH": str(tmp_path)},
    )
    session.send(f"break {source}:{body}")
    session.send(f"break {source}:{ret}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    # fix f on disk: a comment line above, and triple instead of double
    text = source.read_text().replace(
        "    y = x * 2  # tag:f-body\n",
        "    # fixed: triple, not double\n    y = x * 3  # tag:f-body  # fake-rude-warning\n",
    )
    source.write_text(text)
    session.send("enc")
    session.expect("Rude edit RL9999 (warning)")
    session.expect("Edit applied (generation 1): update f")
    lines = session.expect("Applied edits to")
    assert any(f"Breakpoint 2 now at line {ret + 1}" in line for line in lines), lines
    assert any("Breakpoint 1 now at line" in line and "deleted" in line for line in lines), lines
    session.send("go")
    session.expect(f"Remap opportunity: f is at line {middle} of the old code; the new code "
                   f"continues at line {middle + 1}")
    session.send("remap")
    session.expect(f"Remap not done: asked for line {middle + 1}")
    session.expect("Stopped (step")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    # the call that was running finishes on the old code; the next calls run the new code
    assert "f 0 = 1" in output and "f 1 = 4" in output and "f 2 = 7" in output, output


def test_stale_frame_is_flagged_when_stopped_in_old_code(tmp_path: Path) -> None:
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    session = Interactive(
        source, "--edit-service", "fake_runtime:make_edit_service",
        extra_env={"RELIVE_FAKE_WATCH": str(tmp_path)},
    )
    session.send(f"break {source}:{tag('enc_prog', 'f-body')}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text(source.read_text().replace("return z", "return z + 99"))
    session.send("enc")
    session.expect("Edit applied")
    session.send("go")
    session.expect("Remap opportunity")
    session.send("where")
    session.expect("[stale]")
    session.send("delete")
    session.send("go")
    output, _ = session.finish()
    assert "f 0 = 1" in output and "f 1 = 102" in output, output


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_front_end_gone_means_program_finishes_without_breakpoints() -> None:
    run = relive_debug(
        program("state_prog.py"),
        [f"break {tag('state_prog', 'loop')}", "go", "detach"],
    )
    assert run.code == 0
    assert "loop 10" in run.output


def test_quit_ends_the_program_as_pdb_does() -> None:
    run = relive_debug(program("state_prog.py"), [f"break {tag('state_prog', 'loop')}", "go",
                                                  "quit"])
    assert "Stopped (breakpoint 1)" in run.output
    assert "loop 10" not in run.output
    assert run.code != 0


def test_an_uncaught_exception_stops_post_mortem_without_being_asked() -> None:
    run = relive_debug(program("exc_prog.py"), ["go", "p text", "go"], "crash")
    assert "Stopped (exception) in parse" in run.output
    assert "'not a number'" in run.lines()
    assert run.code == 1


def test_continue_applies_saved_edits_and_a_stale_hit_says_so(tmp_path: Path) -> None:
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    session = Interactive(
        source, "--edit-service", "fake_runtime:make_edit_service",
        extra_env={"RELIVE_FAKE_WATCH": str(tmp_path)},
    )
    session.send(f"break {source}:{tag('enc_prog', 'f-body')}")
    session.send(f"break {source}:{tag('enc_prog', 'f-return')}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text(source.read_text().replace("z = y + 1", "z = y + 100"))
    session.send("go")  # no `enc`: continuing applies what is saved, as an IDE does
    session.expect("Edit applied (generation 1): update f")
    session.expect("Remap opportunity")
    session.send("go")  # decline: the running call stays on the old code
    hit = session.expect("Stopped (breakpoint 2")
    assert "in stale code" in hit[-1], hit
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0
    assert "f 0 = 1" in output and "f 1 = 102" in output and "f 2 = 104" in output, output


def test_a_function_breakpoint_may_name_the_module(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("def g(a):\n    b = a + 1\n    return b\n")
    (tmp_path / "main3.py").write_text("import helper\nprint('g', helper.g(1))\n")
    run = relive_debug(tmp_path / "main3.py", ["break helper.g", "go", "print a", "go"],
                       cwd=tmp_path)
    assert "Stopped (function breakpoint 1 (helper.g)) in g at" in run.output, run.output
    assert "g 2" in run.output and run.code == 0


def test_code_that_only_moved_takes_running_frames_along_without_asking(tmp_path: Path) -> None:
    """Lines inserted above the stopped function: its frame and its caller's move to the new
    lines (the code is the same, there is nothing to choose), and the program goes on."""
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    body, call = tag("enc_prog", "f-body"), tag("enc_prog", "main-call")
    session = Interactive(source)
    session.send(f"break {source}:{body}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text("# two lines\n# above everything\n" + source.read_text())
    session.send("enc")
    session.expect("Edit applied (generation 1): line_shift f; line_shift main")
    session.expect("Applied edits to")
    session.send("go")
    session.expect(f"Stopped (breakpoint 1) in f at {source}:{body + 2}")
    session.send("where")
    session.expect(f"main at {source}:{call + 2}")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert "Remap opportunity" not in output, output
    assert "f 0 = 1" in output and "f 1 = 3" in output and "f 2 = 5" in output, output


def test_the_mdbg_hello_world_walkthrough(tmp_path: Path) -> None:
    """Edit and Continue's reference walkthrough: stopped at a breakpoint on the line being
    edited, `enc` then `go` offer the remap right there, and the new line runs."""
    source = tmp_path / "hello_prog.py"
    shutil.copy(PROGRAMS / "hello_prog.py", source)
    world = tag("hello_prog", "world")
    session = Interactive(source)
    session.send(f"break {source}:{world}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in print_world")
    source.write_text(source.read_text().replace('print("World")', 'print("new World")'))
    session.send("enc")
    session.expect("Edit applied (generation 1): update print_world")
    session.send("go")
    session.expect(f"Remap opportunity: print_world is at line {world} of the old code; the new"
                   f" code continues at line {world}")
    # the stopped frame runs the old code: its line is shown as it runs, marked stale
    shown = session.expect("(stale: the code before the edit")
    assert any('print("World")' in line and "->" in line for line in shown), shown
    session.send("list")
    listed = session.expect("(stale: the code before the edit")
    assert any('print("World")' in line for line in listed), listed
    assert not any("new World" in line for line in listed), listed
    session.send("remap")
    session.expect(f"Remap complete: print_world continues at line {world} of the new code")
    # the breakpoint followed its line into the new code, where the frame now stands
    session.expect("Stopped (breakpoint 1) in print_world")
    session.send("list")  # the new code now: the file's text, not stale
    listed = session.expect('print("new World")')
    assert not any("stale" in line for line in listed), listed
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    printed = [line.strip() for line in output.splitlines()]
    assert "new World" in printed and "World" not in printed, output
    assert printed.index("new World") < printed.index("done"), output


HANDLER_PROG = """\
def report():
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        print("World", exc)
    print("done")


report()
"""


def test_the_walkthrough_inside_an_except_handler_keeps_handling_its_exception(
        tmp_path: Path) -> None:
    """Stopped in an `except` body: the frame moves to the new code at once, still handling
    the same exception (its name bound, as in the old code)."""
    source = tmp_path / "handler_prog.py"
    source.write_text(HANDLER_PROG)
    session = Interactive(source)
    session.send(f"break {source}:5")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in report")
    source.write_text(HANDLER_PROG.replace('print("World", exc)', 'print("new World", exc)'))
    session.send("enc")
    session.expect("Edit applied (generation 1): update report")
    session.send("go")
    session.expect("Remap opportunity: report is at line 5 of the old code; the new code"
                   " continues at line 5")
    session.send("remap")
    session.expect("Remap complete: report continues at line 5 of the new code")
    session.expect("Stopped (breakpoint 1) in report")
    session.send("print repr(exc)")
    session.expect("ValueError('bad input')")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    printed = [line.strip() for line in output.splitlines()]
    assert "new World bad input" in printed and "World bad input" not in printed, output
    assert printed.index("new World bad input") < printed.index("done"), output


def _stopped_in_f(tmp_path: Path) -> tuple[Path, int, Interactive]:
    """enc_prog.py copied to ``tmp_path``, run under relive debug and stopped at a breakpoint
    on the first line of ``f``'s body: the file, that line, the session."""
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    body = tag("enc_prog", "f-body")
    session = Interactive(source)
    session.send(f"break {source}:{body}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    return source, body, session


def test_a_breakpoint_deleted_and_set_again_where_the_program_stopped_stops_again(
        tmp_path: Path) -> None:
    """An editor resends a file's breakpoints as `delete` then `break`: while the program
    is stopped at that very line, the line must not be switched off for good."""
    source, body, session = _stopped_in_f(tmp_path)
    session.send("delete")
    session.send(f"break {source}:{body}")
    session.send("go")
    session.expect("Stopped (breakpoint 2) in f")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert "f 2 = 5" in output, output


def test_a_breakpoint_deleted_before_the_edit_is_applied_on_go_still_offers_the_remap(
        tmp_path: Path) -> None:
    """The breakpoint goes first, then `go` applies the saved edit: the held frame (which on
    3.11 runs the copy of its code that the breakpoint needed) moves all the same."""
    source, body, session = _stopped_in_f(tmp_path)
    source.write_text(source.read_text().replace("z = y + 1", "z = y + 1000"))
    session.send("delete")
    session.send("go")  # applies the saved edit first
    session.expect(f"Remap opportunity: f is at line {body} of the old code")
    session.send("remap")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    # the call that was stopped finished on the new code
    assert "f 0 = 1000" in output and "f 1 = 1002" in output, output


def test_declining_the_remap_offered_at_a_breakpoint_runs_the_old_line_and_asks_once(
        tmp_path: Path) -> None:
    source, body, session = _stopped_in_f(tmp_path)
    source.write_text(source.read_text().replace("y = x * 2", "y = x * 20").replace(
        "z = y + 1", "z = y + 1000"))
    session.send("enc")
    session.expect("Edit applied (generation 1): update f")
    session.send("delete")
    session.send("go")
    session.expect(f"Remap opportunity: f is at line {body} of the old code")
    session.send("go")  # keep the old code: the running call finishes on it
    output, code = session.finish()
    assert code == 0, output
    assert output.count("Remap opportunity") == 1, output
    # the running call finished on the old code (the new one would make 1000 of it); the
    # program's output and the debugger's notices may interleave, even within a line
    flat = output.replace("Remap not done: kept the old code", "").replace("\n", "")
    assert "1000" not in output and "f 1 = 1020" in flat and "f 2 = 1040" in flat, output


def test_remap_after_a_second_enc_continues_where_the_latest_mapping_says(
        tmp_path: Path) -> None:
    source, body, session = _stopped_in_f(tmp_path)
    source.write_text(source.read_text().replace("z = y + 1", "z = y + 100"))
    session.send("enc")
    session.expect("Edit applied (generation 1): update f")
    session.send("delete")
    session.send("go")
    session.expect(f"Remap opportunity: f is at line {body} of the old code; the new code "
                   f"continues at line {body}")
    # edited again before answering: a line above moves the statement down by one
    source.write_text(source.read_text().replace(
        "def f(x):\n", "def f(x):\n    # doubled, then a hundred more\n"))
    session.send("enc")
    session.expect("Edit applied (generation 2)")
    session.send("remap")
    session.expect(f"Remap complete: f continues at line {body + 1} of the new code")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert " 0 = 100\n" in output and "f 1 = 102" in output and "f 2 = 104" in output, output


def test_next_at_a_remap_opportunity_remaps_to_the_mapped_line_and_steps(tmp_path: Path) -> None:
    source = tmp_path / "enc_prog.py"
    shutil.copy(PROGRAMS / "enc_prog.py", source)
    body, middle, ret = (tag("enc_prog", t) for t in ("f-body", "f-middle", "f-return"))
    session = Interactive(source)
    session.send(f"break {source}:{body}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in f")
    source.write_text(source.read_text().replace("z = y + 1", "z = y + 7"))
    session.send("enc")
    session.expect("Edit applied (generation 1): update f")
    session.send("delete")
    session.send("go")
    session.expect(f"Remap opportunity: f is at line {body} of the old code")
    session.send("next")
    session.expect(f"Remap complete: f continues at line {body} of the new code")
    session.expect(f"enc_prog.py:{middle}")  # ran the mapped line, stopped at the next
    session.send("next")
    session.expect(f"enc_prog.py:{ret}")
    session.send("print z")
    session.expect("7")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert output.count("Remap opportunity") == 1, output
    assert " 0 = 7\n" in output and "f 1 = 9" in output, output


def test_enc_beside_proxies_and_a_failing_update_handler_reports_each_as_what_it_is(
        tmp_path: Path) -> None:
    source = tmp_path / "proxy_prog.py"
    shutil.copy(PROGRAMS / "proxy_prog.py", source)
    session = Interactive(source)
    session.send(f"break {source}:{tag('proxy_prog', 'handle')}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in handle")
    source.write_text(source.read_text().replace("total = n + 1", "total = n + 10"))
    session.send("enc")
    lines = session.expect("update handler broken_handler raised KeyError('handler bug')")
    assert not any(line.startswith("***") for line in lines), lines  # no failed command
    assert any("Edit applied (generation 1): update handle" in line for line in lines), lines
    session.send("delete")
    session.send("go")
    session.expect("Remap opportunity")
    session.send("remap")
    session.expect("Remap complete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert "handled 10" in output and "handled 11" in output, output


def test_ctrl_c_pauses_the_running_program_and_returns_to_the_prompt() -> None:
    session = Interactive(program("spin_prog.py"))
    session.send("go")
    session.expect("spinning")
    time.sleep(0.3)  # let it spin
    session.interrupt()
    session.expect("Pausing the program")
    session.expect("Stopped (pause) in <module>")
    session.send("print count > 0")
    session.expect("True")
    session.send("set done = True")
    session.send("go")
    output, code = session.finish()
    assert "stopped spinning" in output and code == 3, output
    assert "KeyboardInterrupt" not in output, output


def test_a_second_ctrl_c_within_a_second_ends_a_program_that_does_not_pause() -> None:
    session = Interactive(program("sleep_prog.py"))
    session.send("go")
    session.expect("sleeping")
    session.wait_until_asleep()
    session.interrupt()  # the program sleeps in C: it cannot stop at a line yet
    session.expect("Pausing the program")
    session.interrupt()
    session.expect("Ending the program (Ctrl-C twice)")
    output, code = session.finish()
    assert "woke" not in output and code != 0, output


def test_function_breakpoints_stop_in_the_programs_decorated_function_not_a_library_one() -> None:
    body = tag("decorated_prog", "count-body")
    for where in ("count", "decorated_prog.py:count"):
        run = relive_debug(program("decorated_prog.py"), [f"break {where}", "go", "where",
                                                          "go"])
        stops = [line for line in run.lines() if line.startswith("Stopped")]
        assert len(stops) == 1, run.output
        assert "in count at " in stops[0] and stops[0].endswith(f"decorated_prog.py:{body}"), (
            run.output)
        assert "UserList" not in run.output, run.output


def test_a_frame_kept_on_the_old_code_is_not_offered_the_same_edit_again(tmp_path: Path) -> None:
    source = tmp_path / "state_prog.py"
    shutil.copy(PROGRAMS / "state_prog.py", source)
    loop = tag("state_prog", "loop")
    session = Interactive(source)
    session.send(f"break {source}:{loop}")
    session.send("go")
    session.expect("Stopped (breakpoint 1) in loop")
    source.write_text(source.read_text().replace("acc += i  # tag:loop",
                                                 "acc += i * 100  # tag:loop"))
    session.send("enc")
    session.expect("Edit applied (generation 1): update loop")
    session.send("go")
    session.expect("Remap opportunity: loop is at line")
    session.send("go")  # keep the old code
    session.expect("Stopped (breakpoint 1 (in stale code")  # the next turn, on the old code
    session.send("go")
    session.expect("Stopped (breakpoint 1 (in stale code")
    session.send("delete")
    session.send("go")
    output, code = session.finish()
    assert code == 0, output
    assert output.count("Remap opportunity") == 1, output
    assert "loop 10" in output, output  # the running call finished on the old code
