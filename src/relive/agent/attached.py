"""The agent in a process that was already running: what ``relive attach`` brings in.

:mod:`relive.client.attach` has the process run :func:`start` (through ``sys.remote_exec``
on 3.14+, through gdb and ``Py_AddPendingCall`` before), at a point where the interpreter
runs Python code. :func:`start` returns at once: it starts the engine, the runtime's
tracking of the program's modules (those imported before are tracked from their files,
verified against their live code) and the agent's socket, then says ``ok`` (or what went
wrong) in the status file the front end waits for.

When the front end goes away, everything leaves again: breakpoints, the engine's hooks, the
import hook and the agent's threads; the program runs on as if relive had never been there
(relive's modules stay imported, unused). A later ``relive attach`` starts anew.
"""

from __future__ import annotations

import os
import threading
import traceback

from relive.agent.server import Agent
from relive.agent.session import Session
from relive.debugger.edits import EditService
from relive.debugger.engine import Engine
from relive.debugger.model import Event

_lock = threading.Lock()
_current: Attached | None = None


class _Session(Session):
    """A session that ends the attachment when its client goes away."""

    def __init__(self, engine: Engine, service: EditService | None,
                 attachment: Attached) -> None:
        super().__init__(engine, service)
        self._attachment = attachment

    def detached(self) -> None:
        super().detached()
        # not on the serving thread's own stack: it is the one closing
        threading.Thread(target=self._attachment.end, name="relive-detach",
                         daemon=True).start()


class Attached:
    """The engine, runtime tracking and agent of one attachment."""

    def __init__(self, socket_path: str, token: str) -> None:
        from relive.debugger.runtime_service import RuntimeEditService
        from relive.runtime import importhook

        self._importhook = importhook
        self._hooked_imports = not importhook.installed()
        self.engine = Engine(self._emit)
        self.service = RuntimeEditService()
        self.session = _Session(self.engine, self.service, self)
        self.agent = Agent(socket_path, token, self.session)

    def _emit(self, event: Event) -> None:
        self.agent.emit(event)

    def begin(self) -> None:
        if self._hooked_imports:
            for tracked in self._importhook.install():
                tracked.take_file_now()  # so that a save from now on is an edit
                # what an apply puts in is compiled in EnC mode: a frame running it can
                # move to later edits (code from before relive came cannot)
                tracked.enc = True
        self.engine.install()
        self.agent.listen()
        self.session.start_program.set()  # the program runs already

    def end(self) -> None:
        """Leave the process: no breakpoint, hook or thread of relive's stays."""
        global _current
        self.agent.wait_for_requests()
        self.agent.close()
        self.engine.uninstall()
        self.service.attach(None)
        if self._hooked_imports:
            self._importhook.uninstall()
        with _lock:
            if _current is self:
                _current = None


def start(socket_path: str, token_path: str, status_path: str) -> None:
    """Attach: called in the program's process by the code the front end injected. Writes
    ``ok`` or ``error: ...`` to ``status_path``."""
    global _current
    try:
        with open(token_path, "rb") as file:
            token = file.read().decode().strip()
        os.unlink(token_path)
        with _lock:
            if _current is not None:
                raise RuntimeError("relive is attached to this process already; detach the "
                                   "other front end first")
            attachment = _current = Attached(socket_path, token)
        try:
            attachment.begin()
        except BaseException:
            with _lock:
                _current = None
            raise
        status = "ok"
    except BaseException as exc:
        status = "error: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()
    descriptor = os.open(status_path + ".part", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8") as file:
        file.write(status)
    os.replace(status_path + ".part", status_path)
