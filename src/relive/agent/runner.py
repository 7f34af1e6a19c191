"""Run a program under the agent: ``python -m relive.agent [options] -- TARGET [ARGS]``.

This is what :func:`relive.client.launch.launch` starts. Order of events, which is the
contract with the client:

1. read the session token from ``--token-fd`` (a pipe: the token is never in the
   environment or on the command line) or from ``--token-file`` (a file in the socket's
   private directory, removed once read: for a program the editor starts in its terminal),
   start the engine and the agent's socket;
2. write ``ready`` to ``--ready-fd`` (if given); the client connects and says ``hello``;
3. wait for the client's ``start`` request (it sets breakpoints first), or for the client
   to go away, or for ``--wait-s`` seconds without any client (the program then runs);
4. run the program as ``__main__`` (a script, or a module with ``-m``) with its own
   ``sys.argv``; its stdin, stdout, stderr and signals are untouched, but for Ctrl-C, which
   pauses the program while a front end is attached (unless the program handles SIGINT);
5. wait for the program's non-daemon threads, then report ``process exited``, stop watching
   (nothing is traced while the interpreter shuts down) and exit with the program's exit
   status.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
import types
from collections.abc import Sequence

from relive.agent.server import Agent
from relive.agent.session import Session
from relive.debugger.edits import EditService
from relive.debugger.engine import Engine
from relive.debugger.model import Event, ProcessExited
from relive.runtime import install
from relive.runtime.program import MainTarget, ProgramError, execute, prepare


def _load_edit_service(spec: str | None) -> EditService | None:
    """``module:attribute`` names a factory returning the edit service (tests use this)."""
    if not spec:
        from relive.debugger.runtime_service import RuntimeEditService

        return RuntimeEditService()  # the edit service of a normal session: relive's runtime
    module_name, _, attribute = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute or "make_edit_service")
    service: EditService | None = factory()
    return service


def _read_token(args: argparse.Namespace) -> str:
    if args.token_fd is not None:
        with os.fdopen(args.token_fd, "rb") as pipe:
            return pipe.read().decode().strip()
    with open(args.token_file, "rb") as file:
        token = file.read().decode().strip()
    os.unlink(args.token_file)
    return token


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m relive.agent")
    parser.add_argument("--socket", required=True)
    token = parser.add_mutually_exclusive_group(required=True)
    token.add_argument("--token-fd", type=int, default=None)
    token.add_argument("--token-file", default=None)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument("--wait-s", type=float, default=120.0)
    parser.add_argument("--edit-service", default=None)
    parser.add_argument("-m", dest="module", default=None)
    parser.add_argument("target", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = list(args.target)
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.module is None and not rest:
        parser.error("give a script or -m module")
    args.target = rest
    return args


def _join_program_threads(agent_thread_ids: set[int]) -> None:
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is main or thread.daemon or thread.ident in agent_thread_ids:
            continue
        thread.join()


def _prepare(args: argparse.Namespace) -> tuple[types.ModuleType, types.CodeType]:
    """Track the program's modules (compiled for Edit and Continue) and make ``__main__``;
    done before the engine watches this thread, so none of it can stop the debugger."""
    install()
    if args.module is not None:
        target = MainTarget(module=args.module, args=tuple(args.target))
    else:
        target = MainTarget(path=args.target[0], args=tuple(args.target[1:]))
    return prepare(target)


def _run_program(engine: Engine, main: types.ModuleType, code: types.CodeType,
                 stop_on_entry: bool) -> int:
    """Run the program in this (the main) thread; returns its exit status."""
    try:
        if stop_on_entry:
            engine.stop_on_entry()
        execute(main, engine.code_loaded(code))
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:  # the program's own uncaught exception
        engine.report_uncaught(exc)
        traceback.print_exception(type(exc), exc, _program_traceback(exc.__traceback__))
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _pause_on_interrupt(engine: Engine, agent: Agent) -> None:
    """Ctrl-C pauses the program while a front end is attached (as pdb's ``continue`` does);
    the front end ends it on a second Ctrl-C. A program that sets its own SIGINT handler
    gets the signal itself, and without a front end Ctrl-C interrupts as it always does."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def interrupted(signum: int, frame: types.FrameType | None) -> None:
        if not agent.attached():
            signal.default_int_handler(signum, frame)
        engine.pause()  # False when stopped already: the stop is there

    signal.signal(signal.SIGINT, interrupted)


def _program_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """Skip the runner's own frames, so the traceback looks as without relive."""
    from relive.debugger.paths import is_internal

    while tb is not None and is_internal(tb.tb_frame.f_code.co_filename):
        if tb.tb_frame.f_code.co_name == "_run_program" and tb.tb_next is None:
            break
        tb = tb.tb_next
    while tb is not None and tb.tb_frame.f_code.co_filename.endswith(("runpy.py", "runpy>")):
        tb = tb.tb_next
    return tb


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    token = _read_token(args)

    agent_holder: list[Agent] = []

    def emit(event: Event) -> None:
        if agent_holder:
            agent_holder[0].emit(event)

    engine = Engine(emit)
    engine.ignore_thread(threading.get_ident())  # until the program starts, below
    session = Session(engine, _load_edit_service(args.edit_service))
    agent = Agent(args.socket, token, session)
    agent_holder.append(agent)
    engine.install()
    agent.listen()
    if args.ready_fd is not None:
        with os.fdopen(args.ready_fd, "wb") as ready:
            ready.write(b"ready\n")
    if not agent.client_seen.wait(args.wait_s):
        session.start_program.set()  # nobody came: run the program undisturbed
    session.start_program.wait()
    try:
        main_module, code = _prepare(args)
    except ProgramError as exc:
        print(f"relive debug: {exc}", file=sys.stderr)
        engine.emit_event(ProcessExited(2))
        agent.close()
        return 2
    _pause_on_interrupt(engine, agent)  # before the engine watches this thread
    engine.unignore_thread(threading.get_ident())
    status = _run_program(engine, main_module, code, session.stop_on_entry)
    agent_threads = {t.ident for t in threading.enumerate() if t.name.startswith("relive-")}
    _join_program_threads({i for i in agent_threads if i is not None})
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    agent.wait_for_requests()
    engine.emit_event(ProcessExited(status))
    agent.close()
    engine.uninstall()
    return status
