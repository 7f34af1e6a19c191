"""The channel of ``relive run``: between the front end and one process of the program, two
pipes (the first process) or a socket (the others, which join later).

The messages are in :mod:`relive.agent.supervised`. This module is light on purpose: the front
end imports :func:`fingerprint` from it, and nothing of relive's runtime comes with it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import zlib
from typing import Any


def fingerprint(data: bytes) -> str:
    """A file content's fingerprint, as the ``watch`` message gives it: the program's side is
    the source it runs, the front end's the file on disk. It tells contents apart; it is no
    security."""
    return f"{zlib.crc32(data):08x}-{len(data):x}"


def read_line(sock: socket.socket, limit: int | None = None) -> dict[str, Any] | None:
    """One JSON object on one line from ``sock`` (the first message of a process joining the
    session, or its answer); None when the connection ends first, the line is over ``limit``
    bytes, or it is not an object. Raises ValueError for a line that is not JSON."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk or (limit is not None and len(data) > limit):
            return None
        data += chunk
    message = json.loads(data)
    return message if isinstance(message, dict) else None


class Channel:
    """The program's end of the channel (``read_fd`` is ``write_fd`` for a socket); writes
    are whole lines, from any thread."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        # the program's own child processes must not hold them (nor see them)
        os.set_inheritable(read_fd, False)
        os.set_inheritable(write_fd, False)
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._ids = (self._id(read_fd), self._id(write_fd))

    @classmethod
    def closed(cls) -> Channel:
        """A channel to nowhere: a forked child's until it has its own."""
        channel = cls.__new__(cls)
        channel.read_fd = channel.write_fd = -1
        channel._lock = threading.Lock()
        channel._pid = os.getpid()
        channel._ids = (None, None)
        return channel

    def close(self) -> None:
        """Close this process's descriptors of the channel (if they are still its)."""
        if self.ours():
            for fd in {self.read_fd, self.write_fd}:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.read_fd = self.write_fd = -1

    def receive(self) -> bytes:
        return os.read(self.read_fd, 65536)

    @staticmethod
    def _id(fd: int) -> tuple[int, int] | None:
        try:
            st = os.fstat(fd)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def ours(self) -> bool:
        """Both descriptors are still the channel's pipes: the program may close descriptors
        it does not know (``os.closerange``) and open others under the same numbers."""
        return self.read_fd >= 0 and (
            self._id(self.read_fd), self._id(self.write_fd)) == self._ids

    def send(self, message: dict[str, Any]) -> None:
        if os.getpid() != self._pid:
            return  # a forked child of the program: the channel is its parent's
        data = (json.dumps(message, default=str) + "\n").encode()
        with self._lock:
            if not self.ours():
                return
            try:
                while data:
                    data = data[os.write(self.write_fd, data):]
            except OSError:
                pass  # the front end is gone; the thread finds out and acts
