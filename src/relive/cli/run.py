"""``relive run``: run a program like ``python`` does, and apply every save to it live."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from relive.runtime.result import ApplyResult

USAGE = """\
usage: relive run [options] script.py [args...]
       relive run [options] -m module [args...]

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
  -q, --quiet                    print only rude edits and errors, not every apply
  -h, --help                     show this help
"""


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split relive's options from the program and its arguments."""
    parser = argparse.ArgumentParser(prog="relive run", add_help=False, usage=USAGE)
    parser.add_argument("--on-rude", choices=("ask", "restart", "ignore"), default=None)
    parser.add_argument("--events", default=None)
    parser.add_argument("--paths", action="append", default=None)
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument("--remap", choices=("next-statement", "restart", "stale"),
                        default="next-statement")
    parser.add_argument("--no-enc", action="store_true")
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
        if option in ("--events", "--paths", "--on-rude", "--remap") and args:
            options.append(args.pop(0))
    ns = parser.parse_args(options)
    return ns, args


def main(argv: Sequence[str]) -> int:
    ns, rest = parse(argv)
    if ns.help or (ns.module is None and not rest):
        print(USAGE, end="")
        return 0 if ns.help else 2
    from relive.runtime.program import Target

    target = (Target(module=ns.module, args=tuple(rest)) if ns.module is not None
              else Target(path=rest[0], args=tuple(rest[1:])))
    policy = ns.on_rude or ("ask" if _terminal() is not None else "restart")
    from relive.runtime import remapping

    remapping.set_default_policy(ns.remap)
    return run(target, policy=policy, events_path=ns.events, paths=ns.paths, quiet=ns.quiet,
               enc=not ns.no_enc)


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


def run(target: object, policy: str, events_path: str | None, paths: list[str] | None,
        quiet: bool, enc: bool = True) -> int:
    from relive.cli.report import Reporter
    from relive.runtime import events, install
    from relive.runtime.program import (
        ProgramError,
        Target,
        execute,
        prepare,
        report_uncaught,
    )
    from relive.runtime.watch import Watcher

    assert isinstance(target, Target)
    start_dir = os.getcwd()
    reporter = Reporter(events_path, quiet=quiet)
    restarts = int(os.environ.get("RELIVE_RESTARTS", "0"))
    reporter.event("started", target=target.describe(), pid=os.getpid(), restarts=restarts)

    def on_refused(result: ApplyResult) -> None:
        if not any(r.is_error for r in result.rude_edits):
            return  # syntax errors and failures: the person fixes the file
        if policy == "ignore" or (policy == "ask" and not _ask_restart()):
            reporter.line("info", "keeping the running program; the edit is not applied")
            return
        _restart(reporter, start_dir, restarts)

    install(paths, enc=enc)
    _take_restart_signal(start_dir, restarts)
    unsubscribe = events.observe(reporter)
    watcher = Watcher(on_refused=on_refused)
    try:
        main_module, code = prepare(target)
    except ProgramError as exc:
        print(f"relive run: {exc}", file=sys.stderr)
        return 2
    watcher.start()
    try:
        execute(main_module, code)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        report_uncaught(exc)
        _die_of_sigint()
        return 130
    except BaseException as exc:
        report_uncaught(exc)
        return 1
    finally:
        watcher.stop()
        unsubscribe()
        reporter.close()
    return 0


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


# The restart runs in the main thread, between two of its bytecodes, so that the program is
# never replaced in the middle of a statement (half a line printed, say). A real-time signal
# (Linux) carries the request there; nothing else in a program is likely to use it.
_RESTART_SIGNAL: int | None = getattr(signal, "SIGRTMAX", None)
_RESTART_WAIT = 2.0  # seconds for the main thread to take it before this thread does


def _take_restart_signal(start_dir: str, restarts: int) -> None:
    if _RESTART_SIGNAL is None or signal.getsignal(_RESTART_SIGNAL) != signal.SIG_DFL:
        return
    signal.signal(_RESTART_SIGNAL, lambda _signum, _frame: _exec(start_dir, restarts))


def _restart(reporter: object, start_dir: str, restarts: int) -> None:
    import threading
    import time

    from relive.cli.report import Reporter

    assert isinstance(reporter, Reporter)
    reporter.line("info", "restarting the program")
    reporter.event("restart", pid=os.getpid(), restarts=restarts + 1)
    reporter.close()
    main = threading.main_thread()
    if (_RESTART_SIGNAL is not None and main.ident is not None and main.is_alive()
            and signal.getsignal(_RESTART_SIGNAL) not in (signal.SIG_DFL, signal.SIG_IGN, None)):
        signal.pthread_kill(main.ident, _RESTART_SIGNAL)
        if threading.current_thread() is main:
            return  # the handler runs as soon as this call returns
        time.sleep(_RESTART_WAIT)  # the process is replaced meanwhile, unless the main
        # thread is stuck where signals cannot reach it: then replace it from here
    _exec(start_dir, restarts)


def _exec(start_dir: str, restarts: int) -> None:
    """Replace the process with the program started again, as it was first started."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed stream must not stop the restart
            pass
    os.chdir(start_dir)
    env = dict(os.environ, RELIVE_RESTARTS=str(restarts + 1))
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def _die_of_sigint() -> None:
    """Exit as Python does after an uncaught KeyboardInterrupt: killed by SIGINT."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
