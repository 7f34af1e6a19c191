"""How ``relive debug`` shows things: plain text for scripts, colours on a terminal.

Only presentation lives here; the command loop is in :mod:`relive.cli.debug`.
"""

from __future__ import annotations

import linecache
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from relive.display import display_path

CATCH_TEXT = {
    "raised": "when raised, anywhere",
    "user": "when raised in your code",
    "uncaught": "when not handled (post mortem)",
    "off": "never",
}

HELP = {
    "break": "break [b] FILE:LINE | LINE | [FILE:]FUNC [if COND] -- set a breakpoint; "
    "no argument lists them",
    "tbreak": "tbreak ... -- like break, removed when first hit",
    "delete": "delete [d] [N...] -- delete breakpoints (all without a number)",
    "disable": "disable N... -- switch breakpoints off",
    "enable": "enable N... -- switch breakpoints on",
    "condition": "condition N [COND] -- stop only when COND is true (none: always)",
    "ignore": "ignore N COUNT -- pass breakpoint N COUNT times before stopping",
    "log": "log FILE:LINE MESSAGE -- print MESSAGE, with {expressions}, without stopping",
    "catch": "catch raised|user|uncaught|off -- when exceptions stop the program",
    "mode": "mode all|one -- when a thread stops, stop all threads (default) or only it",
    "go": "go [g, c] -- continue; while the program runs, type `pause` (or Ctrl-C) to stop "
          "it, `kill` to end it, `quit` to end it and leave",
    "next": "next [n] -- run to the next line of this function (over calls)",
    "step": "step [s] -- run to the next line, entering calls",
    "out": "out [o] -- run until this function returns",
    "where": "where [w] -- the stack of the current thread",
    "up": "up [N] / down [N] / frame N -- select a frame for print, locals, list",
    "list": "list [l] [LINE | FILE:LINE] -- source around the line; again to go on",
    "print": "print [p] EXPR -- evaluate in the selected frame",
    "exec": "exec [!] STATEMENT -- run in the selected frame; assignments stick",
    "set": "set NAME = EXPR -- bind a variable in the selected frame",
    "locals": "locals / globals -- the variables of the selected frame",
    "jump": "jump LINE -- set the next statement of the top frame (`jump` alone: the rules)",
    "threads": "threads -- list threads; thread N -- select one",
    "enc": "enc [FILE...] -- apply the edits saved on disk now (Edit and Continue)",
    "remap": "remap [LINE] -- at a remap opportunity, move the frame to LINE of the new "
    "code (default: the mapped line); `go` instead stays on the old code",
    "dis": "dis -- bytecode of the selected frame, current instruction marked",
    "modules": "modules -- the loaded modules",
    "kill": "kill -- end the program",
    "quit": "quit [q] -- end the program and the session",
    "detach": "detach -- end the session: breakpoints go, the program runs to its end",
}


def help_text(topic: str) -> str:
    topic = topic.strip()
    aliases = {"b": "break", "d": "delete", "g": "go", "c": "go", "n": "next", "s": "step",
               "o": "out", "w": "where", "l": "list", "p": "print", "!": "exec", "q": "quit",
               "down": "up", "frame": "up", "thread": "threads", "globals": "locals"}
    topic = aliases.get(topic, topic)
    if topic:
        return HELP.get(topic, f"no command {topic!r}; `help` lists the commands")
    return "Commands:\n" + "\n".join(f"  {text}" for text in HELP.values())


def join_ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)


class Out:
    """Everything ``relive debug`` prints goes through here."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self._console = Console(highlight=False) if color else None

    def say(self, text: str, style: str | None = None) -> None:
        if self._console is not None:
            self._console.print(text, style=style, markup=False, soft_wrap=True)
        else:
            print(text, flush=True)

    def error(self, text: str) -> None:
        self.say(f"*** {text}", "bold red")

    # ------------------------------------------------------------------ stops, events

    def stopped(self, body: dict[str, Any], running: list[str] | None = None) -> None:
        where = f"{display_path(body['path'])}:{body['line']}"
        text = f"Stopped ({body['description'] or body['reason']}) in {body['function']} at {where}"
        self.say(text, "bold yellow")
        if body.get("exception"):
            self.say(f"    {body['exception']}", "red")
        self.source(body["path"], body["line"], context=0, running=running)

    def event(self, name: str, body: dict[str, Any]) -> None:
        if name == "output":
            text = body.get("text", "")
            self.say(text.rstrip("\n"), "cyan" if body.get("category") == "log" else None)
        elif name == "exception":
            kind = "Uncaught exception" if body.get("uncaught") else "Exception raised"
            self.say(f"{kind}: {body['exception']} ({display_path(body['path'])}:{body['line']})",
                     "red")
        elif name == "edit applied":
            generation = body.get("generation")
            gen = f" (generation {generation})" if generation is not None else ""
            summary = "; ".join(body.get("summary", [])) or "no code changes"
            self.say(f"Edit applied{gen}: {summary}", "green")
        elif name == "rude edit":
            self.say(
                f"Rude edit {body['code']} ({body['severity']}) at "
                f"{display_path(body['path'])}:{body['line']}: {body['message']}",
                "red" if body["severity"] == "error" else "yellow",
            )
        elif name == "remap opportunity":
            mapped = body.get("mapped_line")
            target = f"line {mapped}" if mapped is not None else "a line you choose"
            self.say(
                f"Remap opportunity: {body['function']} is at line {body['old_line']} of the "
                f"old code; the new code continues at {target}. `remap` (or `remap LINE`) "
                "moves it; `go` keeps it on the old code.",
                "magenta",
            )
        elif name == "remap complete":
            if body.get("remapped"):
                self.say(f"Remap complete: {body['function']} continues at line "
                         f"{body['line']} of the new code.", "magenta")
            else:
                why = body.get("message") or "the frame stays on the old code"
                self.say(f"Remap not done: {why}", "yellow")
        elif name == "breakpoint changed" and body.get("reason") == "edit":
            bp = body["breakpoint"]
            self.say(f"Breakpoint {bp['id']} now at line {bp['line']}: {bp.get('message')}")
        elif name == "thread exited" or name == "thread started":
            return  # shown by `threads`; too chatty otherwise
        # module loaded, continued, breakpoint bound: not shown

    # ------------------------------------------------------------------ source

    def source(self, path: str, line: int, context: int = 0,
               running: list[str] | None = None) -> None:
        """The lines around ``line``: of ``running`` (the text an old frame runs, marked
        stale) when given, else of the file."""
        if running is None:
            linecache.checkcache(path)
        for number in range(max(1, line - context), line + context + 1):
            if running is not None:
                text = running[number - 1] if number <= len(running) else ""
            else:
                text = linecache.getline(path, number).rstrip("\n")
            if not text and number != line:
                continue
            self._source_line(number, text, number == line, False)
        if running is not None:
            self.say("    (stale: the code before the edit, which this frame still runs)",
                     "yellow")

    def _source_line(self, number: int, text: str, current: bool, breakpoint: bool) -> None:
        mark = "->" if current else "  "
        bp = "B" if breakpoint else " "
        self.say(f"{bp}{mark}{number:5d}  {text}", "bold" if current else None)

    def listing(self, path: str, center: int, current: int | None, marks: set[int],
                running: list[str] | None = None) -> int:
        """Eleven lines around ``center``, of ``running`` (the text an old frame runs, then
        marked stale) or of the file; returns the last line shown."""
        if running is not None:
            lines = running
        else:
            linecache.checkcache(path)
            lines = linecache.getlines(path)
        if not lines:
            self.say(f"*** cannot read {path}")
            return center
        first = max(1, center - 5)
        last = min(len(lines), first + 10)
        for number in range(first, last + 1):
            self._source_line(number, lines[number - 1].rstrip("\n"), number == current,
                              number in marks)
        if running is not None:
            self.say("    (stale: the code before the edit, which this frame still runs)",
                     "yellow")
        return last

    # ------------------------------------------------------------------ lists

    def breakpoint_set(self, info: dict[str, Any]) -> None:
        if info.get("function") and not info.get("verified"):
            self.say(f"Breakpoint {info['id']} on function {info['function']} (pending: "
                     f"{info.get('message')})")
            return
        kind = "Log point" if info.get("log_message") else "Breakpoint"
        where = f"{display_path(info['path'])}:{info['line']}"
        extra = [] if info.get("verified") else ["pending: the module is not loaded yet"]
        if info.get("condition"):
            extra.append(f"if {info['condition']}")
        self.say(f"{kind} {info['id']} at {where}" + (f" ({'; '.join(extra)})" if extra else ""))
        if info.get("message"):
            self.say(f"    note: {info['message']}", "yellow")

    def breakpoints(self, items: Sequence[dict[str, Any]]) -> None:
        if not items:
            self.say("No breakpoints.")
            return
        for b in items:
            where = (f"{display_path(b['path'])}:{b['line']}" if b["line"]
                     else f"function {b['function']} (pending)")
            parts = [f"{b['id']:3d}  {where}"]
            if not b["enabled"]:
                parts.append("disabled")
            if b.get("condition"):
                parts.append(f"if {b['condition']}")
            if b.get("log_message"):
                parts.append(f"log {b['log_message']!r}")
            if b.get("temporary"):
                parts.append("temporary")
            parts.append(f"hits {b['hits']}")
            self.say("  ".join(parts))

    def frame_line(self, frame: dict[str, Any], current: bool) -> None:
        marker = ">" if current else " "
        tags = []
        if frame["kind"] not in ("function", "module"):
            tags.append(frame["kind"])
        if frame.get("stale"):
            tags.append("stale")
        tag = f" [{', '.join(tags)}]" if tags else ""
        self.say(f"{marker}{frame['index']:3d}  {frame['name']}{tag} at "
                 f"{display_path(frame['path'])}:{frame['line']}")

    def stack(self, frames: Sequence[dict[str, Any]], selected: int) -> None:
        for i, frame in enumerate(frames):
            self.frame_line(frame, i == selected)
            if frame.get("task"):
                self.say(f"       task {frame['task']}", "dim")
                for waiting in frame.get("awaited_by") or ():
                    self.say(f"       awaited by {waiting}", "dim")
            if i + 1 < len(frames):
                link = frames[i + 1]["link"]
                if link == "await":
                    self.say("       awaited from:", "dim")
                elif link == "resume":
                    self.say("       resumed from:", "dim")

    def threads(self, items: Sequence[dict[str, Any]], current: int | None) -> None:
        for i, t in enumerate(items, 1):
            marker = "*" if t["id"] == current else " "
            where = f" at {display_path(t['path'])}:{t['line']}" if t.get("path") else ""
            self.say(f"{marker}{i:3d}  {t['name']}  {t['state']}{where}")

    def variables(self, items: Sequence[dict[str, Any]]) -> None:
        if not items:
            self.say("(none)")
        for v in items:
            self.say(f"{v['name']} = {v['value']}")

    def result(self, result: dict[str, Any]) -> None:
        if result.get("ok"):
            if result.get("value"):
                self.say(result["value"])
            return
        if result.get("timed_out"):
            self.error(f"{result.get('error')} (the program is as the evaluation left it)")
            return
        self.error(result.get("error") or "evaluation failed")

    def enc(self, outcome: dict[str, Any]) -> None:
        if outcome.get("applied"):
            files = ", ".join(display_path(f) for f in outcome.get("files", [])) or "no files"
            self.say(f"Applied edits to {files} in {outcome.get('duration_s', 0) * 1000:.0f} ms.",
                     "green")
        else:
            self.say(f"Nothing applied: {outcome.get('message') or 'no edits saved on disk'}",
                     "yellow")

    def disassembly(self, body: dict[str, Any]) -> None:
        self.say(f"Bytecode of {body['name']}:")
        for ins in body["instructions"]:
            marker = "-->" if ins["current"] else "   "
            line = f"{ins['line']:5d}" if ins["line"] else "     "
            self.say(f"{marker} {line} {ins['offset']:6d} {ins['opname']:<24} {ins['argrepr']}")

    def modules(self, items: Sequence[dict[str, Any]]) -> None:
        for m in items:
            self.say(f"{m['name']:<40} {display_path(m['path'])}")
