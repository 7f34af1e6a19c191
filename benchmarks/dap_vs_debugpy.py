"""Benchmark: ``relive dap`` against debugpy's adapter, driven by the same DAP client over
stdio on the same programs.

    python benchmarks/dap_vs_debugpy.py [--runs N] [--steps N] [--hits N] [--python PATH]
                                        [--quick]

Three figures for each adapter:

1. launch: from the ``launch`` request (sent after ``initialize``) to the first ``stopped``
   event at a breakpoint. The client does what editors do: it waits for ``initialized``,
   sets the breakpoint, then sends ``configurationDone``. The breakpoint is on the first
   line of a loop the program reaches at once. Median of ``--runs`` sessions.
2. next: from a ``next`` request to its ``stopped`` event, stepping over a loop body of
   simple statements. Median of ``--steps`` steps, spread over the launch sessions.
3. conditional breakpoint: a breakpoint whose condition is always false, on a line that runs
   ``--hits`` times. The program times its own loop (``time.perf_counter``) and prints it,
   so start-up is not counted; the figure is that time under the adapter divided by the
   time under plain ``python`` (medians).

Targets: relive at or below debugpy on 1 and 2, and at most half of debugpy's slowdown on 3.
The adapters run on ``--python`` (default: this interpreter), which must import both relive
and debugpy (``pip install -e ".[bench]"``). This prints figures; it is not a test, and a
missed target is reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

TIMEOUT_S = 60.0

STEP_PROGRAM = """\
def main(n):
    total = 0
    for i in range(n):
        a = i + 1  # breakpoint
        b = a * 2
        c = b - a
        d = c + i
        total += d
    return total


print("result", main(100_000), flush=True)
"""

CONDITION = "i < 0"  # never true: the loop counts up from 0
COND_PROGRAM = """\
import sys
import time


def work(n):
    total = 0
    for i in range(n):
        total += i % 7  # breakpoint
    return total


work(100)  # the first hit of the breakpoint (compiling its condition) is not timed
start = time.perf_counter()
work(int(sys.argv[1]))
print(f"loop seconds {time.perf_counter() - start:.9f}", flush=True)
"""
LOOP_SECONDS = re.compile(r"loop seconds ([0-9.]+)")


def breakpoint_line(program: str) -> int:
    return next(n for n, line in enumerate(program.splitlines(), 1) if "# breakpoint" in line)


class Message(NamedTuple):
    body: dict[str, Any]
    at: float  # time.perf_counter() when the client read it


class Session:
    """One adapter process on stdio, and the client's view of it."""

    def __init__(self, command: list[str], cwd: str) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))
        self._seq = 0
        self._write_lock = threading.Lock()
        self._responses: dict[int, queue.Queue[Message]] = {}
        self._responses_lock = threading.Lock()
        self.events: list[Message] = []
        self.output = ""
        self._changed = threading.Condition()
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()

    # -- the wire --------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        if length is None:
                            continue
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = stream.read(length)
                at = time.perf_counter()
                if len(body) < length:
                    return
                self._dispatch(Message(json.loads(body), at))
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    def _dispatch(self, message: Message) -> None:
        kind = message.body.get("type")
        if kind == "response":
            self._queue(int(message.body["request_seq"])).put(message)
        elif kind == "event":
            with self._changed:
                if message.body.get("event") == "output":
                    self.output += str(message.body.get("body", {}).get("output", ""))
                self.events.append(message)
                self._changed.notify_all()
        elif kind == "request":  # a reverse request: none is needed here, so none is done
            self._write({"type": "response", "request_seq": message.body.get("seq"),
                         "command": message.body.get("command"), "success": False,
                         "message": "not supported by this client"})

    def _queue(self, seq: int) -> queue.Queue[Message]:
        with self._responses_lock:
            return self._responses.setdefault(seq, queue.Queue())

    def _write(self, message: dict[str, Any]) -> int:
        stdin = self.process.stdin
        assert stdin is not None
        with self._write_lock:
            self._seq += 1
            body = json.dumps({"seq": self._seq, **message}).encode()
            stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            stdin.flush()
            return self._seq

    # -- requests and events ---------------------------------------------------------------

    def send(self, command: str, **arguments: Any) -> int:
        return self._write({"type": "request", "command": command, "arguments": arguments})

    def response(self, seq: int) -> dict[str, Any]:
        try:
            found = self._queue(seq).get(timeout=TIMEOUT_S).body
        except queue.Empty:
            raise SystemExit(f"no response to request {seq} within {TIMEOUT_S:.0f} s; last "
                             f"events: {[e.body.get('event') for e in self.events[-10:]]}"
                             ) from None
        if not found.get("success"):
            raise SystemExit(f"{found.get('command')} failed: {found.get('message')}")
        body: dict[str, Any] = found.get("body") or {}
        return body

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        return self.response(self.send(command, **arguments))

    def mark(self) -> int:
        with self._changed:
            return len(self.events)

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise SystemExit(f"no {what}: the adapter "
                                     f"{'ended' if self._closed else 'did not answer'}; "
                                     f"output: {self.output[-500:]!r}")
                self._changed.wait(left)

    def event(self, name: str, after: int) -> Message:
        """The first event ``name`` from index ``after`` on."""
        found: list[Message] = []

        def seen() -> bool:
            found.extend(e for e in self.events[after:] if e.body.get("event") == name)
            return bool(found)

        self.wait_for(seen, f"{name!r} event")
        return found[0]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self._queue(self.send("disconnect", terminateDebuggee=True)).get(timeout=10)
            except (OSError, ValueError, queue.Empty):
                pass
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Adapter(NamedTuple):
    name: str
    command: list[str]
    launch: Callable[[str, str, list[str]], dict[str, Any]]  # (program, cwd, args)


def adapters(python: str, hot_reload: str) -> list[Adapter]:
    def relive(program: str, cwd: str, args: list[str]) -> dict[str, Any]:
        return {"program": program, "args": args, "cwd": cwd, "justMyCode": True,
                "hotReload": hot_reload}

    def debugpy(program: str, cwd: str, args: list[str]) -> dict[str, Any]:
        return {"type": "python", "request": "launch", "name": "benchmark",
                "program": program, "args": args, "cwd": cwd, "console": "internalConsole",
                "justMyCode": True, "python": [python]}

    return [Adapter("relive", [python, "-m", "relive", "dap"], relive),
            Adapter("debugpy", [python, "-m", "debugpy.adapter"], debugpy)]


def start(adapter: Adapter, program: Path, args: list[str], line: int,
          condition: str | None = None) -> tuple[Session, float, Message | None]:
    """A session of ``program`` with a breakpoint at ``line``: the session, the time the
    launch request was sent, and (without a condition) the first ``stopped`` event."""
    session = Session(adapter.command, str(program.parent))
    session.request("initialize", clientID="bench", clientName="bench", adapterID="python",
                    linesStartAt1=True, columnsStartAt1=True, pathFormat="path",
                    supportsRunInTerminalRequest=False, supportsVariableType=True)
    mark = session.mark()
    sent = time.perf_counter()
    launch = session.send("launch", **adapter.launch(str(program), str(program.parent), args))
    session.event("initialized", mark)
    breakpoint_: dict[str, Any] = {"line": line}
    if condition is not None:
        breakpoint_["condition"] = condition
    found = session.request("setBreakpoints", source={"path": str(program)},
                            breakpoints=[breakpoint_])
    if len(found.get("breakpoints") or ()) != 1:  # (not yet verified: the file runs later)
        raise SystemExit(f"{adapter.name}: the breakpoint was not set: {found}")
    session.request("setExceptionBreakpoints", filters=[])
    session.request("configurationDone")
    session.response(launch)  # debugpy answers the launch only after configurationDone
    stopped = None if condition is not None else session.event("stopped", mark)
    return session, sent, stopped


def step_session(adapter: Adapter, program: Path, steps: int
                 ) -> tuple[float, list[float], list[int]]:
    """Launch to the breakpoint (seconds), then ``steps`` steps over: their latencies and the
    lines they stopped at."""
    session, sent, stopped = start(adapter, program, [], breakpoint_line(STEP_PROGRAM))
    try:
        assert stopped is not None
        launched = stopped.at - sent
        thread = int(stopped.body["body"]["threadId"])
        latencies, lines = [], []
        for _ in range(steps):
            mark = session.mark()
            began = time.perf_counter()
            seq = session.send("next", threadId=thread)
            stop = session.event("stopped", mark)
            latencies.append(stop.at - began)
            session.response(seq)
            # as an editor does after a stop (not timed): where the thread is
            frames = session.request("stackTrace", threadId=thread, startFrame=0, levels=1)
            lines.append(int(frames["stackFrames"][0]["line"]))
        return launched, latencies, lines
    finally:
        session.close()


def conditional_session(adapter: Adapter, program: Path, hits: int) -> float:
    """The program's loop time (seconds) under ``adapter`` with the false conditional
    breakpoint."""
    session, _sent, _ = start(adapter, program, [str(hits)], breakpoint_line(COND_PROGRAM),
                              CONDITION)
    try:
        session.wait_for(lambda: LOOP_SECONDS.search(session.output) is not None,
                         "loop time in the output")
        if any(e.body.get("event") == "stopped" for e in session.events):
            raise SystemExit(f"{adapter.name} stopped at the conditional breakpoint")
        match = LOOP_SECONDS.search(session.output)
        assert match is not None
        return float(match.group(1))
    finally:
        session.close()


def plain(python: str, program: Path, hits: int) -> float:
    done = subprocess.run([python, str(program), str(hits)], capture_output=True, text=True,
                          check=True, cwd=program.parent)
    match = LOOP_SECONDS.search(done.stdout)
    assert match is not None, done.stdout
    return float(match.group(1))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def interpreter(python: str) -> tuple[str, str]:
    """``python``'s version and its debugpy's; exits 2 when relive or debugpy is missing."""
    found = subprocess.run(
        [python, "-c", "import platform, relive\n"
         "try:\n import debugpy\nexcept ImportError:\n print(platform.python_version(), '')\n"
         "else:\n print(platform.python_version(), debugpy.__version__)"],
        capture_output=True, text=True)
    if found.returncode != 0:
        print(f"{python} cannot import relive:\n{found.stderr.strip()}", file=sys.stderr)
        raise SystemExit(2)
    version, _, debugpy = found.stdout.strip().partition(" ")
    if not debugpy:
        print(f"debugpy is not installed for {python}: install it with\n"
              f"    {python} -m pip install -e \".[bench]\"   (in the project's root)\n"
              f"or  {python} -m pip install \"debugpy>=1.8\"", file=sys.stderr)
        raise SystemExit(2)
    return version, debugpy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="launch sessions (default 10)")
    parser.add_argument("--steps", type=int, default=200, help="steps over (default 200)")
    parser.add_argument("--hits", type=int, default=200_000,
                        help="hits of the conditional breakpoint (default 200000)")
    parser.add_argument("--cond-runs", type=int, default=3,
                        help="runs of the conditional-breakpoint program (default 3)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter the adapters and programs run on")
    parser.add_argument("--hot-reload", default="never", choices=("auto", "manual", "never"),
                        help="relive's hotReload launch argument (default never)")
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run: 3 sessions, 30 steps, 20000 hits, 1 run")
    options = parser.parse_args()
    if options.quick:
        options.runs, options.steps, options.hits, options.cond_runs = 3, 30, 20_000, 1
    if min(options.runs, options.steps, options.hits, options.cond_runs) < 1:
        parser.error("--runs, --steps, --hits and --cond-runs must be at least 1")

    version, debugpy_version = interpreter(options.python)
    print(f"relive dap vs debugpy {debugpy_version} on CPython {version} ({options.python}), "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {load()}")
    print(f"{options.runs} launches, {options.steps} steps, conditional breakpoint hit "
          f"{options.hits} times x {options.cond_runs} runs; relive hotReload "
          f"{options.hot_reload}", flush=True)

    launches: dict[str, list[float]] = {}
    steps: dict[str, list[float]] = {}
    lines: dict[str, list[int]] = {}
    loops: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="relive-dap-bench-") as tmp:
        directory = Path(os.path.realpath(tmp))
        step_program = directory / "stepping.py"
        step_program.write_text(STEP_PROGRAM, encoding="utf-8")
        cond_program = directory / "conditional.py"
        cond_program.write_text(COND_PROGRAM, encoding="utf-8")
        loops["python"] = [plain(options.python, cond_program, options.hits)
                           for _ in range(max(5, options.cond_runs))]
        chosen = adapters(options.python, options.hot_reload)
        per_run = [options.steps // options.runs + (i < options.steps % options.runs)
                   for i in range(options.runs)]
        for run in range(options.runs):  # the adapters take turns, so that load hits both
            for adapter in chosen:
                launched, latencies, stopped_at = step_session(adapter, step_program,
                                                               per_run[run])
                launches.setdefault(adapter.name, []).append(launched)
                steps.setdefault(adapter.name, []).extend(latencies)
                lines.setdefault(adapter.name, []).extend(stopped_at)
        for _ in range(options.cond_runs):
            for adapter in chosen:
                loops.setdefault(adapter.name, []).append(
                    conditional_session(adapter, cond_program, options.hits))
    print(f"load average at end: {load()}")
    if lines["relive"] != lines["debugpy"]:
        print(f"note: the steps stopped at different lines: relive "
              f"{lines['relive'][:12]}..., debugpy {lines['debugpy'][:12]}...")

    ms = 1000.0
    plain_s = statistics.median(loops["python"])
    slowdown = {name: statistics.median(loops[name]) / plain_s for name in ("relive",
                                                                            "debugpy")}
    rows: list[tuple[str, str, dict[str, float], str, Callable[[float, float], bool]]] = [
        ("launch to stopped at breakpoint", "ms", {n: statistics.median(launches[n]) * ms
                                                   for n in launches},
         "relive <= debugpy", lambda r, d: r <= d),
        ("next to stopped", "ms", {n: statistics.median(steps[n]) * ms for n in steps},
         "relive <= debugpy", lambda r, d: r <= d),
        (f"false conditional bp, {options.hits} hits", "x", slowdown,
         "relive <= debugpy / 2", lambda r, d: r <= d / 2),
    ]
    print()
    print(f"{'median':<40} {'relive':>10} {'debugpy':>10}   target")
    met_all = True
    for title, unit, figures, target, check in rows:
        met = check(figures["relive"], figures["debugpy"])
        met_all = met_all and met
        if unit == "x":
            cells = [f"{figures[n]:.1f}x" for n in ("relive", "debugpy")]
        else:
            cells = [f"{figures[n]:.1f} {unit}" for n in ("relive", "debugpy")]
        print(f"{title:<40} {cells[0]:>10} {cells[1]:>10}   {target}: "
              f"{'met' if met else 'MISSED'}")
    print()
    print("spread (min / median / max):")
    for name in ("relive", "debugpy"):
        for what, values in (("launch", launches[name]), ("next", steps[name])):
            print(f"  {name:<8} {what:<7} {min(values) * ms:8.1f} "
                  f"{statistics.median(values) * ms:8.1f} {max(values) * ms:8.1f} ms")
    for name in ("python", "relive", "debugpy"):
        values = loops[name]
        print(f"  {name:<8} loop    {min(values) * ms:8.1f} {statistics.median(values) * ms:8.1f}"
              f" {max(values) * ms:8.1f} ms")
    print(f"\n{'all targets met' if met_all else 'some targets missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
