"""DAP framing: a ``Content-Length`` header, a blank line, then that many bytes of JSON."""

from __future__ import annotations

import json
import threading
from typing import IO, Any

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class WireError(Exception):
    """A message that is not a DAP message (the adapter says so and reads on)."""


def read_message(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next message, or None at the end of the stream. Raises :class:`WireError` for a
    bad header or body (the stream is then at the next message, when it can be)."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            if length is None:
                continue  # blank lines between messages
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise WireError(f"bad Content-Length: {value.strip()!r}") from None
    if not 0 <= length <= MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {length} bytes is over the limit")
    body = stream.read(length)
    if len(body) < length:
        return None
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message


class Writer:
    """Writes whole messages, from any thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._seq = 0

    def send(self, message: dict[str, Any]) -> int:
        """Send ``message``; returns its ``seq``."""
        with self._lock:
            self._seq += 1
            body = json.dumps({"seq": self._seq, **message}).encode()
            try:
                self._stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                self._stream.flush()
            except (OSError, ValueError):
                pass  # the client is gone
            return self._seq

    def event(self, name: str, body: dict[str, Any] | None = None) -> None:
        self.send({"type": "event", "event": name, "body": body or {}})
