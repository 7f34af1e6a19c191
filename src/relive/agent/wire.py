"""The wire format of the control channel: versioned JSON messages, one per line.

Every message is a JSON object on a single line (UTF-8, ``\\n``-terminated), at most
:data:`MAX_MESSAGE_BYTES` long. The first message on a connection is the client's
``hello`` (protocol version and token); the agent answers ``welcome`` or an ``error`` and
closes. After that the client sends ``request`` messages and the agent sends ``response``
messages (one per request, matched by ``seq``) and ``event`` messages at any time.
``docs/protocol.md`` is the reference for every command and event.

Neither direction can fail on content: :func:`encode` writes ASCII only (every other
character as its ``\\uXXXX`` escape), so any string can be sent, a lone surrogate from an
undecodable file name too; :func:`decode` turns any line into a message or a
:class:`ProtocolError`, never another exception.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: far above any real message, small enough to refuse junk


class ProtocolError(Exception):
    """A message that breaks the protocol. ``code`` is the error code sent back."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def to_wire(value: Any) -> Any:
    """Plain JSON data for ``value``: dataclasses become objects, enums their values,
    tuples lists. Anything else that JSON cannot hold is refused (a bug, not data)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_wire(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"{type(value).__name__} cannot go on the wire")


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too large", f"message of {len(data)} bytes is over the limit")
    return data


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except RecursionError:
        raise ProtocolError("malformed", "not a JSON message: nested too deeply") from None
    except ValueError as exc:  # not JSON, not UTF-8, or an integer over Python's digit limit
        raise ProtocolError("malformed", f"not a JSON message: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("malformed", "a message is a JSON object with a string 'type'")
    return message


class MessageReader:
    """Reads messages from a socket. A line longer than the limit is an error (and the
    rest of that line is skipped); a malformed line is an error; the connection stays
    usable after either. Reading ends when the peer closes, on a socket error, or at
    :attr:`deadline`."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self._skipping = False
        # A time.monotonic() past which reading ends, however the bytes trickle in (the
        # handshake's limit); None: wait as long as the peer stays.
        self.deadline: float | None = None

    def _receive(self) -> bytes:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the time for this message is up")
            self._sock.settimeout(remaining)
        return self._sock.recv(65536)

    def __iter__(self) -> Iterator[dict[str, Any] | ProtocolError]:
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_MESSAGE_BYTES:
                    self._buffer = b""
                    if not self._skipping:
                        self._skipping = True
                        yield ProtocolError("too large", "message over the size limit")
                try:
                    chunk = self._receive()
                except OSError:
                    return
                if not chunk:
                    return
                self._buffer += chunk
                continue
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            if self._skipping:
                self._skipping = False
                continue
            if len(line) > MAX_MESSAGE_BYTES:
                yield ProtocolError("too large", "message over the size limit")
                continue
            if not line.strip():
                continue
            try:
                yield decode(line)
            except ProtocolError as exc:
                yield exc
