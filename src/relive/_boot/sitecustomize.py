"""Run by every Python the program of a ``relive run`` session starts (``site`` imports it):
joins the session when the interpreter is the program's (same CPython version), then runs the
``sitecustomize`` the interpreter would have run without relive, if there is one.

Kept small and tolerant on purpose: it runs in interpreters that are not relive's too (another
Python the program starts), where it must change nothing."""

import os
import sys


def _join() -> None:
    import json

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        session = json.loads(os.environ.get("RELIVE_SESSION", ""))
    except ValueError:
        return
    if (not isinstance(session, dict) or sys.implementation.name != "cpython"
            or session.get("version") != "{}.{}".format(*sys.version_info[:2])):
        return
    sys.path.insert(0, session["root"])
    try:
        import relive.agent.member as member
    finally:
        del sys.path[0]
    member.join(session)


def _chain() -> None:
    """The sitecustomize this one hides (a distribution's or a virtual environment's)."""
    import importlib

    this = sys.modules.pop("sitecustomize")
    try:
        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
        # none: this one stays the module site imports (site takes it back when it is done)
        sys.modules["sitecustomize"] = this


try:
    _join()
except Exception as exc:  # the program runs on, without edits in this process
    sys.stderr.write(f"relive: this process does not take edits: {exc!r}\n")
_chain()
