"""``relive demo``: a guided tour of Edit and Continue on a running program.

It writes a small stateful program (a shop that counts its visits and caches its quotes) to
a temporary directory, starts it under ``relive run``, and then edits its source on disk step
by step, as a person would in an editor. After each step it shows what the running program
printed, checks that its state (the visit counter, the cache) carried on, and reports the
apply time read from the events file. It exits 0 when every step behaved as shown.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROGRAM = '''\
"""A tiny shop: it serves a quote now and then and remembers what it served."""

import time

visits = 0
quotes = {}


class Item:
    def __init__(self, name, cost):
        self.name = name
        self.cost = cost


def price(item):
    return item.cost


def quote(item):
    return f"{item.name} costs {price(item)}"


def serve(item):
    global visits
    visits += 1
    quotes[visits] = quote(item)
    print(f"visit {visits} | {quotes[visits]} | {len(quotes)} quotes kept", flush=True)


def main():
    apple = Item("apple", 2)
    while True:
        serve(apple)
        time.sleep(0.15)


if __name__ == "__main__":
    main()
'''


@dataclass
class Step:
    title: str
    explain: str
    edit: Callable[[str], str]
    expect_event: str  # "applied", "error" or "rude_edit"
    expect_output: str | None  # a substring the next lines must show
    expect_remap: bool = False  # the running main() must move onto the new code


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(source: str) -> str:
        if old not in source:
            raise AssertionError(f"the demo program does not contain {old!r}")
        return source.replace(old, new, 1)
    return edit


STEPS = [
    Step("Change a function body",
         "price() now adds a 50% margin; the next visit uses it, the counter carries on.",
         _replace("    return item.cost\n", "    return item.cost * 1.5\n"),
         "applied", "apple costs 3.0"),
    Step("Add a function and call it",
         "a new discount() is inserted and quote() calls it.",
         _replace('def quote(item):\n    return f"{item.name} costs {price(item)}"\n',
                  'def discount(amount):\n    return round(amount * 0.9, 2)\n\n\n'
                  'def quote(item):\n'
                  '    return f"{item.name} costs {discount(price(item))} (10% off)"\n'),
         "applied", "apple costs 2.7 (10% off)"),
    Step("Delete a function",
         "discount() is removed again; any stale reference to it would now raise "
         "DeletedDefinitionError.",
         _replace('def discount(amount):\n    return round(amount * 0.9, 2)\n\n\n'
                  'def quote(item):\n'
                  '    return f"{item.name} costs {discount(price(item))} (10% off)"\n',
                  'def quote(item):\n    return f"{item.name} costs {price(item)} today"\n'),
         "applied", "apple costs 3.0 today"),
    Step("Save a syntax error",
         "a half-typed line: relive reports it with its line and changes nothing.",
         _replace("    return item.cost * 1.5\n", "    return item.cost * (1.5\n"),
         "error", "apple costs 3.0 today"),
    Step("Fix it",
         "the line is completed; the fix applies like any other edit.",
         _replace("    return item.cost * (1.5\n", "    return item.cost * 1.25\n"),
         "applied", "apple costs 2.5 today"),
    Step("Edit the loop that is running",
         "main() is inside its while loop right now; the loop body changes, and the running "
         "frame moves onto the new code at its next statement, with its locals.",
         _replace("        serve(apple)\n",
                  "        serve(apple)\n        print(\"  (main loop, edited live)\", "
                  "flush=True)\n"),
         "applied", "(main loop, edited live)", expect_remap=True),
    Step("Make a rude edit",
         "Item gets a base class: live instances cannot change their bases, so relive "
         "refuses the edit with a code (the demo keeps the program running instead of "
         "restarting it).",
         _replace("class Item:\n", "class Item(dict):\n"),
         "rude_edit", "apple costs 2.5 today"),
]


class Program:
    """The demo program under ``relive run``, with its output and events at hand."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.source = directory / "shop.py"
        self.events = directory / "events.jsonl"
        self.source.write_text(PROGRAM, encoding="utf-8")
        self.lines: queue.Queue[str] = queue.Queue()
        self._seen_events = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relive", "run", "--on-rude=ignore", "--events",
             str(self.events), str(self.source)],
            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1"))
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.process.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr.append),
                         daemon=True).start()

    @staticmethod
    def _pump(stream: object, sink: Callable[[str], object]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink(line.rstrip("\n"))

    def next_lines(self, count: int, timeout: float = 10.0) -> list[str]:
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            try:
                out.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return out

    def drain(self) -> None:
        while True:
            try:
                self.lines.get_nowait()
            except queue.Empty:
                return

    def wait_event(self, timeout: float = 10.0) -> dict[str, object] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.events.exists():
                records = [json.loads(line) for line in
                           self.events.read_text(encoding="utf-8").splitlines() if line]
                fresh = [r for r in records[self._seen_events:]
                         if r["event"] not in ("started", "remap")]
                if fresh:
                    self._seen_events = records.index(fresh[0]) + 1
                    return dict(fresh[0])
            time.sleep(0.02)
        return None

    def remapped(self) -> list[dict[str, object]]:
        """The frames that moved to new code so far (``remap`` events)."""
        if not self.events.exists():
            return []
        records = [json.loads(line) for line in
                   self.events.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in records if r["event"] == "remap" and r.get("what") == "remapped"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _visit(line: str) -> int | None:
    try:
        return int(line.split("|")[0].split()[1])
    except (IndexError, ValueError):
        return None


def run_tour(console: object, pause: float) -> bool:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    assert isinstance(console, Console)
    ok = True
    rows: list[tuple[str, str, str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="relive-demo-") as tmp:
        program = Program(Path(tmp))
        try:
            console.print(Panel.fit(
                "A small shop program starts under [bold]relive run[/]. It counts visits and "
                "keeps every quote in a dict.\nThe tour edits its source file on disk; watch "
                "the visit counter carry on across every edit.", title="relive demo"))
            first = program.next_lines(3)
            for line in first:
                console.print(f"  [dim]program>[/] {line}")
            if len(first) < 3:
                console.print("[red]the program did not start[/]")
                console.print("\n".join(program.stderr))
                return False
            last_visit = _visit(first[-1]) or 0
            for number, step in enumerate(STEPS, 1):
                time.sleep(pause)
                console.rule(f"step {number}: {step.title}")
                console.print(step.explain)
                source = program.source.read_text(encoding="utf-8")
                program.source.write_text(step.edit(source), encoding="utf-8")
                event = program.wait_event()
                kind = event["event"] if event else "nothing"
                program.drain()
                after = program.next_lines(2)
                for line in after:
                    console.print(f"  [dim]program>[/] {line}")
                visits = [v for v in map(_visit, after) if v is not None]
                kept = bool(visits) and visits[0] > last_visit
                shown = step.expect_output is None or any(step.expect_output in line
                                                          for line in after)
                detail = _describe_event(event)
                console.print(f"  relive: {detail}")
                if step.expect_remap:
                    moved = [r for r in program.remapped() if r.get("path") == "main"]
                    if moved:
                        note = (f"the running main() moved from line {moved[-1]['old_line']} "
                                f"to line {moved[-1]['new_line']} of the new code")
                        console.print(f"  relive: {note}")
                        detail += f"; {note}"
                    else:
                        console.print("  [red]the running main() did not move[/]")
                        shown = False
                passed = kind == step.expect_event and kept and shown
                console.print("  state kept: visit counter went on from "
                              f"{last_visit} to {visits[0] if visits else '?'}" if kept
                              else "  [red]the visit counter did not carry on[/]")
                if not shown:
                    console.print(f"  [red]expected the program to show {step.expect_output!r}[/]")
                if visits:
                    last_visit = visits[-1]
                rows.append((str(number), step.title, str(kind), detail, passed))
                ok = ok and passed
        finally:
            program.stop()
    table = Table(title="what happened")
    for column in ("step", "edit", "event", "details", "as shown"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row[:4], "[green]yes[/]" if row[4] else "[red]no[/]")
    console.print(table)
    console.print("[green]Every step behaved as shown.[/]" if ok
                  else "[red]Some steps did not behave as shown.[/]")
    return ok


def _describe_event(event: dict[str, object] | None) -> str:
    if event is None:
        return "no event within 10 s"
    kind = event["event"]
    if kind == "applied":
        changed = [f"{label} {', '.join(map(str, event[key]))}"  # type: ignore[call-overload]
                   for label, key in (("updated", "updated"), ("added", "inserted"),
                                      ("deleted", "deleted")) if event.get(key)]
        return f"applied in {event['duration_ms']} ms: {'; '.join(changed) or 'no code'}"
    if kind == "rude_edit":
        return f"{event['code']} {event['severity']} at line {event['line']}: refused"
    if kind == "error":
        source_errors = event.get("source_errors") or []
        if source_errors:
            first = source_errors[0]  # type: ignore[index]
            return (f"{first['kind']} error at line {first['line']}: {first['message']}; "
                    f"nothing changed")
        errors = event.get("errors") or []
        return f"error: {errors[0] if errors else 'unknown'}"  # type: ignore[index]
    return str(kind)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="relive demo", description=__doc__.split("\n")[0])
    parser.add_argument("--pause", type=float, default=0.4,
                        help="seconds to wait between steps (default 0.4)")
    args = parser.parse_args(list(argv))
    from rich.console import Console

    return 0 if run_tour(Console(highlight=False), args.pause) else 1
