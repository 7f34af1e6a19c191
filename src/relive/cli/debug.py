"""``relive debug``: a command-line debugger with Edit and Continue.

    relive debug [--stop-on-entry] [--commands FILE] script.py [args...]
    relive debug [--stop-on-entry] [--commands FILE] -m package.module [args...]

The program runs in its own process under the agent; this process is the front end. It reads
commands from ``--commands FILE``, else from standard input when that is not a terminal (the
program then gets no standard input), else interactively with a prompt, history and name
completion. Scripted sessions print plainly, each command echoed after the prompt, so a
transcript reads like the interactive session would. When the commands run out, or at
``detach``, the session detaches: breakpoints are cleared, the program runs to its end, and
``relive debug`` exits with the program's exit status. ``quit`` ends the program, as pdb's
does. An uncaught exception stops the program post mortem (``catch off`` to not).

Before the first ``go``/``step``/``next`` the program has not started: set breakpoints
first. With ``--stop-on-entry`` it starts at once and stops at its first line.

Ctrl-C while the program runs pauses it and returns to the prompt, as in pdb; a second
Ctrl-C within a second (or ``kill``) ends it. A program that handles SIGINT itself keeps
getting it. At the prompt, Ctrl-C only cancels the line.
"""

from __future__ import annotations

import argparse
import os
import queue
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from relive.cli import debug_view as view
from relive.client.connection import AgentError
from relive.client.launch import Launched, Target, launch

PROMPT = "(relive) "
WAIT_FOR_STOP_S = None  # a program may run as long as it likes between stops


SYNOPSIS = """relive debug [options] script.py [args...]
       relive debug [options] -m module [args...]
       relive debug [options] --attach PID"""

USAGE = f"""\
usage: {SYNOPSIS}

Debug a Python program, with Edit and Continue: breakpoints, stepping and evaluation at a
prompt; `enc` applies the saved files to the stopped program, and its running frames move to
the new code when you say so. Type `help` at the prompt for the commands.

options:
  --stop-on-entry                stop at the program's first line
  --commands FILE                read the debugger's commands from FILE instead of the
                                 terminal
  --stop-one-thread              when a thread stops, let the other threads run (by
                                 default all of them stop)
  --attach PID                   debug the running process PID (of your user): it runs
                                 on; set breakpoints, `go` waits for one, Ctrl-C pauses,
                                 `detach` leaves it running
  -h, --help                     show this help
"""


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    # as ``relive run``: an error prints the synopsis and the error; --help prints USAGE
    parser = argparse.ArgumentParser(prog="relive debug", add_help=False, usage=SYNOPSIS)
    parser.add_argument("--stop-on-entry", action="store_true")
    parser.add_argument("--commands", metavar="FILE")
    parser.add_argument("--stop-one-thread", action="store_true")
    parser.add_argument("--attach", type=int, metavar="PID")
    parser.add_argument("--edit-service", help=argparse.SUPPRESS)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("-m", dest="module", metavar="MODULE")
    parser.add_argument("target", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.help:
        print(USAGE, end="")
        raise SystemExit(0)
    if args.attach is not None and (args.module is not None or args.target):
        parser.error("--attach debugs a running process: give no script or module")
    if args.attach is None and args.module is None and not args.target:
        parser.error("give a script to debug, or -m module")
    if args.module is None and args.target and args.target[0].startswith("-"):
        parser.error(f"unrecognized arguments: {args.target[0]}")
    return args


def _command_lines(args: argparse.Namespace) -> tuple[Iterator[str], bool]:
    """The commands and whether they are interactive."""
    if args.commands:
        with open(args.commands, encoding="utf-8") as f:
            lines = f.read().splitlines()
        return iter(lines), False
    if not sys.stdin.isatty():
        return (line.rstrip("\n") for line in sys.stdin), False
    return _interactive_lines(), True


def _interactive_lines() -> Iterator[str]:
    while True:
        try:
            yield input(PROMPT)
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print()
            continue


class Debugger:
    """The command loop. ``thread``/``frame`` select where ``print`` and friends run."""

    def __init__(self, launched: Launched, out: view.Out, interactive: bool) -> None:
        self.launched = launched
        self.conn = launched.conn
        self.out = out
        self.interactive = interactive
        self.started = False
        self.running = False
        self.exited: int | None = None
        self.thread: int | None = None
        self.frame = 0
        self.list_next: tuple[str, int] | None = None
        self.list_running: list[str] | None = None  # the old text a stale frame runs
        self.main_path = ""
        self.attached: int | None = None  # the pid of a process attached to (not launched)
        self.interrupted_at: float | None = None  # the last Ctrl-C while the program ran
        self.commands: dict[str, Callable[[str], None]] = {}
        for names, fn in _COMMANDS:
            for name in names:
                self.commands[name] = getattr(self, fn)

    # ------------------------------------------------------------------ plumbing

    def request(self, command: str, **args: Any) -> Any:
        return self.conn.request(command, **args)

    def run_until_stop(self, command: str | None, **args: Any) -> None:
        """Send ``command`` (which lets the program run; None: it runs already), then show
        events until the program stops or ends. Ctrl-C pauses the program (its agent pauses
        it too, on the same signal from the terminal); a second one within a second ends
        it."""
        presses: list[float] = []
        previous = signal.signal(signal.SIGINT,
                                 lambda signum, frame: presses.append(time.monotonic()))
        try:
            if command is not None:
                self.request(command, **args)
            self.running = True
            self._wait_for_stop(presses)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _interrupted(self, when: float) -> bool:
        """Ctrl-C while the program runs; True when the program was ended."""
        if self.attached is not None:  # a process of its own: pause it, never end it
            self._pause("Pausing the program.")
            return False
        if self.interrupted_at is not None and when - self.interrupted_at < 1.0:
            self.out.say("Ending the program (Ctrl-C twice).")
            self.launched.kill()
            self._ended(self.launched.process.returncode)
            return True
        self.interrupted_at = when
        self._pause("Pausing the program (Ctrl-C again within a second ends it).")
        return False

    def _pause(self, text: str) -> None:
        """Say ``text`` and ask the running program to pause."""
        self.out.say(text)
        try:
            self.request("pause")
        except AgentError:
            pass  # stopped already, or ending: the event says which

    def _wait_for_stop(self, presses: list[float]) -> None:
        while True:
            while presses:
                if self._interrupted(presses.pop(0)):
                    return
            if self._typed_while_running():
                return
            try:
                event = self.conn.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if event is None:
                self._ended(None)
                return
            if event.get("type") == "error":
                self.out.error(f"agent: {event.get('message')}")
                continue
            name = event.get("event")
            body = event.get("body", {})
            if name == "stopped":
                self.running = False
                self.thread = body["thread_id"]
                self.frame = 0
                self.list_next = None
                self.list_running = None
                self.out.stopped(body, self._running_lines(0) if body.get("stale") else None)
                return
            if name == "process exited":
                self._ended(body.get("exit_code"))
                return
            self.out.event(str(name), body)

    def _typed_while_running(self) -> bool:
        """A command typed at the terminal while the program runs: ``pause``, ``kill`` or
        ``quit``. True when the wait for a stop is over (the program ended)."""
        if not self.interactive:
            return False
        try:
            if not select.select([sys.stdin], [], [], 0)[0]:
                return False
            line = sys.stdin.readline()
        except (OSError, ValueError):
            return False
        word = line.strip().split(" ")[0] if line else ""
        if word == "pause":
            self._pause("Pausing the program.")
            return False
        if word in ("kill", "quit", "q", "exit"):
            if self.attached is not None and word != "kill":
                raise _Quit  # leave a process of its own running: detach
            self.out.say("Ending the program.")
            self.launched.kill()
            self._ended(self.launched.process.returncode)
            if word != "kill":
                raise _Quit
            return True
        if word:
            self.out.error(f"the program is running: `pause` (or Ctrl-C) stops it, `kill` "
                           f"ends it, `quit` ends it and relive debug; not {word!r}")
        return False

    def drain_events(self) -> None:
        while True:
            try:
                event = self.conn.events.get_nowait()
            except queue.Empty:
                return
            if event is None:
                self._ended(None)
                return
            if event.get("event") == "process exited":
                self._ended(event["body"].get("exit_code"))
                return
            if event.get("type") == "event" and event.get("event") != "stopped":
                self.out.event(str(event.get("event")), event.get("body", {}))

    def _ended(self, code: int | None) -> None:
        self.running = False
        if code is None:
            try:
                code = self.launched.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = -1
        if self.exited is None:
            self.exited = code
            self.out.say(f"Program exited with code {code}.", "bold")

    def resume(self, command: str, **args: Any) -> None:
        if self.exited is not None:
            self.out.error("the program is not running")
            return
        if not self.started:
            self.started = True
            # A step before the start stops at the program's first line.
            self.run_until_stop("start", stop_on_entry=command == "step")
            return
        if self.running:  # attached to a running process: wait for a stop
            if command != "continue":
                raise AgentError("refused", "the program is running: `go` waits for a "
                                 "breakpoint, Ctrl-C pauses it")
            self.run_until_stop(None)
            return
        if command == "continue":
            self.run_until_stop("continue", thread_id=self.thread)
        else:
            self.run_until_stop("step", thread_id=self.thread, kind=args["kind"])

    def need_stop(self) -> int:
        if self.exited is not None:
            raise AgentError("refused", "the program is not running")
        if not self.started:
            raise AgentError("refused", "the program has not started; `go` or `step` starts it")
        if self.thread is None:
            raise AgentError("refused", "the program is running")
        return self.thread

    # ------------------------------------------------------------------ the loop

    def run(self, lines: Iterator[str], stop_on_entry: bool) -> int:
        if stop_on_entry:
            self.started = True
            self.run_until_stop("start", stop_on_entry=True)
        for raw in lines:
            line = raw.strip()
            if not self.interactive:
                self.out.say(f"{PROMPT}{line}", "dim")
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            if word.startswith("!"):
                word, rest = "!", line[1:]
            handler = self.commands.get(word)
            if handler is None:
                self.out.error(f"unknown command {word!r}; `help` lists the commands")
                continue
            try:
                handler(rest.strip())
            except AgentError as exc:
                self.out.error(str(exc))
            except _Quit:
                break
            self.drain_events()
        return self.finish()

    def finish(self) -> int:
        """Detach: the program runs on without breakpoints; wait for its end (not for a
        process attached to: it runs on as it was)."""
        if self.attached is not None and self.exited is None:
            self.launched.close()
            self.out.say(f"Detached from process {self.attached}: it runs on without relive.")
            return 0
        if self.exited is None:
            self.launched.close()
            code = self.launched.wait()
            self.exited = code
            self.out.say(f"Program exited with code {code}.", "bold")
        else:
            self.launched.close()
        return self.exited if self.exited is not None else 0

    # ------------------------------------------------------------------ commands

    def cmd_help(self, rest: str) -> None:
        self.out.say(view.help_text(rest))

    def cmd_quit(self, rest: str) -> None:
        """End the program, as pdb's ``quit`` does (``detach`` lets it run on); a process
        attached to is left running."""
        if self.exited is None and self.attached is None:
            self.launched.kill()
            self._ended(self.launched.process.returncode)
        raise _Quit

    def cmd_detach(self, rest: str) -> None:
        raise _Quit

    def cmd_kill(self, rest: str) -> None:
        if self.exited is None:
            self.launched.kill()
            self._ended(self.launched.process.returncode)
        raise _Quit

    def cmd_go(self, rest: str) -> None:
        self.resume("continue")

    def cmd_next(self, rest: str) -> None:
        self.resume("step", kind="over")

    def cmd_step(self, rest: str) -> None:
        self.resume("step", kind="in")

    def cmd_out(self, rest: str) -> None:
        self.resume("step", kind="out")

    def _location(self, text: str) -> tuple[str, int]:
        """``FILE:LINE`` or ``LINE`` (in the current file) → (absolute path, line)."""
        path, _, line = text.rpartition(":")
        if not line.isdigit():
            raise AgentError("bad arguments", f"{text!r} is not FILE:LINE or LINE")
        if not path:
            path = self._current_path()
        return self._resolve_file(path), int(line)

    def _resolve_file(self, path: str) -> str:
        candidates = [path]
        if self.main_path:
            candidates.append(os.path.join(os.path.dirname(self.main_path), path))
        for candidate in candidates:
            if os.path.isfile(candidate):
                return os.path.abspath(candidate)
        raise AgentError("bad arguments", f"no file {path!r}; give a path to a .py file")

    def _current_path(self) -> str:
        if self.thread is not None and not self.running:
            frames = self.request("stack", thread_id=self.thread)["frames"]
            if frames:
                return str(frames[min(self.frame, len(frames) - 1)]["path"])
        return self.main_path

    def _break(self, rest: str, temporary: bool) -> None:
        if not rest:
            self.out.breakpoints(self.request("breakpoints")["breakpoints"])
            return
        where, _, condition = rest.partition(" if ")
        where = where.strip()
        cond = condition.strip() or None
        if where.rpartition(":")[2].isdigit():
            path, line = self._location(where)
            info = self.request(
                "set_breakpoint", path=path, line=line, condition=cond, temporary=temporary
            )
        else:
            file_part, _, func = where.rpartition(":")
            info = self.request(
                "set_function_breakpoint", name=func,
                path=self._resolve_file(file_part) if file_part else None,
                condition=cond, temporary=temporary,
            )
        self.out.breakpoint_set(info)

    def cmd_break(self, rest: str) -> None:
        self._break(rest, temporary=False)

    def cmd_tbreak(self, rest: str) -> None:
        self._break(rest, temporary=True)

    def _ids(self, rest: str) -> list[int]:
        try:
            return [int(x) for x in rest.split()]
        except ValueError:
            raise AgentError("bad arguments", "breakpoint numbers are integers") from None

    def cmd_delete(self, rest: str) -> None:
        ids = self._ids(rest) or [b["id"] for b in self.request("breakpoints")["breakpoints"]]
        for bp_id in ids:
            self.request("remove_breakpoint", id=bp_id)
        self.out.say(f"Deleted breakpoint{'s' if len(ids) != 1 else ''} {view.join_ids(ids)}.")

    def cmd_disable(self, rest: str) -> None:
        for bp_id in self._ids(rest):
            self.request("change_breakpoint", id=bp_id, enabled=False)
            self.out.say(f"Disabled breakpoint {bp_id}.")

    def cmd_enable(self, rest: str) -> None:
        for bp_id in self._ids(rest):
            self.request("change_breakpoint", id=bp_id, enabled=True)
            self.out.say(f"Enabled breakpoint {bp_id}.")

    def cmd_condition(self, rest: str) -> None:
        number, _, cond = rest.partition(" ")
        (bp_id,) = self._ids(number)
        self.request("change_breakpoint", id=bp_id, condition=cond.strip() or None)
        state = f"condition {cond.strip()!r}" if cond.strip() else "no condition"
        self.out.say(f"Breakpoint {bp_id} now has {state}.")

    def cmd_ignore(self, rest: str) -> None:
        ids = self._ids(rest)
        if len(ids) != 2:
            raise AgentError("bad arguments", "usage: ignore BREAKPOINT COUNT")
        self.request("change_breakpoint", id=ids[0], ignore=ids[1])
        self.out.say(f"Breakpoint {ids[0]} will ignore its next {ids[1]} hits.")

    def cmd_log(self, rest: str) -> None:
        where, _, message = rest.partition(" ")
        if not message:
            raise AgentError("bad arguments", "usage: log FILE:LINE MESSAGE with {expressions}")
        path, line = self._location(where)
        info = self.request("set_breakpoint", path=path, line=line, log_message=message)
        self.out.breakpoint_set(info)

    def cmd_catch(self, rest: str) -> None:
        mode = {"raised": "raised", "user": "user", "uncaught": "uncaught", "off": "off"}.get(
            rest.strip()
        )
        if mode is None:
            raise AgentError("bad arguments", "usage: catch raised|user|uncaught|off")
        self.request("set_exception_mode", mode=mode)
        self.out.say(f"Exceptions: stop {view.CATCH_TEXT[mode]}.")

    def cmd_mode(self, rest: str) -> None:
        if rest not in ("all", "one"):
            raise AgentError("bad arguments", "usage: mode all|one")
        self.request("settings", stop_all_threads=rest == "all")
        self.out.say(
            "When a thread stops, all threads stop." if rest == "all"
            else "When a thread stops, the others keep running."
        )

    def cmd_where(self, rest: str) -> None:
        frames = self.request("stack", thread_id=self.need_stop())["frames"]
        self.out.stack(frames, self.frame)

    def _select_frame(self, index: int) -> None:
        frames = self.request("stack", thread_id=self.need_stop())["frames"]
        if not 0 <= index < len(frames):
            raise AgentError("refused", f"no frame {index}; frames are 0-{len(frames) - 1}")
        self.frame = index
        self.list_next = None
        self.out.frame_line(frames[index], current=True)
        self.out.source(frames[index]["path"], frames[index]["line"], context=0)

    def cmd_up(self, rest: str) -> None:
        self._select_frame(self.frame + (int(rest) if rest.isdigit() else 1))

    def cmd_down(self, rest: str) -> None:
        self._select_frame(self.frame - (int(rest) if rest.isdigit() else 1))

    def cmd_frame(self, rest: str) -> None:
        if not rest.isdigit():
            raise AgentError("bad arguments", "usage: frame N (numbers as `where` shows them)")
        self._select_frame(int(rest))

    def cmd_list(self, rest: str) -> None:
        bps = self.request("breakpoints")["breakpoints"]
        if rest:
            if rest.rpartition(":")[2].isdigit():
                path, line = self._location(rest)
            else:
                raise AgentError("bad arguments", "usage: list [LINE | FILE:LINE]")
            current = None
        elif self.list_next is not None:
            path, line = self.list_next
            line += 5
            current = None
        else:
            thread = self.need_stop()
            frames = self.request("stack", thread_id=thread)["frames"]
            frame = frames[self.frame]
            path, line, current = frame["path"], frame["line"], frame["line"]
            self.list_running = self._running_lines(self.frame) if frame["stale"] else None
        marks = {b["line"] for b in bps if b["path"] == path and b["enabled"]}
        running = self.list_running if not rest else None
        shown_to = self.out.listing(path, line, current, marks, running)
        self.list_next = (path, shown_to + 1 - 5)

    def _running_lines(self, frame: int) -> list[str] | None:
        """The text a stale frame runs (the old code), when the agent knows it."""
        try:
            found = self.request("source", thread_id=self.thread, frame=frame)
        except AgentError:
            return None
        lines = found.get("lines")
        return list(lines) if lines is not None else None

    def cmd_print(self, rest: str) -> None:
        result = self.request(
            "evaluate", thread_id=self.need_stop(), frame=self.frame, text=rest, mode="eval"
        )
        self.out.result(result)

    def cmd_exec(self, rest: str) -> None:
        result = self.request(
            "evaluate", thread_id=self.need_stop(), frame=self.frame, text=rest, mode="exec"
        )
        self.out.result(result)

    def cmd_set(self, rest: str) -> None:
        name, eq, expr = rest.partition("=")
        if not eq or not name.strip():
            raise AgentError("bad arguments", "usage: set NAME = EXPRESSION")
        result = self.request(
            "set_variable", thread_id=self.need_stop(), frame=self.frame,
            name=name.strip(), expression=expr.strip(),
        )
        if result["ok"]:
            self.out.say(f"{name.strip()} = {result['value']}")
        else:
            self.out.result(result)

    def cmd_locals(self, rest: str) -> None:
        scopes = self.request("scopes", thread_id=self.need_stop(), frame=self.frame)
        self.out.variables(scopes["locals"] or scopes["globals"])

    def cmd_globals(self, rest: str) -> None:
        scopes = self.request("scopes", thread_id=self.need_stop(), frame=self.frame)
        self.out.variables(scopes["globals"])

    def cmd_jump(self, rest: str) -> None:
        if not rest.isdigit():
            self.out.say(self.request("jump_rules")["text"])
            raise AgentError("bad arguments", "usage: jump LINE")
        thread = self.need_stop()
        if self.frame != 0:
            raise AgentError("refused", "jump moves the top frame only; `frame 0` first")
        check = self.request("jump", thread_id=thread, line=int(rest))
        if check["allowed"]:
            self.out.say(f"Next statement: line {rest}.")
            frames = self.request("stack", thread_id=thread)["frames"]
            self.out.source(frames[0]["path"], int(rest), context=0)
        else:
            self.out.error(f"cannot jump to line {rest}: {check['reason']}")

    def cmd_threads(self, rest: str) -> None:
        self.out.threads(self.request("threads")["threads"], self.thread)

    def cmd_thread(self, rest: str) -> None:
        threads = self.request("threads")["threads"]
        if not rest.isdigit() or not 1 <= int(rest) <= len(threads):
            raise AgentError("bad arguments", "usage: thread N (numbers as `threads` shows them)")
        chosen = threads[int(rest) - 1]
        if chosen["state"] == "running":
            raise AgentError("refused", f"thread {chosen['name']} is running (in native code)")
        self.thread = chosen["id"]
        self.frame = 0
        self.out.say(f"Thread {rest} ({chosen['name']}).")
        self.cmd_where("")

    def cmd_enc(self, rest: str) -> None:
        self.need_stop()
        paths = [self._resolve_file(p) for p in shlex.split(rest)] or None
        outcome = self.request("enc", paths=paths)
        self.drain_events()
        self.out.enc(outcome)

    def cmd_remap(self, rest: str) -> None:
        thread = self.need_stop()
        if rest and not rest.isdigit():
            raise AgentError("bad arguments", "usage: remap [LINE]")
        self.run_until_stop("remap", thread_id=thread, line=int(rest) if rest else None)

    def cmd_dis(self, rest: str) -> None:
        self.out.disassembly(
            self.request("disassemble", thread_id=self.need_stop(), frame=self.frame)
        )

    def cmd_modules(self, rest: str) -> None:
        self.out.modules(self.request("modules")["modules"])


class _Quit(Exception):
    pass


_COMMANDS: list[tuple[tuple[str, ...], str]] = [
    (("break", "b"), "cmd_break"),
    (("tbreak",), "cmd_tbreak"),
    (("delete", "d"), "cmd_delete"),
    (("disable",), "cmd_disable"),
    (("enable",), "cmd_enable"),
    (("condition",), "cmd_condition"),
    (("ignore",), "cmd_ignore"),
    (("log",), "cmd_log"),
    (("catch",), "cmd_catch"),
    (("mode",), "cmd_mode"),
    (("go", "g", "continue", "c"), "cmd_go"),
    (("next", "n"), "cmd_next"),
    (("step", "s"), "cmd_step"),
    (("out", "o", "finish"), "cmd_out"),
    (("where", "w", "bt"), "cmd_where"),
    (("up",), "cmd_up"),
    (("down",), "cmd_down"),
    (("frame", "f"), "cmd_frame"),
    (("list", "l"), "cmd_list"),
    (("print", "p"), "cmd_print"),
    (("exec", "!"), "cmd_exec"),
    (("set",), "cmd_set"),
    (("locals",), "cmd_locals"),
    (("globals",), "cmd_globals"),
    (("jump", "j"), "cmd_jump"),
    (("threads",), "cmd_threads"),
    (("thread",), "cmd_thread"),
    (("enc",), "cmd_enc"),
    (("remap",), "cmd_remap"),
    (("dis",), "cmd_dis"),
    (("modules",), "cmd_modules"),
    (("kill",), "cmd_kill"),
    (("quit", "q", "exit"), "cmd_quit"),
    (("detach",), "cmd_detach"),
    (("help", "h", "?"), "cmd_help"),
]


def _install_completion(dbg: Debugger) -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - no readline on this platform
        return
    words = sorted({name for names, _ in _COMMANDS for name in names if len(name) > 1})

    def complete(text: str, state: int) -> str | None:
        buffer = readline.get_line_buffer()
        if " " not in buffer.lstrip():
            options = [w for w in words if w.startswith(text)]
        elif dbg.thread is not None and not dbg.running:
            try:
                options = dbg.request(
                    "completions", thread_id=dbg.thread, frame=dbg.frame, prefix=text
                )["names"]
            except AgentError:
                options = []
        else:
            options = []
        return options[state] if state < len(options) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n=()[],+-*/%<>!&|^~:")
    readline.parse_and_bind("tab: complete")


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    lines, interactive = _command_lines(args)
    out = view.Out(color=sys.stdout.isatty())
    commands_from_stdin = not args.commands and not interactive
    if args.attach is not None:
        return _attach(args, lines, interactive, out)
    target = (
        Target(args.module, tuple(args.target), module=True)
        if args.module is not None
        else Target(args.target[0], tuple(args.target[1:]))
    )
    try:
        launched = launch(
            target,
            stdin=subprocess.DEVNULL if commands_from_stdin else None,
            edit_service=args.edit_service,
        )
    except AgentError as exc:
        out.error(str(exc))
        return 2
    dbg = Debugger(launched, out, interactive)
    if not target.module:
        dbg.main_path = os.path.abspath(target.name)
    if args.stop_one_thread:
        dbg.request("settings", stop_all_threads=False)
    # as pdb: an uncaught exception stops the program post mortem (`catch off` to not)
    dbg.request("set_exception_mode", mode="uncaught")
    if interactive:
        _install_completion(dbg)
        welcome = launched.conn.welcome
        out.say(
            f"relive debug: {' '.join([target.name, *target.args])} "
            f"(Python {welcome.get('python')}, {welcome.get('backend')})."
            " `help` lists the commands; `go` runs the program."
        )
    # Ctrl-C while the program runs pauses it (run_until_stop); at the prompt it only
    # cancels the line, and between scripted commands it is ignored.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if not interactive else None
    try:
        return dbg.run(lines, args.stop_on_entry)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _attach(args: argparse.Namespace, lines: Iterator[str], interactive: bool,
            out: view.Out) -> int:
    """``--attach PID``: the same commands, on a process that was running already."""
    from relive.client.attach import AttachError, attach

    pid = int(args.attach)
    try:
        launched = attach(pid, waiting=lambda: out.say(
            f"Waiting for process {pid} to run Python code (its main thread may be blocked "
            "in a system call); Ctrl-C gives up."))
    except AttachError as exc:
        out.error(str(exc))
        return 2
    except KeyboardInterrupt:
        out.error("given up")
        return 2
    dbg = Debugger(launched, out, interactive)
    dbg.attached = pid
    dbg.started = dbg.running = True
    if args.stop_one_thread:
        dbg.request("settings", stop_all_threads=False)
    welcome = launched.conn.welcome
    out.say(f"relive debug: attached to process {pid} (Python {welcome.get('python')}, "
            f"{welcome.get('backend')}). It runs: set breakpoints, `go` waits for one, "
            "Ctrl-C pauses it, `detach` leaves it running.")
    if interactive:
        _install_completion(dbg)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if not interactive else None
    try:
        return dbg.run(lines, False)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
