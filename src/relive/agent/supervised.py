"""The program's own process under ``relive run``.

``relive run`` (the front end, :mod:`relive.cli.supervisor`) watches the files and starts the
program in a process of its own::

    python [the front end's interpreter options] -c BOOTSTRAP CONFIG [script | -m module] ARGS

:data:`relive.cli.supervisor.BOOTSTRAP` imports this module and calls :func:`main`, which
tracks the program's modules (:func:`relive.install`), makes ``__main__`` as ``python`` would,
and runs the program in the main thread. Before the program's first line, this process holds
relive's runtime and the standard library modules it needs, nothing else: no third-party
module (``watchfiles``, ``rich`` and the front end stay in the front end's process), no signal
handler, warnings filter, ``atexit`` function or ``threading`` thread of relive's;
``sys.argv``, ``sys.orig_argv``, ``sys.path`` and ``__main__`` are python's. Its environment
has two additions, for the Python processes the program starts to join the session
(:mod:`relive.agent.member`): ``RELIVE_SESSION``, and relive's ``sitecustomize`` directory
first on ``PYTHONPATH``.

One thread (started with ``_thread``, so that ``threading.enumerate()`` stays the program's)
reads the channel from the front end, two pipes carrying one JSON object per line; a message
to the front end is written by the thread where it arises (an import, an apply, a remap).
Besides the two phases of each edit (:mod:`relive.agent.member`), this process sends:

- ``{"t": "watch", "dirs": [...], "files": {path: fingerprint}}`` (as the
  program imports each tracked module: its directory if new, and the
  :func:`~relive.agent.channel.fingerprint` of the source the program runs; once the watch
  covers them, the front end compares the files on disk and applies those that differ: a save
  made before the watch was in place is applied too);
- the records of :mod:`relive.agent.records` (remaps, notices);
- ``{"t": "exit", "signal": 2}`` (the program ends of an uncaught ``KeyboardInterrupt``: the
  front end ends the same way, killed by SIGINT, as ``python`` does).

When the front end is gone (its end of the pipe closes: it was killed), the program is killed
too, as it would be with its terminal.
"""

from __future__ import annotations

import json
import signal
import sys

from relive.agent.channel import Channel
from relive.agent.member import Member, listen, pass_on, start_thread
from relive.runtime import install
from relive.runtime.program import MainTarget, ProgramError, execute, prepare, report_uncaught


def main() -> None:
    """Run the program given on the command line (see the module docstring)."""
    config = json.loads(sys.argv[1])
    args = tuple(sys.argv[2:])
    _restore_orig_argv(config["module"], args)
    session = dict(config["session"], main=True)
    member = Member(Channel(config["read"], config["write"]), session)
    listen(member)
    pass_on(session, config["boot"])
    install(session["paths"], enc=session["enc"])
    from relive.runtime.remap import schedule

    schedule.set_default_policy(session["remap"])
    target = (MainTarget(module=config["module"], args=args) if config["module"] is not None
              else MainTarget(path=args[0], args=args[1:]))
    if config["module"] is not None:
        import runpy  # noqa: F401  (python -m has it imported when the module starts)
    try:
        main_module, code = prepare(target)
    except ProgramError as exc:
        print(f"relive run: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    start_thread(member.serve)
    try:
        execute(main_module, code)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        report_uncaught(exc)
        member.channel.send({"t": "exit", "signal": int(signal.SIGINT)})
        raise SystemExit(130) from None
    except BaseException as exc:
        report_uncaught(exc)
        raise SystemExit(1) from None


def _restore_orig_argv(module: str | None, args: tuple[str, ...]) -> None:
    """``sys.orig_argv`` as ``python [options] script args`` (or ``-m module args``) gives it,
    without the bootstrap: a program that starts itself again from it runs as it was run."""
    orig = sys.orig_argv
    options = orig[1:len(orig) - len(sys.argv) - 1]  # before "-c BOOTSTRAP CONFIG ARGS"
    sys.orig_argv = [orig[0], *options, *(("-m", module) if module is not None else ()), *args]
