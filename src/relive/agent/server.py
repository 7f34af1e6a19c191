"""The agent's channel: a Unix socket that lets in only its owner.

Security model: the socket lives in a directory only the owner can enter (mode 0700) and is
itself mode 0600; a client must also present the session's random token in its first
message. A connection that fails any check gets an ``error`` message and is closed; a
second client while one is attached is refused (``busy``). Malformed or oversized messages
get an ``error`` and change nothing. When the attached client goes away, the session
detaches: breakpoints are cleared and the program goes on.

Threads: one daemon thread accepts and serves the attached client (requests are handled
one at a time, in order). Events are sent from whatever thread emits them, under a lock.
Neither thread is ever traced or held by the engine.
"""

from __future__ import annotations

import hmac
import os
import socket
import stat
import sys
import threading
from typing import Any

from relive.agent.session import RequestError, Session
from relive.agent.wire import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    MessageReader,
    ProtocolError,
    encode,
    to_wire,
)
from relive.debugger.engine import Engine
from relive.debugger.model import Event

HELLO_TIMEOUT_S = 10.0


def check_private_directory(path: str) -> None:
    """Refuse a socket directory that others could enter or that is not ours."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a directory owned by this user")
    if info.st_mode & 0o077:
        raise PermissionError(f"{path} is open to other users (mode {info.st_mode & 0o777:o})")


class Agent:
    """Serves one session over a Unix socket. See the module docstring."""

    def __init__(self, socket_path: str, token: str, session: Session) -> None:
        self.socket_path = socket_path
        self._token = token
        self.session = session
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        # Re-entrant: a program thread sending an event can hit a line event that sends
        # another (each sendall is whole, so messages never interleave).
        self._send_lock = threading.RLock()
        self._attach_lock = threading.Lock()
        # Held while a request is carried out, so that the program's exit waits for the
        # response of a request in flight (a `continue` that lets it finish, typically).
        self._request_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.client_seen = threading.Event()

    @property
    def engine(self) -> Engine:
        return self.session.engine

    def listen(self) -> None:
        """Bind and listen (before the client is told to connect)."""
        check_private_directory(os.path.dirname(self.socket_path) or ".")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket file is created 0600
        try:
            listener.bind(self.socket_path)
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_path, 0o600)
        listener.listen(4)
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, name="relive-agent", daemon=True)
        self._thread.start()
        if self._thread.ident is not None:
            self.engine.ignore_thread(self._thread.ident)

    def wait_for_requests(self, timeout: float = 5.0) -> None:
        """Let a request in flight finish (and its response go out), up to ``timeout``."""
        if self._request_lock.acquire(timeout=timeout):
            self._request_lock.release()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass

    # ------------------------------------------------------------------ sending

    def emit(self, event: Event) -> None:
        """Send an event to the attached client (dropped when none is attached)."""
        self._send({"type": "event", "event": event.name, "body": to_wire(event)})

    def _send(self, message: dict[str, Any], sock: socket.socket | None = None) -> None:
        target = sock if sock is not None else self._client
        if target is None:
            return
        try:
            data = encode(message)
        except ProtocolError as exc:
            data = encode({"type": "error", "code": exc.code, "message": str(exc)})
        with self._send_lock:
            try:
                target.sendall(data)
            except OSError:
                pass  # the client is gone; the serving thread notices and detaches

    # ------------------------------------------------------------------ serving

    def _serve(self) -> None:
        while self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            # Each connection gets its own thread, so that a refused one is answered even
            # while the owner's connection is being served.
            handler = threading.Thread(
                target=self._handle, args=(conn,), name="relive-agent-connection", daemon=True
            )
            handler.start()

    def _handle(self, conn: socket.socket) -> None:
        self.engine.ignore_thread(threading.get_ident())
        try:
            self._serve_connection(conn)
        finally:
            conn.close()

    def _refuse(self, conn: socket.socket, code: str, message: str) -> None:
        self._send({"type": "error", "code": code, "message": message}, conn)

    def _handshake(self, conn: socket.socket, reader: MessageReader) -> bool:
        conn.settimeout(HELLO_TIMEOUT_S)
        try:
            first = next(iter(reader), None)
        except (TimeoutError, OSError):
            first = None
        conn.settimeout(None)
        if first is None:
            return False
        if isinstance(first, ProtocolError):
            self._refuse(conn, first.code, str(first))
            return False
        token = first.get("token")
        if first.get("type") != "hello" or not isinstance(token, str):
            self._refuse(conn, "unauthorized", "the first message must be hello with the token")
            return False
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            self._refuse(conn, "unauthorized", "wrong token")
            return False
        if first.get("protocol") != PROTOCOL_VERSION:
            self._refuse(
                conn,
                "version",
                f"this agent speaks protocol {PROTOCOL_VERSION}, the client "
                f"{first.get('protocol')!r}; use a relive of the same version",
            )
            return False
        with self._attach_lock:
            if self._client is not None:
                self._refuse(conn, "busy", "another client is attached to this program")
                return False
            self._client = conn
        return True

    def _serve_connection(self, conn: socket.socket) -> None:
        reader = MessageReader(conn)
        if not self._handshake(conn, reader):
            return
        self.session.attached()
        self._send(
            {
                "type": "welcome",
                "protocol": PROTOCOL_VERSION,
                "pid": os.getpid(),
                "python": ".".join(map(str, sys.version_info[:3])),
                "backend": self.engine.backend_name,
                "commands": self.session.commands,
                "max_message_bytes": MAX_MESSAGE_BYTES,
                "edit_and_continue": self.session.edit_service is not None,
            }
        )
        self.client_seen.set()
        try:
            for message in reader:
                if isinstance(message, ProtocolError):
                    self._send({"type": "error", "code": message.code, "message": str(message)})
                    continue
                self._dispatch(message)
        finally:
            self._client = None
            self.session.detached()

    def _dispatch(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if message.get("type") != "request" or not isinstance(seq, int):
            self._send(
                {
                    "type": "error",
                    "code": "malformed",
                    "message": "expected a request with an integer seq",
                }
            )
            return
        command = message.get("command")
        args = message.get("arguments", {})
        if not isinstance(command, str) or not isinstance(args, dict):
            self._respond_error(
                seq, "malformed", "a request has a string command and object arguments"
            )
            return
        with self._request_lock:
            try:
                body = self.session.handle(command, args)
            except RequestError as exc:
                self._respond_error(seq, exc.code, str(exc))
                return
            except Exception as exc:  # a bug in relive: report it, keep serving
                self._respond_error(seq, "internal", f"{type(exc).__name__}: {exc}")
                return
            self._send({"type": "response", "request_seq": seq, "success": True, "body": body})

    def _respond_error(self, seq: int, code: str, text: str) -> None:
        self._send(
            {
                "type": "response",
                "request_seq": seq,
                "success": False,
                "error": {"code": code, "message": text},
            }
        )
