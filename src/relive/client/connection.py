"""A connection to an agent: requests with their responses, and a queue of events.

Connecting outlasts a storm of other connections: a full listen queue, or an agent with too
many connections waiting for their hello (``overloaded``), is tried again until the
connection's time limit.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Any

from relive.agent.wire import PROTOCOL_VERSION, MessageReader, ProtocolError, encode

CONNECT_PAUSE_S = (0.01, 0.5)  # first and longest pause between two tries


class AgentError(Exception):
    """The agent refused a request, or the connection failed. ``code`` is the protocol's
    error code (``refused``, ``unavailable``, ``bad arguments``, ``closed``, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Connection:
    """One client connection. Responses are matched to requests by ``seq``; events are put
    on :attr:`events` in the order they arrive; ``None`` on the queue means the connection
    closed."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = MessageReader(sock)
        self._seq = 0
        self._lock = threading.Lock()
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.welcome: dict[str, Any] = {}
        self.closed = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def connect(cls, socket_path: str, token: str, timeout: float = 30.0) -> Connection:
        """Connect and say hello, within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        pause = 0.0
        while True:
            try:
                return cls._connect_once(socket_path, token, deadline)
            except (BlockingIOError, AgentError) as exc:
                if isinstance(exc, AgentError) and exc.code != "overloaded":
                    raise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if isinstance(exc, AgentError):
                        raise
                    raise AgentError(
                        "closed", f"cannot connect to the agent at {socket_path}: its "
                        f"queue of connections stayed full for {timeout:g} s",
                    ) from None
                pause = min(max(2 * pause, CONNECT_PAUSE_S[0]), CONNECT_PAUSE_S[1], remaining)
                time.sleep(pause)

    @classmethod
    def _connect_once(cls, socket_path: str, token: str, deadline: float) -> Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(socket_path)
        except BlockingIOError:  # the listen queue is full
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise AgentError(
                "closed", f"cannot connect to the agent at {socket_path}: {exc}"
            ) from None
        conn = cls(sock)
        try:
            conn._hello(token, deadline)
        except BaseException:
            sock.close()
            raise
        return conn

    def _hello(self, token: str, deadline: float) -> None:
        try:
            self._sock.sendall(
                encode({"type": "hello", "protocol": PROTOCOL_VERSION, "token": token})
            )
            self._reader.deadline = deadline
            first = next(iter(self._reader), None)
        except OSError as exc:
            raise AgentError("closed", f"the agent did not answer: {exc}") from None
        finally:
            self._reader.deadline = None
        if first is None:
            raise AgentError("closed", "the agent closed the connection or did not answer")
        if isinstance(first, ProtocolError) or first.get("type") != "welcome":
            message = first.get("message") if isinstance(first, dict) else str(first)
            code = first.get("code", "refused") if isinstance(first, dict) else first.code
            raise AgentError(str(code), f"the agent refused the connection: {message}")
        self.welcome = first
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._read, name="relive-client", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self._reader:
                if isinstance(message, ProtocolError):
                    continue
                kind = message.get("type")
                if kind == "response":
                    waiter = self._pending.pop(message.get("request_seq", -1), None)
                    if waiter is not None:
                        waiter.put(message)
                elif kind in ("event", "error"):
                    self.events.put(message)
        finally:
            self.closed.set()
            for waiter in list(self._pending.values()):
                waiter.put(
                    {"success": False, "error": {"code": "closed", "message": "the program ended"}}
                )
            self.events.put(None)

    def request(self, command: str, timeout: float | None = 120.0, **arguments: Any) -> Any:
        """Send a request and wait for its response; returns the body or raises
        :class:`AgentError`."""
        return self.send(command, **arguments).result(timeout)

    def send(self, command: str, **arguments: Any) -> Pending:
        """Send a request; its response is waited for with :meth:`Pending.result` (the
        request can be cancelled meanwhile by its ``seq``)."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            waiter: queue.Queue[dict[str, Any]] = queue.Queue()
            self._pending[seq] = waiter
        if self.closed.is_set():
            self._pending.pop(seq, None)
            raise AgentError("closed", "the program is not running any more")
        message = {"type": "request", "seq": seq, "command": command, "arguments": arguments}
        try:
            self._sock.sendall(encode(message))
        except OSError:
            self._pending.pop(seq, None)
            raise AgentError("closed", "the program is not running any more") from None
        return Pending(self, seq, command, waiter)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class Pending:
    """A request sent, its response not yet read."""

    def __init__(self, conn: Connection, seq: int, command: str,
                 waiter: queue.Queue[dict[str, Any]]) -> None:
        self._conn = conn
        self.seq = seq
        self.command = command
        self._waiter = waiter

    def result(self, timeout: float | None = 120.0) -> Any:
        """Wait for the response; returns its body or raises :class:`AgentError`."""
        try:
            response = self._waiter.get(timeout=timeout)
        except queue.Empty:
            self._conn._pending.pop(self.seq, None)
            raise AgentError("timeout", f"no answer to {self.command} within {timeout} s"
                             ) from None
        if not response.get("success"):
            error = response.get("error") or {}
            raise AgentError(str(error.get("code", "error")), str(error.get("message", "")))
        return response.get("body", {})
