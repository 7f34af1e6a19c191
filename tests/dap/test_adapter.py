"""``relive dap`` driven as an editor drives it: launch, breakpoints, stack, variables,
evaluation, stepping, and Edit and Continue while stopped and while running."""

from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dap.client import DapClient

pytestmark = pytest.mark.slow

HELLO = """\
import time


def print_world(n):
    word = "world"
    print("hello", word, n, flush=True)


def main():
    for n in range(200):
        print_world(n)
        time.sleep(0.05)


main()
"""


@pytest.fixture
def dap(tmp_path: Path) -> Iterator[DapClient]:
    client = DapClient(str(tmp_path))
    yield client
    client.close()


def _start(dap: DapClient, tmp_path: Path, source: str, line: int | None = None,
           breakpoints: list[dict[str, object]] | None = None, **launch: object) -> Path:
    program = tmp_path / "hello.py"
    program.write_text(textwrap.dedent(source), encoding="utf-8")
    capabilities = dap.request("initialize", adapterID="relive", linesStartAt1=True)
    assert capabilities["supportsConfigurationDoneRequest"]
    dap.request("launch", program=str(program), cwd=str(tmp_path), **launch)
    dap.wait_event("initialized")
    if line is not None:
        breakpoints = [{"line": line}]
    if breakpoints is not None:  # before the program runs, as editors set them
        found = dap.request("setBreakpoints", source={"path": str(program)},
                            breakpoints=breakpoints)
        assert [b["line"] for b in found["breakpoints"]] == [b["line"] for b in breakpoints]
    dap.request("configurationDone")
    return program


def _top(dap: DapClient, thread: int) -> dict[str, object]:
    frames = dap.request("stackTrace", threadId=thread)["stackFrames"]
    top: dict[str, object] = frames[0]
    return top


def test_stop_at_a_breakpoint_see_the_stack_and_variables_evaluate_and_continue(
        dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    thread = stopped["body"]["threadId"]
    frames = dap.request("stackTrace", threadId=thread)["stackFrames"]
    assert [f["name"] for f in frames[:2]] == ["print_world", "main"]
    assert frames[0]["line"] == 6
    scopes = dap.request("scopes", frameId=frames[0]["id"])["scopes"]
    variables = dap.request("variables", variablesReference=scopes[0]["variablesReference"])
    assert {v["name"]: v["value"] for v in variables["variables"]} == {"n": "0",
                                                                      "word": "'world'"}
    found = dap.request("evaluate", expression="word.upper()", frameId=frames[0]["id"],
                        context="repl")
    assert found["result"] == "'WORLD'"
    dap.request("setVariable", variablesReference=scopes[0]["variablesReference"],
                name="word", value="'there'")
    dap.request("setBreakpoints", source={"path": str(tmp_path / "hello.py")}, breakpoints=[])
    dap.request("continue", threadId=thread)
    dap.wait_output("hello there 0")  # the assignment stuck
    dap.wait_output("hello world 1")


def test_an_edit_saved_while_stopped_runs_at_the_next_continue(
        dap: DapClient, tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    mark = len(dap.events)
    program.write_text(HELLO.replace('print("hello", word', 'print("HELLO", word'),
                       encoding="utf-8")
    dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[])
    dap.request("continue", threadId=stopped["body"]["threadId"])
    applied = dap.wait_event("relive/editApplied", after=mark)
    assert applied["body"]["generation"] == 1
    assert applied["body"]["durationMs"] > 0 and applied["body"]["processes"] == 1
    assert applied["body"]["updated"] == ["print_world"]
    dap.wait_output("relive: hello.py: gen 1: updated print_world (")
    # the stopped call moved to the new code at the line it was stopped on: this very call
    # prints the new text
    dap.wait_output("HELLO world 0")
    assert "hello world 0" not in dap.output


def test_an_edit_saved_while_running_is_applied_at_once(dap: DapClient,
                                                         tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO)
    dap.wait_output("hello world 2")
    program.write_text(HELLO.replace('word = "world"', 'word = "live"'), encoding="utf-8")
    dap.wait_event("relive/editApplied")
    dap.wait_output("hello live")
    # the pause that took the edit was not the editor's: it was never told of it
    assert not [e for e in dap.events if e["event"] == "stopped"]


def test_a_rude_edit_is_reported_and_changes_nothing(dap: DapClient, tmp_path: Path) -> None:
    source = HELLO.replace("import time\n", "import time\n\n\nclass Base:\n    pass\n")
    program = _start(dap, tmp_path, source)
    dap.wait_output("hello world 1")
    program.write_text(source.replace("class Base:", "class Base(dict):"), encoding="utf-8")
    rude = dap.wait_event("relive/rudeEdit")
    assert rude["body"]["code"] == "RL1001" and rude["body"]["severity"] == "error"
    assert rude["body"]["actions"] == ["restart", "keepRunning"]
    count = dap.output.count("hello world")
    dap.wait_output(f"hello world {count + 1}")  # the program runs on, on the old code


def test_stepping_over_and_into(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO, line=11)
    thread = dap.wait_event("stopped", reason="breakpoint")["body"]["threadId"]
    dap.request("setBreakpoints", source={"path": str(tmp_path / "hello.py")}, breakpoints=[])
    mark = len(dap.events)
    dap.request("stepIn", threadId=thread)
    dap.wait_event("stopped", after=mark, reason="step")
    assert _top(dap, thread)["name"] == "print_world"
    mark = len(dap.events)
    dap.request("stepOut", threadId=thread)
    dap.wait_event("stopped", after=mark, reason="step")
    top = _top(dap, thread)
    assert top["name"] == "main" and top["line"] == 12  # the line after the call
    mark = len(dap.events)
    dap.request("next", threadId=thread)
    dap.wait_event("stopped", after=mark, reason="step")
    assert _top(dap, thread)["line"] == 10  # the loop's next turn


def test_the_program_ending_ends_the_session(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, "print('bye', flush=True)\n")
    exited = dap.wait_event("exited")
    assert exited["body"]["exitCode"] == 0
    dap.wait_event("terminated")
    dap.wait_output("bye")


def test_an_unknown_request_fails_and_the_session_goes_on(dap: DapClient,
                                                          tmp_path: Path) -> None:
    response = dap.response(dap.send("frobnicate"))
    assert not response["success"] and "frobnicate" in response["message"]
    dap._write({"seq": 99, "type": "response", "request_seq": "junk", "success": True})
    dap._write({"seq": 100, "type": "response", "request_seq": 12345, "success": True})
    assert dap.request("initialize", adapterID="relive")["supportsLogPoints"]


def test_conditional_hit_and_log_breakpoints(dap: DapClient, tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, breakpoints=[
        {"line": 5, "logMessage": "called with {n}"}, {"line": 6, "condition": "n == 3"}])
    stopped = dap.wait_event("stopped", reason="breakpoint")
    frames = dap.request("stackTrace", threadId=stopped["body"]["threadId"])["stackFrames"]
    n = dap.request("evaluate", expression="n", frameId=frames[0]["id"], context="watch")
    assert n["result"] == "3"
    assert "called with 3" in dap.output and "hello world 3" not in dap.output
    dap.request("setBreakpoints", source={"path": str(program)},
                breakpoints=[{"line": 6, "hitCondition": "3"}])
    mark = len(dap.events)
    dap.request("continue", threadId=stopped["body"]["threadId"])
    again = dap.wait_event("stopped", after=mark, reason="breakpoint")
    frames = dap.request("stackTrace", threadId=again["body"]["threadId"])["stackFrames"]
    n = dap.request("evaluate", expression="n", frameId=frames[0]["id"], context="hover")
    assert n["result"] == "6"  # calls 4 and 5 were ignored, the third hit stops


def test_an_uncaught_exception_stops_where_it_was_raised(dap: DapClient,
                                                          tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        def parse(text):
            return int(text)


        parse("x")
    """)
    stopped = dap.wait_event("stopped", reason="exception")
    assert "ValueError" in stopped["body"]["text"]
    top = _top(dap, stopped["body"]["threadId"])
    assert top["name"] == "parse" and top["line"] == 2


def test_breakpoints_follow_an_edit_that_moves_their_lines(dap: DapClient,
                                                            tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    ident = stopped["body"]["hitBreakpointIds"][0]
    mark = len(dap.events)
    program.write_text(HELLO.replace("import time\n", "import time\n\nEXTRA = 1\n\n"),
                       encoding="utf-8")
    dap.request("continue", threadId=stopped["body"]["threadId"])
    moved = dap.wait_event("breakpoint", after=mark, reason="changed")
    assert moved["body"]["breakpoint"]["id"] == ident
    assert moved["body"]["breakpoint"]["line"] == 9
    again = dap.wait_event("stopped", after=mark, reason="breakpoint")
    assert _top(dap, again["body"]["threadId"])["line"] == 9


def test_remap_ask_stops_and_goto_chooses_the_line(dap: DapClient, tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, line=6, remap="ask")
    stopped = dap.wait_event("stopped", reason="breakpoint")
    thread = stopped["body"]["threadId"]
    program.write_text(HELLO.replace('print("hello", word', 'print("HELLO", word'),
                       encoding="utf-8")
    dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[])
    mark = len(dap.events)
    dap.request("continue", threadId=thread)
    remap = dap.wait_event("stopped", after=mark, reason="remap")
    assert "old code" in remap["body"]["description"]
    assert _top(dap, thread)["name"].endswith("(old code)")
    targets = dap.request("gotoTargets", source={"path": str(program)}, line=6)["targets"]
    mark = len(dap.events)
    dap.request("goto", threadId=thread, targetId=targets[0]["id"])
    dap.wait_event("stopped", after=mark)
    mark = len(dap.events)
    dap.request("continue", threadId=thread)
    dap.wait_output("HELLO world 0")


def test_exception_info_and_loaded_sources(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        def parse(text):
            return int(text)


        parse("x")
    """)
    dap.wait_event("stopped", reason="exception")
    info = dap.request("exceptionInfo", threadId=0)
    assert info["exceptionId"] == "ValueError" and info["breakMode"] == "unhandled"
    assert "invalid literal" in info["description"]
    sources = dap.request("loadedSources")["sources"]
    assert str(tmp_path / "hello.py") in [s["path"] for s in sources]


def test_terminate_ends_the_program(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO)
    dap.wait_output("hello world 1")
    dap.request("terminate")
    dap.wait_event("terminated")
    assert "hello world 199" not in dap.output


def test_disconnect_without_terminating_lets_the_program_run_on(
        dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO.replace("range(200)", "range(30)").replace(
        'print("hello", word, n, flush=True)',
        'print("hello", word, n, flush=True)\n    open("last", "w").write(str(n))'))
    dap.wait_output("hello world 1")
    dap.request("disconnect", terminateDebuggee=False)
    import time

    deadline = time.monotonic() + 30
    while not ((tmp_path / "last").exists() and (tmp_path / "last").read_text() == "29"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert dap.process.wait(timeout=10) == 0  # the adapter ends with the program


def test_breakpoint_locations_are_the_lines_with_code(dap: DapClient, tmp_path: Path) -> None:
    program = tmp_path / "hello.py"
    program.write_text(HELLO, encoding="utf-8")
    dap.request("initialize", adapterID="relive")
    found = dap.request("breakpointLocations", source={"path": str(program)}, line=3,
                        endLine=12)["breakpoints"]
    assert [b["line"] for b in found] == [4, 5, 6, 9, 10, 11, 12]
    one = dap.request("breakpointLocations", source={"path": str(program)}, line=7)
    assert one["breakpoints"] == []  # a blank line


def test_restart_runs_the_program_again_with_the_same_breakpoints(
        dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    ident = stopped["body"]["hitBreakpointIds"][0]
    dap.request("continue", threadId=stopped["body"]["threadId"])
    second = dap.wait_event("stopped", reason="breakpoint", after=dap.events.index(stopped) + 1)
    dap.wait_output("hello world 0")
    frames = dap.request("stackTrace", threadId=second["body"]["threadId"])["stackFrames"]
    n = dap.request("evaluate", expression="n", frameId=frames[0]["id"], context="watch")
    assert n["result"] == "1"
    mark = len(dap.events)
    dap.request("restart")
    again = dap.wait_event("stopped", after=mark, reason="breakpoint")
    assert again["body"]["hitBreakpointIds"] == [ident]  # the editor's id, kept
    frames = dap.request("stackTrace", threadId=again["body"]["threadId"])["stackFrames"]
    n = dap.request("evaluate", expression="n", frameId=frames[0]["id"], context="watch")
    assert n["result"] == "0"  # a new run
    assert not [e for e in dap.events[mark:] if e["event"] in ("terminated", "exited")]
    # the breakpoint the editor clears is the new program's
    dap.request("setBreakpoints", source={"path": str(tmp_path / "hello.py")}, breakpoints=[])
    mark = len(dap.events)
    dap.request("continue", threadId=again["body"]["threadId"])
    dap.wait_output("hello world 3")
    assert not [e for e in dap.events[mark:] if e["event"] == "stopped"]


def test_evaluate_without_a_frame_uses_the_programs_globals_while_it_runs(
        dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, HELLO.replace("def main():", "COUNT = 41\n\n\ndef main():"))
    dap.wait_output("hello world 1")
    found = dap.request("evaluate", expression="COUNT + 1", context="repl")
    assert found["result"] == "42"
    count = dap.output.count("hello world")
    dap.wait_output(f"hello world {count + 1}")  # it runs on
    assert not [e for e in dap.events if e["event"] == "stopped"]


def test_set_expression_assigns_an_item_and_clipboard_copies_the_whole_value(
        dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        def show(table, long):
            print(table["k"], len(long), flush=True)


        show({"k": 1}, "x" * 1000)
    """, line=2)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    frame = _top(dap, stopped["body"]["threadId"])["id"]
    found = dap.request("setExpression", expression='table["k"]', value="7 * 6", frameId=frame)
    assert found["value"] == "42"
    hover = dap.request("evaluate", expression="long", frameId=frame, context="hover")
    assert len(hover["result"]) < 300
    copied = dap.request("evaluate", expression="long", frameId=frame, context="clipboard")
    assert copied["result"] == "x" * 1000
    dap.request("continue", threadId=stopped["body"]["threadId"])
    dap.wait_output("42 1000")


def test_restart_frame_runs_the_function_again_from_its_first_line(
        dap: DapClient, tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    thread = stopped["body"]["threadId"]
    frames = dap.request("stackTrace", threadId=thread)["stackFrames"]
    assert [f["canRestart"] for f in frames[:2]] == [True, False]
    refused = dap.response(dap.send("restartFrame", frameId=frames[1]["id"]))
    assert not refused["success"] and "stopped in" in refused["message"]
    scopes = dap.request("scopes", frameId=frames[0]["id"])["scopes"]
    dap.request("setVariable", variablesReference=scopes[0]["variablesReference"],
                name="word", value="'there'")
    mark = len(dap.events)
    dap.request("restartFrame", frameId=frames[0]["id"])
    dap.wait_event("stopped", after=mark, reason="restart")
    assert _top(dap, thread)["line"] == 5
    dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[])
    dap.request("continue", threadId=thread)
    dap.wait_output("hello world 1")  # line 5 ran again: 'there' never printed
    assert "hello there" not in dap.output and dap.output.count("hello world 0") == 1


def test_async_frames_say_where_they_were_awaited_from(dap: DapClient,
                                                       tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        import asyncio


        async def inner():
            return 1


        async def outer():
            return await inner()


        asyncio.run(outer())
    """, line=5)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    names = [f["name"] for f in
             dap.request("stackTrace", threadId=stopped["body"]["threadId"])["stackFrames"]]
    assert names[:2] == ["inner (awaited from outer)", "outer (task Task-1)"]


def test_a_generator_frame_says_what_resumed_it(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        def numbers():
            yield 1


        def main():
            return next(numbers())


        main()
    """, line=2)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    names = [f["name"] for f in
             dap.request("stackTrace", threadId=stopped["body"]["threadId"])["stackFrames"]]
    assert names[:2] == ["numbers (generator resumed by main)", "main"]


def test_cancel_aborts_an_evaluation_and_the_program_goes_on(dap: DapClient,
                                                             tmp_path: Path) -> None:
    program = _start(dap, tmp_path, HELLO, line=6)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    frame = _top(dap, stopped["body"]["threadId"])["id"]
    capabilities = dap.request("initialize", adapterID="relive")
    assert capabilities["supportsCancelRequest"]
    running = dap.send("evaluate", expression="while True:\n    n += 1", frameId=frame,
                       context="repl")
    waiting = dap.send("threads")
    dap.request("cancel", requestId=waiting)
    answer = dap.response(waiting)
    assert (answer["command"], answer["success"], answer["message"]) == (
        "threads", False, "cancelled")
    answer = None
    for _ in range(200):  # until the evaluation has started and the cancel lands in it
        dap.request("cancel", requestId=running)
        try:
            answer = dap.responses(running).get(timeout=0.05)
            break
        except queue.Empty:
            continue
    assert answer is not None and not answer["success"] and answer["message"] == "cancelled"
    dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[])
    dap.request("continue", threadId=stopped["body"]["threadId"])
    dap.wait_output("hello world 1")


def test_step_into_a_chosen_call_of_the_line(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        def price(n):
            return n * 2


        def tax(n):
            return n + 1


        def report(value):
            print("total", value, flush=True)


        report(tax(price(20)))
        print("after", flush=True)
    """, line=13)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    thread = stopped["body"]["threadId"]
    frame = _top(dap, thread)["id"]
    targets = dap.request("stepInTargets", frameId=frame)["targets"]
    assert [t["label"] for t in targets] == ["price", "tax", "report"]
    dap.request("setBreakpoints", source={"path": str(tmp_path / "hello.py")}, breakpoints=[])
    mark = len(dap.events)
    dap.request("stepIn", threadId=thread, targetId=targets[1]["id"])
    dap.wait_event("stopped", after=mark, reason="step")
    top = _top(dap, thread)
    assert (top["name"], top["line"]) == ("tax", 6)  # price ran without a stop
    frames = dap.request("stackTrace", threadId=thread)["stackFrames"]
    n = dap.request("evaluate", expression="n", frameId=frames[0]["id"], context="watch")
    assert n["result"] == "40"
    dap.request("continue", threadId=thread)
    dap.wait_output("after")


def test_a_program_in_the_editors_terminal_reads_its_input_there(dap: DapClient,
                                                                 tmp_path: Path) -> None:
    program = _start(dap, tmp_path, """\
        name = input("name? ")
        greeting = "hello " + name
        print(greeting, flush=True)
    """, line=3, console="integratedTerminal")
    assert dap.terminal is not None and dap.terminal.stdin is not None
    request = dap.terminal_requests[0]["arguments"]
    assert request["kind"] == "integrated" and request["cwd"] == str(tmp_path)
    assert str(program) in request["args"] and "--token-file" in request["args"]
    token_file = request["args"][request["args"].index("--token-file") + 1]
    assert not Path(token_file).exists()  # read and removed by the program's agent
    dap.terminal.stdin.write(b"relive\n")
    dap.terminal.stdin.flush()
    stopped = dap.wait_event("stopped", reason="breakpoint")
    frame = _top(dap, stopped["body"]["threadId"])["id"]
    found = dap.request("evaluate", expression="greeting", frameId=frame, context="watch")
    assert found["result"] == "'hello relive'"
    dap.request("continue", threadId=stopped["body"]["threadId"])
    dap.wait_event("exited")
    assert dap.terminal.stdout is not None
    assert b"hello relive" in dap.terminal.stdout.read()
    assert dap.terminal.wait(timeout=10) == 0


@pytest.mark.skipif(sys.version_info < (3, 14) and shutil.which("gdb") is None,
                    reason="attaching to CPython before 3.14 needs gdb")
def test_attach_to_a_running_process_debug_edit_and_leave_it_running(
        dap: DapClient, tmp_path: Path) -> None:
    program = tmp_path / "hello.py"
    program.write_text(HELLO.replace("range(200)", "range(100000)"), encoding="utf-8")
    plain = subprocess.Popen([sys.executable, str(program)], cwd=tmp_path,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert plain.stdout is not None
        assert plain.stdout.readline().startswith("hello world")
        dap.request("initialize", adapterID="relive")
        dap.request("attach", processId=plain.pid)
        dap.wait_event("initialized")
        dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[{"line": 6}])
        dap.request("configurationDone")
        stopped = dap.wait_event("stopped", reason="breakpoint")
        thread = stopped["body"]["threadId"]
        frame = _top(dap, thread)["id"]
        assert dap.request("evaluate", expression="word", frameId=frame,
                           context="watch")["result"] == "'world'"
        dap.request("setBreakpoints", source={"path": str(program)}, breakpoints=[])
        dap.request("continue", threadId=thread)
        program.write_text(program.read_text(encoding="utf-8").replace(
            'word = "world"', 'word = "attached"'), encoding="utf-8")
        dap.wait_event("relive/editApplied")
        dap.request("disconnect")  # an attached process runs on
        assert dap.process.wait(timeout=10) == 0
        deadline = time.monotonic() + 30
        while "hello attached" not in plain.stdout.readline():
            assert time.monotonic() < deadline
        assert plain.poll() is None
    finally:
        plain.kill()
        plain.wait()


def test_a_tasks_coroutine_says_which_task_awaits_it(dap: DapClient, tmp_path: Path) -> None:
    _start(dap, tmp_path, """\
        import asyncio


        async def fetch():
            return 1


        async def main():
            worker = asyncio.create_task(fetch(), name="fetcher")
            return await worker


        asyncio.run(main())
    """, line=5)
    stopped = dap.wait_event("stopped", reason="breakpoint")
    names = [f["name"] for f in
             dap.request("stackTrace", threadId=stopped["body"]["threadId"])["stackFrames"]]
    assert names[0] == ("fetch (task fetcher, awaited by Task-1 in main at hello.py:10)"), names
