"""The agent's channel: a Unix socket that lets in only its owner.

Security model: the socket lives in a directory only the owner can enter (mode 0700) and is
itself mode 0600; a client must also present the session's random token in its first
message, within :data:`HELLO_TIMEOUT_S` of connecting (in total, however slowly it comes). A
connection that fails any check gets an ``error`` message and is closed; a second client
while one is attached is refused (``busy``). Malformed or oversized messages get an ``error``
and change nothing. When the attached client goes away, the session detaches: breakpoints
are cleared and the program goes on.

The channel keeps serving its owner: a failed ``accept`` (the program has no descriptor to
spare, say) is tried again after a back-off, and at most :data:`MAX_WAITING` connections
wait for their hello (a further one is refused at once, ``overloaded``), so a flood of
connections holds few of the program's descriptors.

The program never hears of the channel: nothing is written to its streams, and sending an
event from a program thread never raises into it (a message that cannot be encoded is
reported to the client as an ``internal`` error instead).

Threads: one daemon thread accepts; each connection is read on a daemon thread of its own.
The attached client's requests are carried out one at a time, in order, on a thread of
their own, so that a ``cancel`` is read and acted on while a request runs (an evaluation
that runs too long is aborted; a request still waiting is answered ``cancelled``). Events
are sent from whatever thread emits them, under a lock. None of these threads is ever
traced or held by the engine.
"""

from __future__ import annotations

import hmac
import os
import queue
import reprlib
import socket
import stat
import sys
import threading
import time
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

HELLO_TIMEOUT_S = 10.0  # from connecting to the end of the hello, in total
MAX_WAITING = 8  # connections waiting for their hello; more are refused as overloaded
LISTEN_BACKLOG = 64
ACCEPT_BACKOFF_S = (0.01, 1.0)  # first and longest pause after a failed accept


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
        self._waiting = threading.BoundedSemaphore(MAX_WAITING)
        self.client_seen = threading.Event()

    @property
    def engine(self) -> Engine:
        return self.session.engine

    def attached(self) -> bool:
        """Is a front end connected now?"""
        return self._client is not None

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
        listener.listen(LISTEN_BACKLOG)
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
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            except OSError:
                pass
            listener.close()
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass

    # ------------------------------------------------------------------ sending

    def emit(self, event: Event) -> None:
        """Send an event to the attached client (dropped when none is attached). Called
        from program threads: never raises."""
        if self._client is None:
            return
        try:
            message = {"type": "event", "event": event.name, "body": to_wire(event)}
        except Exception as exc:  # a bug in relive: the client hears of it, the program never
            message = _error("internal", f"an event could not be sent: {_text(exc)}")
        self._send(message)

    def _send(self, message: dict[str, Any], sock: socket.socket | None = None) -> None:
        """Send ``message``; never raises."""
        target = sock if sock is not None else self._client
        if target is None:
            return
        data = _encoded(message)
        with self._send_lock:
            try:
                target.sendall(data)
            except OSError:
                pass  # the client is gone; the serving thread notices and detaches

    # ------------------------------------------------------------------ serving

    def _serve(self) -> None:
        pause = 0.0
        while True:
            listener = self._listener
            if listener is None:
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                if self._listener is None:
                    return  # closed
                # no descriptor, memory or thread to spare just now: try again later
                pause = min(max(2 * pause, ACCEPT_BACKOFF_S[0]), ACCEPT_BACKOFF_S[1])
                time.sleep(pause)
                continue
            if not self._waiting.acquire(blocking=False):
                self._refuse_at_once(
                    conn, "overloaded", "too many connections are waiting for their hello"
                )
                continue
            # Each connection gets its own thread, so that a refused one is answered even
            # while the owner's connection is being served.
            handler = threading.Thread(
                target=self._handle, args=(conn,), name="relive-agent-connection", daemon=True
            )
            try:
                handler.start()
            except RuntimeError:  # no thread to spare
                self._waiting.release()
                conn.close()
                pause = min(max(2 * pause, ACCEPT_BACKOFF_S[0]), ACCEPT_BACKOFF_S[1])
                time.sleep(pause)
                continue
            pause = 0.0

    def _handle(self, conn: socket.socket) -> None:
        self.engine.ignore_thread(threading.get_ident())
        try:
            self._serve_connection(conn)
        finally:
            conn.close()

    def _refuse(self, conn: socket.socket, code: str, message: str) -> None:
        self._send(_error(code, message), conn)

    def _refuse_at_once(self, conn: socket.socket, code: str, message: str) -> None:
        """Refuse from the accepting thread, which must never wait on a client."""
        try:
            conn.setblocking(False)
            conn.send(_encoded(_error(code, message)))
        except OSError:
            pass
        conn.close()

    def _handshake(self, conn: socket.socket, reader: MessageReader) -> bool:
        """Read and check the hello (its slot among the waiting connections is given back
        here, whatever the outcome)."""
        try:
            reader.deadline = time.monotonic() + HELLO_TIMEOUT_S
            try:
                first = next(iter(reader), None)
            finally:
                reader.deadline = None
            conn.settimeout(None)
        except OSError:
            first = None
        finally:
            self._waiting.release()
        if first is None:
            return False
        if isinstance(first, ProtocolError):
            self._refuse(conn, first.code, str(first))
            return False
        token = first.get("token")
        if first.get("type") != "hello" or not isinstance(token, str):
            self._refuse(conn, "unauthorized", "the first message must be hello with the token")
            return False
        given = token.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(given, self._token.encode()):
            self._refuse(conn, "unauthorized", "wrong token")
            return False
        protocol = first.get("protocol")
        if type(protocol) is not int or protocol != PROTOCOL_VERSION:
            self._refuse(
                conn,
                "version",
                f"this agent speaks protocol {PROTOCOL_VERSION} (an integer), the client "
                f"{_shown(protocol)}; use a relive of the same version",
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
                "commands": sorted([*self.session.commands, "cancel"]),
                "max_message_bytes": MAX_MESSAGE_BYTES,
                "edit_and_continue": self.session.edit_service is not None,
            }
        )
        self.client_seen.set()
        work: queue.SimpleQueue[dict[str, Any] | ProtocolError | None] = queue.SimpleQueue()
        requests = Requests()
        worker = threading.Thread(target=self._work, args=(work, requests), daemon=True,
                                  name="relive-agent-requests")
        worker.start()
        try:
            for message in reader:
                if isinstance(message, ProtocolError):  # told in its turn, after the requests
                    work.put(message)
                    continue
                if message.get("command") == "cancel" and type(message.get("seq")) is int:
                    self._cancel(message, requests)
                    continue
                requests.queued(message.get("seq"))
                work.put(message)
        finally:
            work.put(None)  # what the client sent before it went away is still carried out
            worker.join()
            self._client = None
            self.session.detached()

    def _work(self, work: queue.SimpleQueue[dict[str, Any] | ProtocolError | None],
              requests: Requests) -> None:
        """Carry out the client's requests in order (see the module docstring)."""
        self.engine.ignore_thread(threading.get_ident())
        while True:
            message = work.get()
            if message is None:
                return
            if isinstance(message, ProtocolError):
                self._send({"type": "error", "code": message.code, "message": str(message)})
                continue
            if not requests.start(message.get("seq")):
                continue  # cancelled, and answered so
            try:
                self._dispatch(message)
            finally:
                requests.finish()

    def _cancel(self, message: dict[str, Any], requests: Requests) -> None:
        args = message.get("arguments", {})
        target = args.get("request_seq") if isinstance(args, dict) else None
        if type(target) is not int:
            self._respond_error(message["seq"], "bad arguments",
                                "cancel takes the request_seq of the request to cancel")
            return
        cancelled = requests.cancel(target)
        if cancelled:
            self._respond_error(target, "cancelled", "the request was cancelled")
        elif requests.running == target:
            cancelled = self.engine.abort_job()
        self._send({"type": "response", "request_seq": message["seq"], "success": True,
                    "body": {"cancelled": cancelled}})

    def _dispatch(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if message.get("type") != "request" or type(seq) is not int:
            self._send(_error("malformed", "expected a request with an integer seq"))
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
                self._respond_error(seq, "internal", _text(exc))
                return
            self._send({"type": "response", "request_seq": seq, "success": True, "body": body})

    def _respond_error(self, seq: int, code: str, text: str) -> None:
        self._send(_failure(seq, code, text))


class Requests:
    """The client's requests between the reading thread and the one that carries them
    out: which wait, which runs, which were cancelled before they ran."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[int] = set()
        self.running: int | None = None

    def queued(self, seq: Any) -> None:
        if type(seq) is int:
            with self._lock:
                self._waiting.add(seq)

    def start(self, seq: Any) -> bool:
        """Mark ``seq`` running; False when it was cancelled."""
        with self._lock:
            if type(seq) is not int:
                return True  # malformed: _dispatch answers it
            if seq not in self._waiting:
                return False
            self._waiting.discard(seq)
            self.running = seq
            return True

    def finish(self) -> None:
        with self._lock:
            self.running = None

    def cancel(self, seq: int) -> bool:
        """Cancel ``seq`` if it still waits."""
        with self._lock:
            if seq in self._waiting:
                self._waiting.discard(seq)
                return True
            return False


def _shown(value: Any) -> str:
    """A short display of a value the client sent."""
    try:
        return reprlib.repr(value)
    except Exception:
        return f"a {type(value).__name__}"


def _text(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__


def _error(code: str, text: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": text}


def _failure(seq: int, code: str, text: str) -> dict[str, Any]:
    return {
        "type": "response",
        "request_seq": seq,
        "success": False,
        "error": {"code": code, "message": text},
    }


_UNSENDABLE = b'{"type":"error","code":"internal","message":"a message could not be sent"}\n'


def _encoded(message: dict[str, Any]) -> bytes:
    """``message`` on the wire or, when it cannot be, the error that says why: a failed
    response in place of a response, so that its request is answered all the same."""
    try:
        return encode(message)
    except ProtocolError as exc:
        code, text = exc.code, str(exc)
    except Exception as exc:  # a bug in relive: the client hears of it, the program never
        code, text = "internal", f"a {message.get('type')} could not be sent: {_text(exc)}"
    seq = message.get("request_seq")
    replacement = (
        _failure(seq, code, text)
        if message.get("type") == "response" and type(seq) is int
        else _error(code, text)
    )
    try:
        return encode(replacement)
    except Exception:
        return _UNSENDABLE
