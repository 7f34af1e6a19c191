"""The ``relive`` command: one subcommand per module of this package.

Each subcommand lives in ``relive.cli.<name>`` and exposes ``main(argv) -> int``; the table
below only names them, so that ``relive --help`` stays fast and a subcommand's imports are paid
only when it runs. The front ends are the only layer that prints.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS: dict[str, str] = {
    "run": "run a program and apply every save of its source to it, live",
    "debug": "debug a program (breakpoints, stepping, evaluation, Edit and Continue)",
    "attach": "bring relive into a running process: debug it, or apply saves to it",
    "dap": "a Debug Adapter Protocol adapter for editors (VS Code, Neovim, Emacs...)",
    "demo": "a guided tour: a running program edited step by step, state kept",
}


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [
        "usage: relive <command> [options] ...",
        "",
        "Edit and Continue for Python: edit a running program's source and keep its state.",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in SUBCOMMANDS.items()]
    lines += ["", "Run `relive <command> --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from relive import __version__

        print(f"relive {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"relive: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"relive.cli.{name}")
    result: int = module.main(rest)
    return result
