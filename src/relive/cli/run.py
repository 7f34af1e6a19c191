"""``relive run``: run a program like ``python`` does, and apply every save to it live.

The program runs in a process of its own, started as ``python`` would start it; this process
watches its files and relays each save (see :mod:`relive.cli.supervisor`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

SYNOPSIS = """relive run [options] script.py [args...]
       relive run [options] -m module [args...]"""

USAGE = f"""\
usage: {SYNOPSIS}

Run a Python program with Edit and Continue: every time you save one of its source files,
the running process takes the change (functions, methods, classes, module names) and keeps
its state. Edits that cannot be applied with their meaning intact ("rude edits") are
reported with a code, and the program is restarted, asked about, or left as it is.

options:
  --on-rude=ask|restart|ignore   what to do after a rude edit: ask (the default on a
                                 terminal), restart the program with the same arguments,
                                 environment and directory (the default otherwise), or
                                 keep running the old code
  --events FILE                  append every event (applied, rude_edit, error, restart) to
                                 FILE as one JSON object per line
  --paths DIR                    only track modules under DIR (repeatable; default: every
                                 module outside the standard library and site-packages)
  --remap=next-statement|restart|stale
                                 what running frames of an edited function do: move to the
                                 new code at their next statement (the default), run it again
                                 from its first line, or finish the old code
  --no-enc                       compile the program plainly (no frame can then move to new
                                 code; only new calls run it)
  --grace SECONDS                at a restart, how long the program's processes have to end
                                 after SIGTERM before they are killed (default: 5)
  -q, --quiet                    print only rude edits and errors, not every apply
  -h, --help                     show this help
"""


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split relive's options from the program and its arguments."""
    # an error prints the synopsis and the error (argparse adds "usage: "); --help prints USAGE
    parser = argparse.ArgumentParser(prog="relive run", add_help=False, usage=SYNOPSIS)
    parser.add_argument("--on-rude", choices=("ask", "restart", "ignore"), default=None)
    parser.add_argument("--events", default=None)
    parser.add_argument("--paths", action="append", default=None)
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--remap", choices=("next-statement", "restart", "stale"),
                        default="next-statement")
    parser.add_argument("--no-enc", action="store_true")
    parser.add_argument("--grace", type=_seconds, default=None)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("-m", dest="module", default=None)
    args = list(argv)
    options: list[str] = []
    while args and args[0].startswith("-") and args[0] != "-":
        option = args.pop(0)
        options.append(option)
        if option == "-m":
            if not args:
                break
            options.append(args.pop(0))
            break
        if option in ("--events", "--paths", "--on-rude", "--remap", "--grace") and args:
            options.append(args.pop(0))
    ns = parser.parse_args(options)
    return ns, args


def main(argv: Sequence[str]) -> int:
    ns, rest = parse(argv)
    if ns.help or (ns.module is None and not rest):
        print(USAGE, end="")
        return 0 if ns.help else 2
    policy = ns.on_rude or ("ask" if _terminal() is not None else "restart")
    from relive.cli.report import Reporter
    from relive.cli.supervisor import STOP_GRACE_S, Options, Supervisor

    options = Options(policy=policy, paths=ns.paths, enc=not ns.no_enc, remap=ns.remap,
                      grace=STOP_GRACE_S if ns.grace is None else ns.grace)
    reporter = Reporter(ns.events, quiet=ns.quiet)
    describe = f"-m {ns.module}" if ns.module is not None else rest[0]
    supervisor = Supervisor(rest, ns.module, options, reporter, ask=_ask_restart)
    return supervisor.run(describe)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _terminal() -> str | None:
    """The controlling terminal, when relive can talk to a person through it."""
    if not (sys.stdin.isatty() or sys.stderr.isatty()):
        return None
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return None
    os.close(fd)
    return "/dev/tty"


def _ask_restart() -> bool:
    """Ask on the terminal (not through the program's own stdin) whether to restart."""
    try:
        with open("/dev/tty", "w", encoding="utf-8") as out, \
                open("/dev/tty", encoding="utf-8") as answer:
            out.write("relive: restart the program to apply it? [y/N] ")
            out.flush()
            return answer.readline().strip().lower() in ("y", "yes")
    except OSError:
        return False
