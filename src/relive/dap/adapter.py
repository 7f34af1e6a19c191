"""The DAP adapter: one debug session of one program, driven by an editor.

Requests arrive on the adapter's input and are carried out one at a time, in order, with the
agent's requests (docs/protocol.md); the agent's events are turned into DAP events by a
thread of their own. The program's standard output and error become ``output`` events (the
adapter's own output is the protocol).

Edit and Continue: a saved source file of the program is applied (``hotReload``: ``auto``,
the default) at once while the program runs -- the adapter pauses it, applies, and lets it run
on, without telling the editor of that pause -- or, while it is stopped, at the next
``continue`` or step, as Visual Studio does; ``manual`` applies only on the custom request
``hotReload``; ``never`` does not apply. Every apply is told with an ``output`` event in the
words ``relive run`` prints and the custom events ``relive/editApplied`` and
``relive/rudeEdit``; breakpoints that an edit moved are sent as ``breakpoint`` events.
A stale frame moves to the new code by itself at its next statement (``remap``: ``auto``, the
default), or the adapter stops with reason ``remap`` (``ask``) and ``goto`` chooses the line.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from relive.client.connection import AgentError, Pending
from relive.client.launch import Launched, Target, launch, launch_elsewhere
from relive.dap.wire import WireError, Writer, read_message
from relive.debugger.breakpoints import BreakpointError, source_lines_with_code
from relive.runtime.result import changes_text

EXCEPTION_FILTERS = [
    {"filter": "raised", "label": "Raised Exceptions", "default": False},
    {"filter": "userUnhandled", "label": "User Uncaught... in user code", "default": False},
    {"filter": "uncaught", "label": "Uncaught Exceptions", "default": True},
]
# from the widest to the narrowest: the agent has one mode
_MODES = (("raised", "raised"), ("userUnhandled", "user"), ("uncaught", "uncaught"))

CAPABILITIES = {
    "supportsConfigurationDoneRequest": True,
    "supportsConditionalBreakpoints": True,
    "supportsHitConditionalBreakpoints": True,
    "supportsLogPoints": True,
    "supportsFunctionBreakpoints": True,
    "exceptionBreakpointFilters": EXCEPTION_FILTERS,
    "supportsSetVariable": True,
    "supportsEvaluateForHovers": True,
    "supportsCompletionsRequest": True,
    "supportsGotoTargetsRequest": True,
    "supportsTerminateRequest": True,
    "supportsModulesRequest": True,
    "supportsDelayedStackTraceLoading": True,
    "supportsExceptionInfoRequest": True,
    "supportsLoadedSourcesRequest": True,
    "supportsBreakpointLocationsRequest": True,
    "supportsRestartFrame": True,
    "supportsRestartRequest": True,
    "supportsSetExpression": True,
    "supportsEvaluateForClipboard": True,
    "supportsCancelRequest": True,
    "supportsStepInTargetsRequest": True,
}

_STOP_REASONS = {"breakpoint": "breakpoint", "function breakpoint": "function breakpoint",
                 "step": "step", "pause": "pause", "exception": "exception",
                 "entry": "entry", "remap opportunity": "remap"}


class RequestFailed(Exception):
    """A request that cannot be carried out; the message is for the user."""


class Adapter:
    """Serves one client on ``inp``/``out`` until it disconnects."""

    def __init__(self, inp: IO[bytes], out: IO[bytes]) -> None:
        self.inp = inp
        self.out = Writer(out)
        self.launched: Launched | None = None
        self.hot_reload = "auto"
        self.running = False
        self.exited = False
        self._lock = threading.Lock()
        self._frames: dict[int, tuple[int, int]] = {}  # DAP frame id: (thread, index)
        self._refs: dict[int, Any] = {}  # DAP reference: a scope's variables or agent ref
        self._scopes: dict[int, tuple[int, int]] = {}  # scope reference: its frame
        self._next_id = 1
        # Breakpoints: the editor's ids are the adapter's own, so that they outlive a
        # restart (a new program, whose agent numbers its breakpoints anew)
        self._line_wanted: dict[str, list[dict[str, Any]]] = {}
        self._line_bps: dict[str, list[int]] = {}
        self._function_wanted: list[dict[str, Any]] = []
        self._function_bps: list[int] = []
        self._exception_mode = "uncaught"
        self._to_agent: dict[int, int] = {}  # editor's breakpoint id: the agent's
        self._from_agent: dict[int, int] = {}
        self._launch_args: dict[str, Any] = {}
        self._pause_lock = threading.Lock()
        self._moved_thread = 0  # the thread a restartFrame moved
        self._attached = False  # the program was running before (attach), not launched
        self._step_targets: dict[int, str] = {}  # stepInTargets' id: the callee's name
        self._watches: list[threading.Event] = []  # each set once its watch is in place
        self._pumps: list[threading.Thread] = []  # the program's output, to the editor
        # requests: waiting to be carried out, running, cancelled while running
        self._worker: threading.Thread | None = None
        self._waiting: dict[Any, str] = {}  # seq: command
        self._running: Any = None
        self._cancelled: Any = None
        self._in_flight: Pending | None = None
        self._reverse: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}  # adapter's requests
        self._last_stop: dict[str, Any] = {}
        self._last_exception: dict[str, Any] = {}
        self._silent_pause: threading.Event | None = None
        self._stop_on_entry = False
        self._watcher_stop = threading.Event()

    # -- the loop --------------------------------------------------------------------------

    def serve(self) -> int:
        """Read the editor's requests; they are carried out in order on a thread of their
        own, so that a ``cancel`` is acted on while a request runs."""
        work: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        worker = threading.Thread(target=self._work, args=(work,), daemon=True,
                                  name="relive-dap-requests")
        self._worker = worker
        worker.start()
        while True:
            try:
                message = read_message(self.inp)
            except WireError as exc:
                self.out.event("output", {"category": "console",
                                          "output": f"relive dap: {exc}\n"})
                continue
            if message is None:  # the editor went away: so does the program it launched
                work.put({"command": "disconnect", "unanswered": True,
                          "arguments": {"terminateDebuggee": not self._attached}})
                break
            if message.get("type") == "response":  # to a request of the adapter's
                seq = message.get("request_seq")
                with self._lock:
                    waiter = self._reverse.pop(seq, None) if type(seq) is int else None
                if waiter is not None:
                    waiter.put(message)
                continue
            if message.get("type") != "request":
                continue
            command = str(message.get("command"))
            if command == "cancel":
                self._cancel(message)
                continue
            with self._lock:
                self._waiting[message.get("seq")] = command
            work.put(message)
            if command == "disconnect":
                break
        for waiter in list(self._reverse.values()):
            waiter.put({"success": False, "message": "the editor went away"})
        work.put(None)
        worker.join()
        self._watcher_stop.set()
        launched = self.launched
        if (launched is not None and launched.process.stdout is not None
                and launched.process.poll() is None):
            # detached, the program runs on: its output still comes through here (dropped
            # once the editor has gone), so this process stays until the program ends
            launched.process.wait()
        return 0

    def _work(self, work: queue.SimpleQueue[dict[str, Any] | None]) -> None:
        while True:
            message = work.get()
            if message is None:
                return
            command = str(message.get("command"))
            if message.get("unanswered"):  # the editor is gone: nobody to tell of a failure
                try:
                    self._handler(command)(message["arguments"])
                except Exception:
                    pass
                continue
            with self._lock:
                seq = message.get("seq")
                if self._waiting.pop(seq, None) is None:
                    continue  # cancelled, and answered so
                self._running = seq
            try:
                self._request(message, command)
            finally:
                with self._lock:
                    self._running = None

    def _cancel(self, message: dict[str, Any]) -> None:
        """Cancel a request that waits (answered ``cancelled``), or abort the agent's
        request of one that runs (an evaluation that runs too long)."""
        target = (message.get("arguments") or {}).get("requestId")
        with self._lock:
            waiting = self._waiting.pop(target, None)
            running = target is not None and target == self._running
            if running:
                self._cancelled = target
            in_flight = self._in_flight
        if waiting is not None:
            self.out.send({"type": "response", "request_seq": target, "success": False,
                           "command": waiting, "message": "cancelled"})
        elif running and in_flight is not None and self.launched is not None:
            try:
                self.launched.conn.send("cancel", request_seq=in_flight.seq)
            except AgentError:
                pass  # the program ended: so did the request
        self.out.send({"type": "response", "request_seq": message.get("seq"), "success": True,
                       "command": "cancel", "body": {}})

    def _handler(self, command: str) -> Callable[[dict[str, Any]], Any]:
        handler: Callable[[dict[str, Any]], Any] | None = getattr(
            self, "do_" + command.replace("/", "_"), None)
        if handler is None:
            raise RequestFailed(f"relive dap does not support {command!r}")
        return handler

    def _request(self, message: dict[str, Any], command: str) -> None:
        args = message.get("arguments") or {}
        seq = message.get("seq")
        response: dict[str, Any] = {"type": "response", "request_seq": seq,
                                    "command": command}
        try:
            body = self._handler(command)(args)
        except (RequestFailed, AgentError, KeyError, TypeError, ValueError) as exc:
            text = exc.args[-1] if isinstance(exc, AgentError) else str(exc)
            if self._cancelled == seq:
                text = "cancelled"
            self.out.send({**response, "success": False, "message": text})
            return
        if self._cancelled == seq and command == "evaluate":  # aborted: not a value
            self.out.send({**response, "success": False, "message": "cancelled"})
            return
        self.out.send({**response, "success": True, "body": body or {}})
        after = getattr(self, "after_" + command, None)
        if after is not None:
            after(args)

    def _agent(self, command: str, **args: Any) -> Any:
        if self.launched is None:
            raise RequestFailed("no program: launch one first")
        pending = self.launched.conn.send(command, **args)
        mine = threading.current_thread() is self._worker
        if mine:  # the editor's request in progress: what a cancel aborts
            self._in_flight = pending
        try:
            return pending.result()
        finally:
            if mine:
                self._in_flight = None

    def _new_id(self) -> int:
        with self._lock:
            ident, self._next_id = self._next_id, self._next_id + 1
            return ident

    def _forget_stop(self) -> None:
        with self._lock:
            self._step_targets.clear()
            self._frames.clear()
            self._refs.clear()
            self._scopes.clear()

    # -- session ---------------------------------------------------------------------------

    def do_initialize(self, args: dict[str, Any]) -> Any:
        return CAPABILITIES

    def do_launch(self, args: dict[str, Any]) -> Any:
        self._start_program(args)
        self._stop_on_entry = bool(args.get("stopOnEntry"))
        if self.hot_reload == "auto":
            directory = os.path.abspath(args.get("cwd") or ".")
            if args.get("program"):
                directory = os.path.dirname(os.path.join(directory, str(args["program"])))
            self._start_watch([directory])
        return {}

    def _start_watch(self, directories: list[str]) -> None:
        for directory in directories:
            armed = threading.Event()
            self._watches.append(armed)
            threading.Thread(target=self._watch, args=(directory, armed), daemon=True,
                             name="relive-dap-watch").start()

    def _edit_options(self, args: dict[str, Any]) -> str:
        """Take ``hotReload`` from launch or attach arguments; returns ``remap``."""
        self.hot_reload = str(args.get("hotReload", "auto"))
        if self.hot_reload not in ("auto", "manual", "never"):
            raise RequestFailed("hotReload must be auto, manual or never")
        remap = str(args.get("remap", "auto"))
        if remap not in ("auto", "ask"):
            raise RequestFailed("remap must be auto or ask")
        return remap

    def _configure(self, launched: Launched, args: dict[str, Any], remap: str) -> None:
        """The session's settings in a program just launched or attached to, and its
        events to the editor."""
        self._agent("settings", remap=remap, apply_on_continue=self.hot_reload == "auto",
                    step_into_libraries=not args.get("justMyCode", True))
        self._agent("set_exception_mode", mode=self._exception_mode)
        threading.Thread(target=self._pump_events, args=(launched,), daemon=True,
                         name="relive-dap-events").start()

    def _start_program(self, args: dict[str, Any]) -> None:
        """Start the program of launch arguments ``args``, held before its first line."""
        program, module = args.get("program"), args.get("module")
        if bool(program) == bool(module):
            raise RequestFailed("launch needs either 'program' (a script) or 'module'")
        target = Target(str(module or program), tuple(str(a) for a in args.get("args") or ()),
                        module=bool(module))
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (args.get("env") or {}).items()})
        env.setdefault("PYTHONUNBUFFERED", "1")
        remap = self._edit_options(args)
        cwd = args.get("cwd") or None
        console = str(args.get("console") or "internalConsole")
        if console not in ("internalConsole", "integratedTerminal", "externalTerminal"):
            raise RequestFailed("console must be internalConsole, integratedTerminal or "
                                "externalTerminal")
        try:
            if console == "internalConsole":
                launched = launch(target, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=cwd,
                                  python=args.get("python") or None)
            else:  # the editor runs it in a terminal: stdin is the user's there
                launched = launch_elsewhere(
                    target, lambda command: self._run_in_terminal(
                        command, console, cwd or os.getcwd(), args),
                    python=args.get("python") or None)
        except (AgentError, OSError) as exc:
            raise RequestFailed(f"could not start the program: {exc}") from None
        self.launched, self.exited, self.running = launched, False, False
        self._launch_args = dict(args)
        process = launched.process
        self._pumps = []
        for stream, category in ((process.stdout, "stdout"), (process.stderr, "stderr")):
            pump = threading.Thread(target=self._pump_output, args=(stream, category),
                                    daemon=True, name=f"relive-dap-{category}")
            pump.start()
            self._pumps.append(pump)
        self._configure(launched, args, remap)

    def after_launch(self, args: dict[str, Any]) -> None:
        self.out.event("initialized")

    def do_configurationDone(self, args: dict[str, Any]) -> Any:
        for armed in self._watches:  # a save from the program's first line on is applied
            armed.wait(5.0)
        if not self._attached:
            self._agent("start", stop_on_entry=self._stop_on_entry)
        self.running = True
        return {}

    def do_attach(self, args: dict[str, Any]) -> Any:
        """Attach to a running process (``processId``): it runs on, as it was, until the
        editor sets breakpoints or pauses it; saved files are applied to it (``hotReload``)
        from the directories ``watch`` names (default: the process's working directory)."""
        from relive.client.attach import AttachError, attach

        try:
            pid = int(args["processId"])
        except (KeyError, TypeError, ValueError):
            raise RequestFailed("attach needs processId, the process to attach to") from None
        remap = self._edit_options(args)
        try:
            launched = attach(pid, waiting=lambda: self._say(
                f"relive: waiting for process {pid} to run Python code (its main thread may "
                "be blocked in a system call)\n"), timeout=float(args.get("timeout") or 60))
        except AttachError as exc:
            raise RequestFailed(str(exc)) from None
        self.launched, self.exited, self.running = launched, False, True
        self._attached = True
        self._launch_args = dict(args)
        self._configure(launched, args, remap)
        if self.hot_reload == "auto":
            watch = args.get("watch") or [os.readlink(f"/proc/{pid}/cwd")]
            self._start_watch([str(d) for d in (watch if isinstance(watch, list) else [watch])])
        self._say(f"relive: attached to process {pid} (Python "
                  f"{launched.conn.welcome.get('python')})\n")
        return {}

    def after_attach(self, args: dict[str, Any]) -> None:
        self.out.event("initialized")

    def _run_in_terminal(self, command: list[str], console: str, cwd: str,
                         args: dict[str, Any]) -> None:
        """Ask the editor to run ``command`` in its terminal (``runInTerminal``) and wait
        for its answer."""
        waiter: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        env = {str(k): str(v) for k, v in (args.get("env") or {}).items()}
        env.setdefault("PYTHONUNBUFFERED", "1")
        name = args.get("program") or args.get("module")
        request = {"type": "request", "command": "runInTerminal", "arguments": {
            "kind": "integrated" if console == "integratedTerminal" else "external",
            "title": f"relive: {os.path.basename(str(name))}", "cwd": cwd,
            "args": command, "env": env}}
        with self._lock:  # the answer may come before send returns
            self._reverse[self.out.send(request)] = waiter
        try:
            answer = waiter.get(timeout=60.0)
        except queue.Empty:
            raise RequestFailed("the editor did not start the program in its terminal "
                                "within a minute") from None
        if not answer.get("success"):
            raise RequestFailed("the editor could not run the program in its terminal: "
                                f"{answer.get('message') or 'no reason given'}")

    def do_disconnect(self, args: dict[str, Any]) -> Any:
        launched = self.launched
        if launched is None:
            return {}
        # a program launched ends with the session, one attached to runs on (DAP's defaults)
        if args.get("terminateDebuggee", not self._attached) and not self.exited:
            launched.kill()
        launched.close()
        return {}

    def do_terminate(self, args: dict[str, Any]) -> Any:
        self._agent("terminate", exit_code=143)
        return {}

    def do_restart(self, args: dict[str, Any]) -> Any:
        """End the program and start it again (with the editor's launch arguments as they
        are now, if it sends them), keeping the breakpoints."""
        old = self.launched
        if old is None:
            raise RequestFailed("no program to restart: launch one first")
        if self._attached:
            raise RequestFailed("a process attached to is not restarted by relive: detach, "
                                "restart it, and attach again")
        wanted = args.get("arguments") or self._launch_args
        self.launched = None  # its events and its end are no longer the session's
        old.kill()
        old.close()
        self._forget_stop()
        self._last_stop, self._last_exception = {}, {}
        self._start_program(wanted)
        self._to_agent.clear()  # the new agent numbers its breakpoints anew
        self._from_agent.clear()
        for path, breakpoints in self._line_wanted.items():
            for ident, (_, info) in zip(self._line_bps[path],
                                        self._set_line_breakpoints(path, breakpoints),
                                        strict=True):
                self._bind(ident, info)
        for ident, (_, info) in zip(self._function_bps,
                                    self._set_function_breakpoints(self._function_wanted),
                                    strict=True):
            self._bind(ident, info)
        self._agent("start", stop_on_entry=bool(wanted.get("stopOnEntry")))
        self.running = True
        return {}

    def _bind(self, ident: int, info: dict[str, Any] | None) -> None:
        """After a restart: the editor's breakpoint ``ident`` is now the agent's ``info``
        (None: not set); the editor hears where it is."""
        if info is None:
            return
        self._to_agent[ident] = int(info["id"])
        self._from_agent[int(info["id"])] = ident
        self.out.event("breakpoint", {"reason": "changed", "breakpoint": self._breakpoint(info)})

    # -- breakpoints -----------------------------------------------------------------------

    def _remove_breakpoints(self, idents: list[int]) -> None:
        for ident in idents:
            agent_id = self._to_agent.pop(ident, None)
            if agent_id is not None:
                self._from_agent.pop(agent_id, None)
                self._agent("remove_breakpoint", id=agent_id)

    def _set_line_breakpoints(self, path: str, wanted: list[dict[str, Any]]
                              ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """(wanted, the agent's breakpoint or None) for each line breakpoint of ``path``."""
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for one in wanted:
            try:
                out.append((one, self._agent(
                    "set_breakpoint", path=path, line=int(one["line"]),
                    condition=one.get("condition") or None,
                    ignore=_ignore(one.get("hitCondition")),
                    log_message=one.get("logMessage") or None)))
            except AgentError as exc:
                out.append(({**one, "message": exc.args[-1]}, None))
        return out

    def _set_function_breakpoints(self, wanted: list[dict[str, Any]]
                                  ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for one in wanted:
            try:
                out.append((one, self._agent("set_function_breakpoint", name=str(one["name"]),
                                             condition=one.get("condition") or None)))
            except AgentError as exc:
                out.append(({**one, "message": exc.args[-1]}, None))
        return out

    def _answer(self, results: list[tuple[dict[str, Any], dict[str, Any] | None]]
                ) -> tuple[list[int], list[dict[str, Any]]]:
        """The adapter's ids and the editor's view of freshly set breakpoints."""
        idents, found = [], []
        for wanted, info in results:
            ident = self._new_id()
            idents.append(ident)
            if info is None:
                found.append({"id": ident, "verified": False, "line": wanted.get("line"),
                              "message": wanted.get("message")})
                continue
            self._to_agent[ident] = int(info["id"])
            self._from_agent[int(info["id"])] = ident
            found.append(self._breakpoint(info))
        return idents, found

    def do_setBreakpoints(self, args: dict[str, Any]) -> Any:
        path = os.path.abspath(str(args["source"]["path"]))
        self._remove_breakpoints(self._line_bps.pop(path, []))
        wanted = [dict(b) for b in args.get("breakpoints") or []]
        self._line_wanted[path] = wanted
        self._line_bps[path], found = self._answer(self._set_line_breakpoints(path, wanted))
        return {"breakpoints": found}

    def do_setFunctionBreakpoints(self, args: dict[str, Any]) -> Any:
        self._remove_breakpoints(self._function_bps)
        self._function_wanted = [dict(b) for b in args.get("breakpoints") or []]
        self._function_bps, found = self._answer(
            self._set_function_breakpoints(self._function_wanted))
        return {"breakpoints": found}

    def do_setExceptionBreakpoints(self, args: dict[str, Any]) -> Any:
        filters = set(args.get("filters") or ())
        self._exception_mode = next((m for f, m in _MODES if f in filters), "off")
        self._agent("set_exception_mode", mode=self._exception_mode)
        return {}

    def do_breakpointLocations(self, args: dict[str, Any]) -> Any:
        """The lines from ``line`` to ``endLine`` of a source where a breakpoint can stop."""
        path = os.path.abspath(str(args["source"]["path"]))
        first = int(args["line"])
        last = int(args.get("endLine") or first)
        try:
            lines = source_lines_with_code(path)
        except BreakpointError:
            lines = frozenset()
        return {"breakpoints": [{"line": n} for n in sorted(lines) if first <= n <= last]}

    def _breakpoint(self, info: dict[str, Any]) -> dict[str, Any]:
        """The editor's view of the agent's breakpoint ``info``."""
        path = str(info.get("path") or "")
        agent_id = int(info["id"])
        found: dict[str, Any] = {"id": self._from_agent.get(agent_id, agent_id),
                                 "verified": bool(info.get("verified")),
                                 "line": info.get("line")}
        if path:
            found["source"] = {"name": os.path.basename(path), "path": path}
        if info.get("message"):
            found["message"] = info["message"]
        return found

    # -- execution -------------------------------------------------------------------------

    def _resume(self, command: str, thread: int, **args: Any) -> None:
        self._forget_stop()
        self.running = True
        self._agent(command, thread_id=thread, **args)

    def do_continue(self, args: dict[str, Any]) -> Any:
        self._resume("continue", int(args["threadId"]))
        return {"allThreadsContinued": True}

    def do_next(self, args: dict[str, Any]) -> Any:
        self._resume("step", int(args["threadId"]), kind="over")

    def do_stepIn(self, args: dict[str, Any]) -> Any:
        target = self._step_targets.get(int(args.get("targetId") or 0))
        self._resume("step", int(args["threadId"]), kind="in",
                     **({"target": target} if target else {}))

    def do_stepInTargets(self, args: dict[str, Any]) -> Any:
        """The calls of the line the frame is at, in the order they run: ``stepIn`` with
        one's id stops in that callee only."""
        thread, index = self._frame(args["frameId"])
        if index != 0:
            raise RequestFailed("step into works in the frame the thread is stopped in")
        targets = self._agent("step_in_targets", thread_id=thread)["targets"]
        out = []
        for target in targets:
            ident = self._new_id()
            self._step_targets[ident] = str(target["name"])
            out.append({"id": ident, "label": target["label"], "line": target["line"],
                        "column": target["column"], "endLine": target["end_line"],
                        "endColumn": target["end_column"]})
        return {"targets": out}

    def do_stepOut(self, args: dict[str, Any]) -> Any:
        self._resume("step", int(args["threadId"]), kind="out")

    def do_pause(self, args: dict[str, Any]) -> Any:
        self._agent("pause")

    def do_gotoTargets(self, args: dict[str, Any]) -> Any:
        line = int(args["line"])
        return {"targets": [{"id": line, "label": f"line {line}", "line": line}]}

    def do_goto(self, args: dict[str, Any]) -> Any:
        thread, line = int(args["threadId"]), int(args["targetId"])
        if self._last_stop.get("reason") == "remap opportunity":
            self._resume("remap", thread, line=line)
            return {}
        check = self._agent("jump", thread_id=thread, line=line)
        if not check.get("allowed"):
            raise RequestFailed(str(check.get("reason") or f"cannot go to line {line}"))
        self._forget_stop()
        self.out.event("stopped", {"reason": "goto", "threadId": thread,
                                   "allThreadsStopped": True})
        return {}

    def do_hotReload(self, args: dict[str, Any]) -> Any:
        """Apply the saved edits now (the custom request of debug-adapter-protocol #398)."""
        return self._apply(args.get("paths"))

    # -- state -----------------------------------------------------------------------------

    def do_threads(self, args: dict[str, Any]) -> Any:
        threads = self._agent("threads")["threads"]
        return {"threads": [{"id": t["id"], "name": t["name"]} for t in threads]}

    def do_stackTrace(self, args: dict[str, Any]) -> Any:
        thread = int(args["threadId"])
        frames = self._agent("stack", thread_id=thread)["frames"]
        start = int(args.get("startFrame") or 0)
        levels = int(args.get("levels") or 0) or len(frames)
        out = []
        for i in range(start, min(len(frames), start + levels)):
            frame = frames[i]
            ident = self._new_id()
            self._frames[ident] = (thread, int(frame["index"]))
            name = str(frame["name"])
            caller = frames[i + 1] if i + 1 < len(frames) else None
            if caller is not None and caller.get("link") == "await":
                name += f" (awaited from {caller['name']})"
            elif frame.get("task"):
                waiting = "; ".join(frame.get("awaited_by") or ())
                name += f" (task {frame['task']}" + (f", awaited by {waiting})" if waiting
                                                     else ")")
            elif (caller is not None and caller.get("link") == "resume"
                  and frame.get("kind") != "coroutine"):  # (a task's: by the event loop)
                name += f" ({frame.get('kind', 'generator')} resumed by {caller['name']})"
            if frame.get("stale"):
                name += " (old code)"
            path = str(frame["path"])
            out.append({"id": ident, "name": name, "line": frame["line"], "column": 1,
                        "source": {"name": os.path.basename(path), "path": path},
                        "canRestart": int(frame["index"]) == 0,
                        **({"presentationHint": "subtle"} if frame.get("stale") else {})})
        return {"stackFrames": out, "totalFrames": len(frames)}

    def do_restartFrame(self, args: dict[str, Any]) -> Any:
        """Run the frame the thread is stopped in again from the first line of its body,
        with its variables as they are (in the new code if an edit is waiting)."""
        thread, index = self._frame(args["frameId"])
        if index != 0:
            raise RequestFailed("only the frame the thread is stopped in can restart; "
                                "step out to the frame first")
        if self.hot_reload == "auto":
            self._agent("enc")  # a saved edit is taken first, as at a continue
        check = self._agent("restart_frame", thread_id=thread)
        if not check.get("allowed"):
            raise RequestFailed(str(check.get("reason") or "the frame cannot restart here"))
        self._forget_stop()
        self._moved_thread = thread
        return {}

    def after_restartFrame(self, args: dict[str, Any]) -> None:
        self.out.event("stopped", {"reason": "restart", "threadId": self._moved_thread,
                                   "allThreadsStopped": True})

    def _frame(self, ident: Any) -> tuple[int, int]:
        found = self._frames.get(int(ident))
        if found is None:
            raise RequestFailed("that frame is gone: the program ran since")
        return found

    def do_scopes(self, args: dict[str, Any]) -> Any:
        thread, index = self._frame(args["frameId"])
        scopes = self._agent("scopes", thread_id=thread, frame=index)
        out = []
        for name, key, expensive in (("Locals", "locals", False),
                                     ("Globals", "globals", True)):
            ref = self._new_id()
            self._refs[ref] = key  # read again at each variables request: setVariable, exec
            self._scopes[ref] = (thread, index)
            out.append({"name": name, "variablesReference": ref, "expensive": expensive,
                        "namedVariables": len(scopes[key])})
        return {"scopes": out}

    def _reference(self, agent_ref: Any) -> int:
        """The DAP reference for an agent's value with children (0: none), valid until the
        program runs again."""
        if not agent_ref:
            return 0
        ref = self._new_id()
        self._refs[ref] = int(agent_ref)
        return ref

    def _variable(self, variable: dict[str, Any]) -> dict[str, Any]:
        return {"name": variable["name"], "value": variable["value"],
                "type": variable.get("type", ""),
                "variablesReference": self._reference(variable.get("ref"))}

    def do_variables(self, args: dict[str, Any]) -> Any:
        reference = int(args["variablesReference"])
        found = self._refs.get(reference)
        if found is None:
            raise RequestFailed("those variables are gone: the program ran since")
        if isinstance(found, str):  # a frame's scope, as it is now
            thread, index = self._scopes[reference]
            variables = self._agent("scopes", thread_id=thread, frame=index)[found]
        else:
            variables = self._agent("children", ref=found)["variables"]
        start = int(args.get("start") or 0)
        count = int(args.get("count") or 0) or len(variables)
        return {"variables": [self._variable(v) for v in variables[start:start + count]]}

    def _evaluation(self, result: dict[str, Any]) -> dict[str, Any]:
        if not result.get("ok"):
            raise RequestFailed(str(result.get("error") or "the evaluation failed"))
        return {"value": result.get("value", ""), "type": result.get("type", ""),
                "variablesReference": self._reference(result.get("ref"))}

    def do_evaluate(self, args: dict[str, Any]) -> Any:
        context = args.get("context")
        mode = "eval" if context in ("hover", "watch", "clipboard") else "auto"
        text = str(args["expression"])
        if args.get("frameId") is None:  # the program's globals (__main__), stopped or not
            return self._paused(lambda: self._evaluate_in(self._main_frame(), text, mode,
                                                          context), "evaluate")
        return self._evaluate_in(self._frame(args["frameId"]), text, mode, context)

    def _evaluate_in(self, frame: tuple[int, int], text: str, mode: str,
                     context: Any) -> dict[str, Any]:
        thread, index = frame
        found = self._evaluation(self._agent(
            "evaluate", thread_id=thread, frame=index, text=text, mode=mode,
            **({"full": True} if context == "clipboard" else {})))
        return {"result": found["value"], "type": found["type"],
                "variablesReference": found["variablesReference"]}

    def _main_frame(self) -> tuple[int, int]:
        """The outermost frame of the program's main thread: the script's (or module's)
        top level, whose globals are ``__main__``'s."""
        threads = self._agent("threads")["threads"]
        if not threads:
            raise RequestFailed("the program has no thread to evaluate in")
        main = next((t for t in threads if t["name"] == "MainThread"), threads[0])
        frames = self._agent("stack", thread_id=main["id"])["frames"]
        if not frames:
            raise RequestFailed("the main thread runs no Python code now")
        modules = [f for f in frames if f.get("kind") == "module"]
        return int(main["id"]), int((modules or frames)[-1]["index"])

    def do_setExpression(self, args: dict[str, Any]) -> Any:
        """Assign ``value`` to an assignable ``expression`` (a name, an attribute, an item)
        in a frame; the new value stays when the program goes on."""
        thread, index = self._frame(args.get("frameId", -1))
        target, value = str(args["expression"]).strip(), str(args["value"])
        if target.isidentifier():
            result = self._agent("set_variable", thread_id=thread, frame=index, name=target,
                                 expression=value)
        else:
            done = self._agent("evaluate", thread_id=thread, frame=index, mode="exec",
                               text=f"{target} = ({value})")
            if not done.get("ok"):
                raise RequestFailed(str(done.get("error") or f"cannot assign to {target}"))
            result = self._agent("evaluate", thread_id=thread, frame=index, mode="eval",
                                 text=target)
        found = self._evaluation(result)
        return {"value": found["value"], "type": found["type"],
                "variablesReference": found["variablesReference"]}

    def do_setVariable(self, args: dict[str, Any]) -> Any:
        frame = self._scopes.get(int(args["variablesReference"]))
        if frame is None:
            raise RequestFailed("only a frame's own variables can be set here")
        thread, index = frame
        return self._evaluation(self._agent("set_variable", thread_id=thread, frame=index,
                                            name=str(args["name"]),
                                            expression=str(args["value"])))

    def do_completions(self, args: dict[str, Any]) -> Any:
        thread, index = self._frame(args.get("frameId", -1))
        text = str(args["text"])[:max(0, int(args.get("column", 1)) - 1)]
        start = len(text)
        while start and (text[start - 1].isalnum() or text[start - 1] in "_."):
            start -= 1
        prefix = text[start:]
        names = self._agent("completions", thread_id=thread, frame=index,
                            prefix=prefix)["names"]
        return {"targets": [{"label": n, "start": start, "length": len(prefix)}
                            for n in names]}

    def do_exceptionInfo(self, args: dict[str, Any]) -> Any:
        stop = self._last_stop
        if stop.get("reason") != "exception" or not stop.get("exception"):
            raise RequestFailed("the program is not stopped at an exception")
        text = str(stop["exception"])
        kind, _, message = text.partition(":")
        uncaught = bool(self._last_exception.get("uncaught"))
        return {"exceptionId": kind.strip(), "description": message.strip() or None,
                "breakMode": "unhandled" if uncaught else "always"}

    def do_loadedSources(self, args: dict[str, Any]) -> Any:
        modules = self._agent("modules")["modules"]
        return {"sources": [{"name": os.path.basename(m["path"]), "path": m["path"]}
                            for m in modules if m.get("path")]}

    def do_modules(self, args: dict[str, Any]) -> Any:
        modules = self._agent("modules")["modules"]
        return {"modules": [{"id": m["name"], "name": m["name"], "path": m["path"]}
                            for m in modules], "totalModules": len(modules)}

    # -- Edit and Continue -----------------------------------------------------------------

    def _apply(self, paths: Any = None) -> dict[str, Any]:
        """Apply the saved edits, at once (see :meth:`_paused`)."""
        return dict(self._paused(
            lambda: self._agent("enc", **({"paths": paths} if paths else {})),
            "take the edit"))

    def _paused(self, work: Callable[[], Any], what: str) -> Any:
        """Do ``work`` with the program stopped: now if it is; else pause it (without
        telling the editor), do it, and let the program run on."""
        with self._pause_lock:
            if not self.running:
                return work()
            paused = threading.Event()
            self._silent_pause = paused
            try:
                if not self._agent("pause").get("requested", True):
                    paused.set()
                if not paused.wait(10.0):
                    raise RequestFailed(f"the program did not pause to {what}")
                stop = self._last_stop
                try:
                    return work()
                finally:
                    if stop.get("reason") == "pause":  # else the editor was told of the stop
                        self._agent("continue", thread_id=stop["thread_id"])
            finally:
                self._silent_pause = None

    def _watch(self, directory: str, armed: threading.Event) -> None:
        """Apply each save under ``directory`` while the program runs (``armed`` is set once
        the watch is in place; saves made before then are caught up with)."""
        from watchfiles import watch

        try:
            for changes in watch(directory, stop_event=self._watcher_stop, debounce=50,
                                 step=20, rust_timeout=100, yield_on_timeout=True):
                if self.exited:
                    return
                paths = [path for _change, path in changes]
                if not armed.is_set():  # in place: catch up with a save made before
                    armed.set()
                    if self.running:
                        paths += self._agent("pending")["paths"]
                if not any(path.endswith(".py") for path in paths):
                    continue
                if self.running:
                    try:
                        # a save taken already (by the step or continue that followed it)
                        # needs no pause, which would end a step under way
                        if self._agent("pending")["paths"]:
                            self._apply()
                    except (RequestFailed, AgentError) as exc:
                        self._say(f"relive: the edit was not applied: {exc.args[-1]}\n")
        except Exception:  # the directory went away: no more hot reload
            return

    # -- events ----------------------------------------------------------------------------

    def _say(self, text: str, category: str = "console") -> None:
        self.out.event("output", {"category": category, "output": text})

    def _pump_output(self, stream: IO[bytes] | None, category: str) -> None:
        if stream is None:
            return
        while True:
            data = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not data:
                return
            self._say(data.decode("utf-8", "replace"), category)

    def _pump_events(self, launched: Launched) -> None:
        events = launched.conn.events
        while True:
            event = events.get()
            if event is None:
                break
            if event.get("type") != "event" or launched is not self.launched:
                continue  # a program that was restarted: its events are not the session's
            try:
                self._event(str(event.get("event")), event.get("body") or {})
            except Exception as exc:  # one bad event must not end the session
                self._say(f"relive dap: {type(exc).__name__}: {exc}\n")
        if launched is self.launched and not self.exited:
            # the program ended without the agent's word (os._exit, a crash, a kill):
            # its exit status is its process's
            self.exited = True
            try:
                code: int | None = launched.process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                code = None
            self._drain_output()
            if code is not None:
                self.out.event("exited", {"exitCode": code if code >= 0 else 128 - code})
            self.out.event("terminated")

    def _drain_output(self) -> None:
        """Let the program's last output go out before the editor hears it ended: its pipes
        end with its process (on a busy machine their readers may take a while to be run),
        unless a process it started holds them open, which is waited for 10 s at most."""
        deadline = time.monotonic() + 10.0
        for pump in self._pumps:
            pump.join(timeout=max(0.0, deadline - time.monotonic()))

    def _event(self, name: str, body: dict[str, Any]) -> None:
        if name == "stopped":
            self.running = False
            self._last_stop = body
            silent = self._silent_pause
            if silent is not None and body.get("reason") == "pause":
                silent.set()
                return
            if silent is not None:
                silent.set()  # stopped for something else: the editor must know
            self._forget_stop()
            description = str(body.get("description") or "")  # says so when it is stale
            self.out.event("stopped", {
                "reason": _STOP_REASONS.get(str(body.get("reason")), "pause"),
                "threadId": body.get("thread_id"), "description": description or None,
                "text": body.get("exception") or None,
                "allThreadsStopped": bool(body.get("all_threads_stopped", True)),
                "hitBreakpointIds": [self._from_agent.get(int(i), int(i))
                                     for i in body.get("breakpoint_ids") or ()]})
        elif name == "exception":
            self._last_exception = body
        elif name == "continued":
            self.running = True
            if self._silent_pause is None:
                self.out.event("continued", {"threadId": body.get("thread_id"),
                                             "allThreadsContinued": True})
        elif name in ("thread started", "thread exited"):
            self.out.event("thread", {"reason": name.split()[1],
                                      "threadId": body.get("thread_id")})
        elif name == "output":
            self._say(str(body.get("text", "")))
        elif name == "breakpoint changed":
            self.out.event("breakpoint", {"reason": "changed",
                                          "breakpoint": self._breakpoint(body["breakpoint"])})
        elif name == "edit applied":
            files = [os.path.basename(str(f)) for f in body.get("files") or ()]
            took_ms = round(float(body.get("duration_s") or 0.0) * 1000.0, 1)
            changes = body.get("changes") or {}
            self.out.event("relive/editApplied", {
                "generation": body.get("generation"), "files": body.get("files") or [],
                "updated": changes.get("update", []), "changes": changes,
                "durationMs": took_ms, "processes": 1})  # the launched program's process
            self._say(f"relive: {', '.join(files)}: gen {body.get('generation')}: "
                      f"{changes_text(changes)} ({took_ms:.1f} ms)\n")
        elif name == "rude edit":
            # an error leaves the program on the old code: the editor may offer a restart
            actions = ["restart", "keepRunning"] if body.get("severity") == "error" else []
            self.out.event("relive/rudeEdit", {
                "code": body.get("code"), "severity": body.get("severity"),
                "message": body.get("message"), "line": body.get("line"),
                "source": {"path": body.get("path")}, "actions": actions})
            self._say(f"relive: {os.path.basename(str(body.get('path')))}:{body.get('line')}: "
                      f"{body.get('code')} {body.get('severity')}: {body.get('message')}\n",
                      "important")
        elif name == "process exited":
            self.exited = True
            launched = self.launched
            if launched is not None:  # the output comes to its end once the process has
                try:
                    launched.process.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    pass
            self._drain_output()
            self.out.event("exited", {"exitCode": body.get("exit_code", 0)})
            self.out.event("terminated")
        elif name == "module loaded":
            self.out.event("module", {"reason": "new", "module": {
                "id": body.get("module"), "name": body.get("module"),
                "path": body.get("path")}})


def _ignore(hit_condition: Any) -> int:
    """DAP's hit condition as the agent's count of hits to ignore: ``5`` or ``>= 5`` stop
    from the fifth hit on."""
    if not hit_condition:
        return 0
    text = str(hit_condition).strip().lstrip(">=").strip()
    try:
        return max(0, int(text) - 1)
    except ValueError:
        raise RequestFailed(f"a hit condition is a number of hits: {hit_condition!r}") from None

