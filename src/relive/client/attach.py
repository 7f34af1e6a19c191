"""Bring the agent into a CPython process that is already running (``relive attach``).

The process is found and checked first (it exists, it is this user's, it runs CPython 3.11
or newer, remote debugging is not switched off), so that each reason it cannot be attached
to gets its own message. Then a one-line program is run in it, at a point where it runs
Python code:

- on 3.14 and newer through ``sys.remote_exec`` (PEP 768), run by the process's own
  interpreter;
- before 3.14 through gdb, which asks the interpreter for a pending call
  (``Py_AddPendingCall``) that runs the line in the main thread.

The line runs :func:`relive.agent.attached.start` with a socket in a private directory and
the session's token in a file there (removed once read), as :func:`relive.client.launch.launch`
does for a launched program. A process that runs no Python code just now (its main thread
blocked in a system call) is attached when it next does: ``waiting`` is called meanwhile.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import relive
from relive.client.connection import AgentError, Connection
from relive.client.launch import ForeignProcess, Launched

SUPPORTED = ((3, 11), (3, 15))
WAITING_AFTER_S = 2.0  # ``waiting`` is called once the process has not answered for this long
PROC = "/proc"


class AttachError(Exception):
    """The process cannot be attached to; the message says why and what to do."""


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    exe: str
    version: tuple[int, int]
    uid: int


def inspect_process(pid: int) -> ProcessInfo:
    """What relive needs to know of process ``pid``, or the reason it cannot attach."""
    base = os.path.join(PROC, str(pid))
    if not os.path.isdir(PROC):
        raise AttachError("relive attach needs /proc (Linux)")
    try:
        status = _read(os.path.join(base, "status"))
    except FileNotFoundError:
        raise AttachError(f"there is no process {pid}") from None
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
    if uid != os.getuid() and os.getuid() != 0:
        raise AttachError(
            f"process {pid} belongs to {_user(uid)}, not to you ({_user(os.getuid())}); "
            f"relive attaches to its user's own processes: run it as {_user(uid)}")
    try:
        exe = os.readlink(os.path.join(base, "exe"))
        maps = _read(os.path.join(base, "maps"))
    except PermissionError:
        raise AttachError(f"cannot look into process {pid} (permission denied); run relive "
                          "attach as the process's user") from None
    except FileNotFoundError:
        raise AttachError(f"process {pid} has ended") from None
    version = _version(exe, maps)
    if version is None:
        raise AttachError(f"process {pid} ({exe}) does not run CPython; relive attaches to "
                          "CPython processes")
    if not SUPPORTED[0] <= version <= SUPPORTED[1]:
        raise AttachError(f"process {pid} runs CPython {version[0]}.{version[1]}; relive "
                          "supports CPython 3.11 to 3.15")
    if version >= (3, 14):
        environ = _read(os.path.join(base, "environ"), missing="").split("\0")
        cmdline = _read(os.path.join(base, "cmdline"), missing="").split("\0")
        if any(e.startswith("PYTHON_DISABLE_REMOTE_DEBUG=") and e.split("=", 1)[1]
               for e in environ) or _has_option(cmdline, "disable-remote-debug"):
            raise AttachError(
                f"process {pid} was started with remote debugging switched off "
                "(PYTHON_DISABLE_REMOTE_DEBUG or -X disable-remote-debug): restart it "
                "without, or under relive (relive run / relive debug)")
    return ProcessInfo(pid, exe, version, uid)


def attach(pid: int, waiting: Callable[[], None] | None = None,
           timeout: float | None = None) -> Launched:
    """Attach to process ``pid`` and connect. ``waiting`` is called once if the process
    has not answered within :data:`WAITING_AFTER_S` (it runs no Python code just now);
    ``timeout`` (None: no limit) bounds the wait. Raises :class:`AttachError`."""
    info = inspect_process(pid)
    directory = tempfile.mkdtemp(prefix="relive-")
    try:
        return _attach(info, directory, waiting, timeout)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _attach(info: ProcessInfo, directory: str, waiting: Callable[[], None] | None,
            timeout: float | None) -> Launched:
    socket_path = os.path.join(directory, "agent.sock")
    token_path = os.path.join(directory, "token")
    status_path = os.path.join(directory, "status")
    token = secrets.token_hex(32)
    with open(os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(token)
    if info.uid != os.getuid():  # root attaching to another user's process
        os.chown(directory, info.uid, -1)
        os.chown(token_path, info.uid, -1)
    script = os.path.join(directory, "attach.py")
    with open(script, "w", encoding="utf-8") as f:
        f.write(_program(socket_path, token_path, status_path))
    os.chmod(script, 0o644)
    line = f"exec(open({script!r}).read(), {{'__name__': '__relive_attach__'}})"
    if info.version >= (3, 14):
        _remote_exec(info, line, directory)
    else:
        _pending_call(info, line)
    status = _wait_for_status(info.pid, status_path, waiting, timeout)
    if status != "ok":
        raise AttachError(f"relive could not start in process {info.pid}: "
                          f"{status.removeprefix('error: ')}")
    try:
        conn = Connection.connect(socket_path, token)
    except AgentError as exc:
        raise AttachError(f"cannot connect to relive in process {info.pid}: {exc}") from None
    return Launched(ForeignProcess(info.pid), conn, socket_path, token)


def _program(socket_path: str, token_path: str, status_path: str) -> str:
    """What the process runs: relive's agent, from this relive (its modules, imported once,
    stay; the import path is left as it was)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(relive.__file__)))
    return (
        "import sys\n"
        "if 'relive' not in sys.modules:\n"
        f"    sys.path.insert(0, {root!r})\n"
        "    try:\n"
        "        import relive.agent.attached\n"
        "    finally:\n"
        f"        sys.path.remove({root!r})\n"
        "import relive.agent.attached\n"
        f"relive.agent.attached.start({socket_path!r}, {token_path!r}, {status_path!r})\n"
    )


def _remote_exec(info: ProcessInfo, line: str, directory: str) -> None:
    trigger = os.path.join(directory, "trigger.py")
    with open(trigger, "w", encoding="utf-8") as f:
        f.write(line + "\n")
    os.chmod(trigger, 0o644)
    done = subprocess.run(
        [info.exe, "-I", "-c", "import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])",
         str(info.pid), trigger], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        hint = ""
        if "ermission" in why or "ptrace" in why.lower():
            hint = "; " + _ptrace_hint()
        raise AttachError(f"CPython could not run relive in process {info.pid}: {why}{hint}")


def _pending_call(info: ProcessInfo, line: str) -> None:
    gdb = shutil.which("gdb")
    if gdb is None:
        raise AttachError(
            f"attaching to CPython {info.version[0]}.{info.version[1]} needs gdb, which is "
            "not installed: install it (Debian, Ubuntu: apt install gdb; Fedora: dnf install "
            "gdb), or attach to CPython 3.14 or newer, which needs nothing more")
    scope = _ptrace_scope()
    if scope == 3:
        raise AttachError("this machine forbids attaching to processes "
                          "(/proc/sys/kernel/yama/ptrace_scope is 3, until the next reboot)")
    if scope == 2 and os.getuid() != 0:
        raise AttachError("only root may attach to processes on this machine "
                          "(/proc/sys/kernel/yama/ptrace_scope is 2): run relive attach as "
                          "root")
    quoted = line.replace("\\", "\\\\").replace('"', '\\"')
    call = ('call (int)Py_AddPendingCall((void*)PyRun_SimpleString, '
            f'(void*)strdup("{quoted}"))')
    for _ in range(20):  # the interpreter's queue of pending calls may be full a moment
        done = subprocess.run([gdb, "-p", str(info.pid), "-batch", "-nx", "-ex", call],
                              capture_output=True, text=True, timeout=60)
        out = done.stdout + done.stderr
        answer = re.search(r"^\$1 = (-?\d+)", out, re.M)
        if answer is not None and answer.group(1) == "0":
            return
        if answer is not None:
            time.sleep(0.05)
            continue
        if "Operation not permitted" in out or "ptrace" in out:
            raise AttachError(f"gdb could not attach to process {info.pid}: "
                              f"{_ptrace_hint()}")
        if "No symbol" in out:
            raise AttachError(f"process {info.pid} does not show CPython's functions to gdb "
                              "(a static build without symbols?); start it under relive")
        raise AttachError(f"gdb could not get into process {info.pid}: "
                          f"{(out.strip().splitlines() or ['no output'])[-1]}")
    raise AttachError(f"process {info.pid} kept refusing the call; try again")


def _wait_for_status(pid: int, path: str, waiting: Callable[[], None] | None,
                     timeout: float | None) -> str:
    started = time.monotonic()
    told = False
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except FileNotFoundError:
            pass
        if not os.path.exists(os.path.join(PROC, str(pid))):
            raise AttachError(f"process {pid} ended before relive could start in it")
        took = time.monotonic() - started
        if timeout is not None and took > timeout:
            raise AttachError(f"process {pid} ran no Python code for {timeout:g} s (its main "
                              "thread may be blocked in a system call); relive was not "
                              "started in it")
        if not told and took > WAITING_AFTER_S and waiting is not None:
            told = True
            waiting()
        time.sleep(0.02)


def _ptrace_scope() -> int | None:
    try:
        return int(_read("/proc/sys/kernel/yama/ptrace_scope").strip())
    except (OSError, ValueError):
        return None


def _ptrace_hint() -> str:
    scope = _ptrace_scope()
    if scope == 1:
        return ("this machine lets a process be traced only by its parent "
                "(/proc/sys/kernel/yama/ptrace_scope is 1): run relive attach as root, or "
                "`sudo sysctl kernel.yama.ptrace_scope=0`")
    if scope in (2, 3):
        return (f"this machine restricts attaching (/proc/sys/kernel/yama/ptrace_scope is "
                f"{scope})")
    return ("permission denied (in a container, ptrace may need the SYS_PTRACE capability: "
            "docker run --cap-add=SYS_PTRACE)")


def _version(exe: str, maps: str) -> tuple[int, int] | None:
    """The CPython version a process runs: from the libpython it maps, else from its
    executable's name or by asking the executable."""
    found = re.search(r"libpython(\d)\.(\d+)", maps)
    if found is None:
        found = re.search(r"python(\d)\.(\d+)", os.path.basename(exe))
    if found is not None:
        return int(found.group(1)), int(found.group(2))
    try:
        done = subprocess.run(
            [exe, "-I", "-c", "import sys; print(sys.implementation.name, "
                              "*sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 3 or parts[0] != "cpython":
        return None
    return int(parts[1]), int(parts[2])


def _has_option(cmdline: list[str], option: str) -> bool:
    return any(a == f"-X{option}" or (a == option and i and cmdline[i - 1] == "-X")
               for i, a in enumerate(cmdline))


def _read(path: str, missing: str | None = None) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        if missing is None:
            raise
        return missing


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
