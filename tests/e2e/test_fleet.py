"""``relive run`` and every process of a program: multiprocessing workers, interpreters the
program starts, forking servers. Each edit reaches all of them, or none."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import TIMEOUT, RunningProgram

pytestmark = pytest.mark.slow

Start = Callable[..., RunningProgram]

POOL = """
    import multiprocessing as mp
    import os
    import sys
    import time

    import work

    def task(i):
        time.sleep(0.005)
        return f"{os.getpid()}:{work.value()}"

    def main():
        os.environ["APP_MAIN"] = str(os.getpid())
        with mp.get_context(sys.argv[1]).Pool(4) as pool:
            for n in range(3000):
                print(n, work.label(), *sorted(set(pool.map(task, range(16)))), flush=True)
                time.sleep(0.02)

    if __name__ == "__main__":
        main()
"""

WORK = """
    import os
    import time

    HELD = []

    def value():
        return "one"

    def label():
        return "main-one"

    def slow_in_workers(fn):
        if str(os.getpid()) != os.environ.get("APP_MAIN"):
            open(f"preparing-{os.getpid()}", "w").close()
            time.sleep(2)
        return fn
"""


def _values(line: str) -> dict[str, str]:
    """pid: value, from a line of the pool program."""
    return dict(item.split(":") for item in line.split()[2:])


def _applied_in(p: RunningProgram, what: str) -> int:
    """How many processes took the edit whose printed line contains ``what``."""
    line = p.wait_stderr(lambda line: what in line and "processes" in line)
    found = re.search(r" in (\d+) processes", line)
    assert found is not None, line
    return int(found.group(1))


def _all_workers_say(p: RunningProgram, value: str, workers: int = 4) -> set[str]:
    """Wait until a line shows every worker with ``value``; from then on, no other value.
    The pids that said it."""
    p.wait_line(lambda line: line[0].isdigit() and set(_values(line).values()) == {value})
    seen: set[str] = set()
    for _ in range(20):
        line = p.wait_line(lambda line: line[0].isdigit())
        values = _values(line)
        assert set(values.values()) == {value}, line
        seen |= set(values)
        if len(seen) >= workers:
            break
    return seen


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_an_edit_reaches_every_worker_of_a_multiprocessing_pool(program: Start,
                                                               method: str) -> None:
    p = program({"app.py": POOL, "work.py": WORK}, ["app.py", method])
    p.wait_line(lambda line: line.startswith("3 "))
    p.edit("work.py", 'return "one"', 'return "two"')
    # the main process and the 4 workers (and, on 3.14+, the forkserver, which holds the
    # modules the workers are forked with)
    assert _applied_in(p, "updated value") >= 5
    workers = _all_workers_say(p, "two")
    assert len(workers) == 4
    # the function the pool runs is in the main script (__mp_main__ in spawned workers)
    p.edit("app.py", 'return f"{os.getpid()}:{work.value()}"',
           'return f"{os.getpid()}:{work.value()}!"')
    assert _applied_in(p, "updated task") >= 5
    assert _all_workers_say(p, "two!") == workers
    for name in ("work.py", "app.py"):  # app.py is __mp_main__ in spawned workers
        pids = {str(e["pid"]) for e in p.events()
                if e["event"] == "applied" and e["file"].endswith(name)}
        assert workers < pids


def test_an_edit_reaches_every_worker_of_a_process_pool_executor(program: Start) -> None:
    p = program({"app.py": POOL.replace(
        "with mp.get_context(sys.argv[1]).Pool(4) as pool:",
        "import concurrent.futures\n"
        "        with concurrent.futures.ProcessPoolExecutor(4) as pool:"),
        "work.py": WORK}, ["app.py"])
    before: set[str] = set()
    for _ in range(10):  # the executor starts its workers as the work needs them
        before |= set(_values(p.wait_line(lambda line: line[0].isdigit())))
    p.edit("work.py", 'return "one"', 'return "two"')
    assert _applied_in(p, "updated value") >= len(before) + 1
    assert len(_all_workers_say(p, "two", workers=len(before))) >= len(before)


def test_an_edit_one_process_must_refuse_is_refused_in_all(program: Start) -> None:
    p = program({"app.py": POOL.replace("time.sleep(0.005)", "work.hold()"),
                 "work.py": WORK + """
    def make():
        a = "one"
        b = "B"
        def inner():
            return a
        return inner

    def hold():
        if not HELD:
            HELD.append(make())  # a live closure, in the workers only
"""}, ["app.py", "fork"])
    p.wait_line(lambda line: line.startswith("3 "))
    # the closure's shape changes: where one is alive (the workers) that is an error
    p.edit("work.py", '        return a\n', '        return a + b\n')
    p.edit("work.py", 'return "main-one"', 'return "main-two"')
    refusal = p.wait_stderr(lambda line: "RL" in line and "error" in line)
    assert "live closure" in refusal
    p.wait_event("rude_edit")
    time.sleep(0.5)
    line = p.wait_line(lambda line: line[0].isdigit())
    assert line.split()[1] == "main-one"  # the main process, which could have, did not
    assert not [e for e in p.events() if e["event"] == "applied"]


def test_a_process_started_after_edits_runs_the_code_the_others_run(program: Start,
                                                                    tmp_path: Path) -> None:
    p = program({"app.py": """
        import os
        import subprocess
        import sys
        import time

        import work

        for n in range(3000):
            if os.path.exists("go"):
                os.remove("go")
                child = subprocess.run([sys.executable, "child.py"], capture_output=True,
                                       text=True)
                print("child", child.stdout.strip(), child.stderr.strip(), flush=True)
            print(n, work.value(), flush=True)
            time.sleep(0.02)
    """, "child.py": """
        import work

        print(work.value(), work.Shape.__bases__[0].__name__)
    """, "work.py": """
        class Shape:
            pass

        def value():
            return "one"
    """}, ["app.py"])
    p.wait_line(lambda line: line.endswith(" one"))
    p.edit("work.py", '"one"', '"two"')
    p.wait_line(lambda line: line.endswith(" two"))
    p.edit("work.py", '"two"', '"three"')
    p.wait_line(lambda line: line.endswith(" three"))
    # a rude edit, refused: the program runs on with generation 2, the disk has another text
    p.edit("work.py", "class Shape:", "class Shape(dict):")
    p.edit("work.py", '"three"', '"four"')
    p.wait_event("rude_edit")
    (tmp_path / "go").touch()
    child = p.wait_line(lambda line: line.startswith("child"))
    assert child.split() == ["child", "three", "object"]


def test_a_worker_that_dies_during_an_apply_leaves_the_others_consistent(
        program: Start, tmp_path: Path) -> None:
    p = program({"app.py": """
        import multiprocessing as mp
        import os
        import time

        import work

        def loop():
            while True:
                os.write(1, f"{os.getpid()} {work.value()}\\n".encode())
                time.sleep(0.02)

        if __name__ == "__main__":
            os.environ["APP_MAIN"] = str(os.getpid())
            for _ in range(3):
                mp.get_context("fork").Process(target=loop, daemon=True).start()
            loop()
    """, "work.py": WORK}, ["app.py"])
    pids: set[str] = set()
    while len(pids) < 4:
        pids.add(p.wait_line(lambda line: line.endswith(" one")).split()[0])
    p.edit("work.py", 'return "one"', 'return "two"')
    p.edit("work.py", "HELD = []", "HELD = []\n\n@slow_in_workers\ndef extra():\n    pass\n")
    deadline = time.monotonic() + TIMEOUT
    while not list(tmp_path.glob("preparing-*")):
        assert time.monotonic() < deadline, p.stderr_lines
        time.sleep(0.01)
    victim = next(tmp_path.glob("preparing-*")).name.split("-")[1]
    os.kill(int(victim), signal.SIGKILL)
    p.wait_stderr(lambda line: f"process {victim} ended while an edit was applied" in line)
    assert _applied_in(p, "added extra") == 3
    # the others took it, all of them
    others = pids - {victim}
    said: dict[str, str] = {}
    while {said.get(pid) for pid in others} != {"two"}:
        pid, value = p.wait_line(lambda line: line[0].isdigit()).split()
        said[pid] = value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200", head
    return body.decode()


def _wait_serving(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            _get(port)
            return
        except (OSError, AssertionError, IndexError):
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_a_restart_ends_the_processes_the_program_started(program: Start) -> None:
    """A rude edit restarts the program: the server it started in a child process ends
    too, and the new one answers on the same port."""
    port = _free_port()
    p = program({"app.py": f"""
        import subprocess, sys, time
        import shapes

        server = subprocess.Popen([sys.executable, "server.py", "{port}"])
        while True:
            time.sleep(0.1)
    """, "server.py": """
        import http.server, sys
        import shapes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = shapes.answer().encode()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """, "shapes.py": """
        class Shape:
            pass

        def answer():
            return "one"
    """}, ["app.py"], options=("--on-rude=restart",))
    _wait_serving(port)
    assert _get(port) == "one"
    p.edit("shapes.py", '"one"', '"two"')
    p.wait_event("applied", count=2)  # the server process took it too
    assert _get(port) == "two"
    p.edit("shapes.py", "class Shape:", "class Shape(dict):")
    p.wait_event("restart")
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if _get(port) == "two":
                break
        except (OSError, AssertionError, IndexError):
            pass
        assert time.monotonic() < deadline, p.stderr_lines
        time.sleep(0.1)
    assert not any("Address already in use" in line for line in p.stderr_lines)


WSGI = """
    import os

    import handler

    def app(environ, start_response):
        body = f"{handler.answer()} {os.getpid()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
"""

ASGI = """
    import os

    import handler

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = f"{handler.answer()} {os.getpid()}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})
"""

HANDLER = """
    def answer():
        return "one"
"""


class _Client:
    """Asks the server again and again, in a thread, and keeps every answer (or failure)."""

    def __init__(self, port: int) -> None:
        import threading

        self.port = port
        self.answers: list[tuple[str, str]] = []  # (answer, pid)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer, pid = _get(self.port).split()
                self.answers.append((answer, pid))
            except (OSError, AssertionError, ValueError, IndexError) as exc:
                self.failures.append(repr(exc))
            time.sleep(0.002)

    def pids_saying(self, answer: str, workers: int) -> set[str]:
        """Wait until ``workers`` processes have answered ``answer``; their pids."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            pids = {pid for a, pid in list(self.answers) if a == answer}
            if len(pids) >= workers:
                return pids
            assert time.monotonic() < deadline, (self.answers[-5:], self.failures[-5:])
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT)


def _serve_and_edit(p: RunningProgram, port: int, workers: int) -> None:
    _wait_serving(port)
    client = _Client(port)
    try:
        before = client.pids_saying("one", workers)
        p.edit("handler.py", '"one"', '"two"')
        assert _applied_in(p, "updated answer") == workers
        seen = len(client.answers)
        after = client.pids_saying("two", workers)
        assert after == before  # the same processes, not new ones
        # once the edit is reported, every process answers with the new code
        late = [a for a, _pid in client.answers[seen:]]
        assert late.count("one") <= 1, late  # at most one request in flight
    finally:
        client.stop()
    assert client.failures == []


def test_every_gunicorn_worker_answers_with_the_new_handler(program: Start) -> None:
    port = _free_port()
    p = program({"app.py": WSGI, "handler.py": HANDLER},
                ["-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "app:app"])
    _serve_and_edit(p, port, workers=3)


def test_every_uvicorn_worker_answers_with_the_new_handler(program: Start) -> None:
    port = _free_port()
    p = program({"app.py": ASGI, "handler.py": HANDLER},
                ["-m", "uvicorn", "--workers", "2", "--port", str(port), "app:app"])
    _serve_and_edit(p, port, workers=2)


def test_a_flask_server_restarted_after_a_rude_edit_answers_on_its_port(
        program: Start) -> None:
    port = _free_port()
    p = program({"app.py": f"""
        import flask

        import handler

        app = flask.Flask(__name__)

        @app.route("/")
        def index():
            return handler.answer() + " 0"

        app.run(port={port})
    """, "handler.py": """
        class Base:
            pass

        def answer():
            return "one"
    """}, ["app.py"], options=("--on-rude=restart",))
    _wait_serving(port)
    p.edit("handler.py", "class Base:", "class Base(dict):")
    p.edit("handler.py", '"one"', '"two"')
    p.wait_event("restart")
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if _get(port).split()[0] == "two":
                break
        except (OSError, AssertionError, IndexError):
            pass
        assert time.monotonic() < deadline, p.stderr_lines
        time.sleep(0.1)
    assert p.process.poll() is None
    assert not any("Address already in use" in line for line in p.stderr_lines)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(
        program: Start, tmp_path: Path) -> None:
    p = program({"app.py": """
        import subprocess, sys, time
        import shapes

        if not sys.argv[1:]:
            child = subprocess.Popen([sys.executable, "stubborn.py"])
        print("started", shapes.VERSION, flush=True)
        while True:
            time.sleep(0.1)
    """, "stubborn.py": """
        import os, signal, time

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with open(f"stubborn-{os.getpid()}", "w"):
            pass
        while True:
            time.sleep(0.1)
    """, "shapes.py": """
        VERSION = 1

        class Shape:
            pass
    """}, ["app.py"], options=("--on-rude=restart", "--grace", "0.5"))
    p.wait_line(lambda line: line == "started 1")
    deadline = time.monotonic() + TIMEOUT
    while not list(tmp_path.glob("stubborn-*")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first = int(next(tmp_path.glob("stubborn-*")).name.split("-")[1])
    p.edit("shapes.py", "class Shape:", "class Shape(dict):")
    p.edit("shapes.py", "VERSION = 1", "VERSION = 2")
    p.wait_line(lambda line: line == "started 2")
    # the new program starts only once the old tree is gone, the stubborn child too
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
