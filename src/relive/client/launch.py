"""Start a program under the agent and connect to it.

The channel is private: :func:`launch` makes a directory only this user can enter
(``mkdtemp``: mode 0700), asks the agent to put its socket there (mode 0600), and hands it
a fresh random token through a pipe, so the token is never in the environment or on a
command line. The program inherits this process's stdin, stdout and stderr unless told
otherwise: they stay the program's own.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Protocol

from relive.client.connection import AgentError, Connection

READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    """What to run: a script path, or a module name (``module=True``), and its arguments."""

    name: str
    args: tuple[str, ...] = ()
    module: bool = False


class ProgramProcess(Protocol):
    """The program's process as the client sees it: a child (``subprocess.Popen``), or a
    process someone else started (:class:`ForeignProcess`)."""

    pid: int
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class ForeignProcess:
    """A program's process that is not this process's child (an editor started it in its
    terminal): seen by its pid; its exit status is not known here (reported as 0; the
    agent's ``process exited`` event has the real one)."""

    stdout: IO[bytes] | None = None
    stderr: IO[bytes] | None = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._returncode: int | None = None

    @property
    def returncode(self) -> int | None:
        return self._returncode

    def poll(self) -> int | None:
        if self._returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat", "rb") as stat:
                    # state is the field after the command name, which ends with ')'
                    ended = stat.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
            except FileNotFoundError:
                ended = True
            except OSError:  # no /proc: ask the kernel whether the pid is taken
                try:
                    os.kill(self.pid, 0)
                    ended = False
                except ProcessLookupError:
                    ended = True
                except PermissionError:
                    ended = False
            if ended:
                self._returncode = 0
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return self._returncode or 0

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Launched:
    """A program running under the agent, and the connection to it."""

    def __init__(
        self, process: ProgramProcess, conn: Connection, socket_path: str, token: str
    ) -> None:
        self.process = process
        self.conn = conn
        self.socket_path = socket_path
        self.token = token  # for a second connection of the same owner (attach)
        self._directory = os.path.dirname(socket_path)

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        """Drop the connection (the program goes on without breakpoints) and clean up."""
        self.conn.close()
        shutil.rmtree(self._directory, ignore_errors=True)


def launch(
    target: Target,
    *,
    stdin: int | IO[bytes] | None = None,
    stdout: int | IO[bytes] | None = None,
    stderr: int | IO[bytes] | None = None,
    env: Mapping[str, str] | None = None,
    edit_service: str | None = None,
    python: str | None = None,
    cwd: str | None = None,
) -> Launched:
    """Start ``target`` under the agent and connect. The program waits for the client's
    ``start`` request before it runs its first line. ``stdin``, ``stdout`` and ``stderr`` are
    the program's (default: this process's). Raises :class:`AgentError` when the
    agent does not come up (its stderr, which is the program's, says why)."""
    directory = tempfile.mkdtemp(prefix="relive-")
    socket_path = os.path.join(directory, "agent.sock")
    token = secrets.token_hex(32)
    token_read, token_write = os.pipe()
    ready_read, ready_write = os.pipe()
    command = [
        python or sys.executable, "-m", "relive.agent",
        "--socket", socket_path,
        "--token-fd", str(token_read),
        "--ready-fd", str(ready_write),
    ]
    if edit_service:
        command += ["--edit-service", edit_service]
    if target.module:
        command += ["-m", target.name, "--", *target.args]
    else:
        command += ["--", target.name, *target.args]
    try:
        process = subprocess.Popen(
            command, stdin=stdin, stdout=stdout, stderr=stderr,
            env=dict(env) if env is not None else None,
            pass_fds=(token_read, ready_write), cwd=cwd,
        )
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        os.close(token_read)
        os.close(ready_write)
    with os.fdopen(token_write, "wb") as pipe:
        pipe.write(token.encode())
    try:
        _wait_ready(ready_read, process)
        conn = Connection.connect(socket_path, token)
    except AgentError:
        if process.poll() is None:
            process.kill()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        os.close(ready_read)
    return Launched(process, conn, socket_path, token)


def launch_elsewhere(
    target: Target,
    start: Callable[[list[str]], None],
    *,
    edit_service: str | None = None,
    python: str | None = None,
) -> Launched:
    """Have ``start`` run the agent's command line for ``target`` (an editor runs it in its
    terminal, say) and connect to it. The token goes through a file in the socket's
    private directory, which the agent removes once read. Raises :class:`AgentError` when
    the agent does not come up within a minute."""
    directory = tempfile.mkdtemp(prefix="relive-")
    socket_path = os.path.join(directory, "agent.sock")
    token_path = os.path.join(directory, "token")
    token = secrets.token_hex(32)
    with open(os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(token)
    command = [python or sys.executable, "-m", "relive.agent", "--socket", socket_path,
               "--token-file", token_path]
    if edit_service:
        command += ["--edit-service", edit_service]
    command += (["-m", target.name, "--", *target.args] if target.module
                else ["--", target.name, *target.args])
    try:
        start(command)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:  # until the agent listens
            try:
                conn = Connection.connect(socket_path, token,
                                          timeout=max(0.1, deadline - time.monotonic()))
                break
            except AgentError:
                if time.monotonic() >= deadline:
                    raise AgentError("timeout", "the program did not start its agent within "
                                     "a minute") from None
                time.sleep(0.02)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    pid = int(conn.welcome.get("pid") or 0)
    return Launched(ForeignProcess(pid), conn, socket_path, token)


def _wait_ready(fd: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AgentError("timeout", "the program did not start its agent within a minute")
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 64)
        if not chunk:
            status = process.wait()
            raise AgentError(
                "closed", f"the program ended (status {status}) before its agent started"
            )
        data += chunk
