"""Every process of the program under ``relive run``, and each edit applied to all of them.

The first process of the program talks to this one over pipes; every other Python process of
the program (a ``multiprocessing`` worker, a forked server worker, an interpreter started with
``sys.executable``) joins over a socket in a directory only its owner can enter, with the
session's token (:mod:`relive.agent.member` is the other side). Each is a :class:`Member`.

An edit is one *transaction* over the members (:meth:`Fleet.edit`), two-phase: each prepares
the file's new content (computes its delta, checks and plans the apply, holding its apply
lock) and answers; only when every one is ready are they all told to commit, else they all
abort, and the refusal names the process that refused and why. A process that ends in the
middle leaves the transaction and is reported; the others go on. Transactions run one at a
time, in the order the saves came.

The session keeps the source it runs for each file a transaction touched (:attr:`Fleet.sources`),
applied or kept after a refusal: a process that joins later imports those sources rather than
the files (an edit refused stays on disk), and a process that runs other code than the session
(forked while an edit was prepared) is brought to it by a transaction of its own.
"""

from __future__ import annotations

import hmac
import json
import os
import queue
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from relive.agent.channel import fingerprint, read_line

PHASE_TIMEOUT_S = 30.0  # for every process to answer a phase; then it counts as refusing
JOIN_TIMEOUT_S = 5.0  # for a process that connected to say who it is
JOIN_LINE_BYTES = 65536  # its hello is short: a longer one is not a process of the program


@dataclass(eq=False)
class Member:
    """One process of the program, and the channel to it."""

    pid: int
    to_child: int
    from_child: int
    main: bool = False
    restarting: bool = False
    exit_signal: int | None = None  # what it asked to end with (SIGINT)
    tree: list[int] = field(default_factory=list)  # the processes it started (at a restart)
    reaped: threading.Event = field(default_factory=threading.Event)
    gone: threading.Event = field(default_factory=threading.Event)  # its channel closed
    reader: threading.Thread | None = None
    # files it told of, with the fingerprint of the source it runs, not yet compared
    unchecked: dict[str, str] = field(default_factory=dict)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self._lock:
            try:
                while data:
                    data = data[os.write(self.to_child, data):]
            except OSError:
                pass  # it has ended; its reader finds out

    def close(self) -> None:
        """Close the way to the process (the reader closes the way back when it is done)."""
        if self.to_child != self.from_child:
            try:
                os.close(self.to_child)
            except OSError:
                pass


@dataclass
class _Edit:
    """A transaction to run: ``path``'s content ``data`` for ``members`` (None: all)."""

    path: str
    data: bytes
    members: list[Member] | None = None


Report = Callable[[str, list[tuple[Member, dict[str, Any]]], float], None]
"""How a transaction is told: ``(outcome, results, seconds)``, ``results`` a ``result`` record
for each process concerned; outcome is ``"applied"`` (the processes that took the edit),
``"refused"`` (the ones that refused it: none took it) or ``"ended"`` (processes that ended
in the middle, with empty records)."""


class Fleet:
    """The processes of one run of the program (a restart makes a new fleet)."""

    def __init__(self, report: Report, notice: Callable[[str, str], None]) -> None:
        self.report = report
        self.notice = notice  # (file, message): a save that cannot be applied at all
        self.token = secrets.token_hex(16)
        self.members: list[Member] = []
        self.sources: dict[str, bytes] = {}
        self._refused: dict[str, bytes] = {}  # the last content refused, per file
        self._known: dict[str, str] = {}  # the files processes told of, by real path
        self._gone_files: set[str] = set()
        self._cond = threading.Condition()
        self._next_id = 1
        self._edits: queue.Queue[_Edit | None] = queue.Queue()
        self._directory = tempfile.mkdtemp(prefix="relive-")  # mode 0700
        self.socket_path = os.path.join(self._directory, "session")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(64)
        self._closed = False
        for target, name in ((self._accept, "relive-accept"), (self._run_edits, "relive-apply")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._edits.put(None)
        try:
            self._listener.close()
        except OSError:
            pass
        shutil.rmtree(self._directory, ignore_errors=True)

    def add(self, member: Member, on_message: Callable[[Member, dict[str, Any]], None]) -> None:
        """Take ``member`` in and read what it says on its own thread."""
        with self._cond:
            self.members.append(member)
        member.reader = threading.Thread(target=self._read, args=(member, on_message),
                                         name="relive-channel", daemon=True)
        member.reader.start()

    def alive(self) -> list[Member]:
        with self._cond:
            return [m for m in self.members if not m.gone.is_set()]

    # -- joining -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._welcome, args=(conn,), name="relive-join",
                             daemon=True).start()

    on_join: Callable[[Member], None] | None = None

    def _welcome(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(JOIN_TIMEOUT_S)
            hello = read_line(conn, limit=JOIN_LINE_BYTES)
            if (hello is None or hello.get("t") != "hello"
                    or not hmac.compare_digest(str(hello.get("token")), self.token)):
                conn.sendall(b'{"t": "refused"}\n')
                conn.close()
                return
            conn.settimeout(None)
            # no transaction runs while a process joins: it takes the sources the session
            # runs, and every edit after them
            with self._cond:
                pinned = {path: data.decode("latin-1") for path, data in self.sources.items()}
                conn.sendall((json.dumps({"t": "welcome", "pinned": pinned}) + "\n").encode())
                fd = conn.detach()
                member = Member(int(hello["pid"]), fd, fd)
            if self.on_join is not None:
                self.on_join(member)
        except (OSError, ValueError, KeyError, TypeError):
            conn.close()

    def _read(self, member: Member, on_message: Callable[[Member, dict[str, Any]], None]
              ) -> None:
        try:
            with os.fdopen(member.from_child, "rb") as stream:
                for line in stream:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    kind = message.get("t") if isinstance(message, dict) else None
                    if kind in ("prepared", "committed", "aborted"):
                        with self._cond:
                            member.answers[int(message["id"])] = message
                            self._cond.notify_all()
                        continue
                    try:
                        on_message(member, message)
                    except Exception:  # a bad record must not stop the relay
                        continue
        except OSError:
            pass
        finally:
            with self._cond:
                member.gone.set()
                if member in self.members:
                    self.members.remove(member)
                self._cond.notify_all()

    # -- edits ---------------------------------------------------------------------------

    def told(self, member: Member, files: dict[str, str]) -> None:
        """``member`` runs these files (path: fingerprint of the source it runs)."""
        with self._cond:
            member.unchecked.update(files)
            for path in files:
                self._known[_real(path)] = path

    def saved(self, paths: list[str]) -> None:
        """Files were saved: apply each one's content to every process (in order); a file no
        process runs is not the program's."""
        for changed in paths:
            path = self._known.get(_real(changed))
            if path is None:
                continue
            data = self._read_file(path)
            if data is not None:
                self._edits.put(_Edit(path, data))

    def check(self, member: Member) -> None:
        """Compare the sources ``member`` told of with what the session runs: a file saved
        before the watch was in place is applied (to all), and a process that runs other code
        than the session is brought to it."""
        with self._cond:
            files, member.unchecked = member.unchecked, {}
        for path, runs in sorted(files.items()):
            pinned = self.sources.get(path)
            if pinned is not None:
                if fingerprint(pinned) != runs:
                    self._edits.put(_Edit(path, pinned, [member]))
                continue
            data = self._read_file(path, quiet=True)
            if data is None or fingerprint(data) != runs:
                self.saved([path])  # a file gone is reported by the read

    def _read_file(self, path: str, quiet: bool = False) -> bytes | None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            if path not in self._gone_files:
                self._gone_files.add(path)
                self.notice(path, "the file is gone; the program keeps its code")
            return None
        except OSError as exc:
            if not quiet:
                self.notice(path, f"cannot read the file: {exc.strerror}")
            return None
        self._gone_files.discard(path)
        return data

    def _run_edits(self) -> None:
        while True:
            edit = self._edits.get()
            if edit is None:
                return
            try:
                self._transaction(edit)
            except Exception as exc:  # the next save must still be applied
                self.notice(edit.path, f"relive could not apply the edit: {exc!r}")

    def _transaction(self, edit: _Edit) -> None:
        start = time.perf_counter()
        with self._cond:
            members = [m for m in (edit.members or self.members) if not m.gone.is_set()]
            if edit.members is None and self._refused.get(edit.path) == edit.data:
                return  # refused already (the editor saved the same text again)
            ident, self._next_id = self._next_id, self._next_id + 1
        if not members:
            return
        # the first time, every process says what it runs: the first one may not run the
        # file at all (a gunicorn master imports the app only in its workers)
        want = edit.path not in self.sources
        text = edit.data.decode("latin-1")
        for member in members:
            member.send({"t": "prepare", "id": ident, "path": edit.path, "data": text,
                         "want": want})
        answers, ended = self._answers(ident, members)
        runs = next((a["runs"] for a in answers.values() if "runs" in a), None)
        ready = [m for m in members if answers.get(m, {}).get("status") == "ready"]
        refusing = [m for m in members if m not in ended
                    and answers.get(m, {}).get("status") not in ("ready", "same", "untracked")]
        if refusing:
            refusals = [(m, _refusal(edit.path, answers.get(m), m, members)) for m in refusing]
            first, why = refusals[0]
            for member in ready:
                member.send({"t": "abort", "id": ident, "reason": why["errors"][0]})
            with self._cond:
                if edit.members is None:
                    self._refused[edit.path] = edit.data
                if runs is not None:
                    self.sources.setdefault(edit.path, runs.encode("latin-1"))
            if answers.get(first, {}).get("status") == "empty":
                self.notice(edit.path, why["errors"][0])
            else:
                self.report("refused", refusals, time.perf_counter() - start)
            self._report_ended(ended, start)
            return
        for member in ready:
            member.send({"t": "commit", "id": ident})
        done, late = self._answers(ident, ready)
        with self._cond:
            self.sources[edit.path] = edit.data
            self._refused.pop(edit.path, None)
        took = [(m, done[m]["record"]) for m in ready if m in done]
        if took:
            self.report("applied", took, time.perf_counter() - start)
        self._report_ended([*ended, *late], start)

    def _report_ended(self, ended: list[Member], start: float) -> None:
        if ended:
            self.report("ended", [(m, {}) for m in ended], time.perf_counter() - start)

    def _answers(self, ident: int, members: list[Member]
                 ) -> tuple[dict[Member, dict[str, Any]], list[Member]]:
        """Each member's answer to phase ``ident`` (until it has answered or ended), and the
        members that ended first."""
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        with self._cond:
            while True:
                waiting = [m for m in members
                           if ident not in m.answers and not m.gone.is_set()]
                left = deadline - time.monotonic()
                if not waiting or left <= 0:
                    break
                self._cond.wait(left)
            answers = {m: m.answers.pop(ident) for m in members if ident in m.answers}
        ended = [m for m in members if m not in answers and m.gone.is_set()]
        return answers, ended


def _refusal(path: str, answer: dict[str, Any] | None, member: Member,
             members: list[Member]) -> dict[str, Any]:
    """The ``result`` record that says why ``member`` refused (it may not have answered)."""
    if answer is not None and "record" in answer:
        record: dict[str, Any] = answer["record"]
        if len(members) > 1:
            record = dict(record, errors=[f"process {member.pid}: {e}"
                                          for e in record["errors"]])
        return record
    status = None if answer is None else answer.get("status")
    if status == "empty":
        why = "the file is empty; ignored until it has content again"
    elif status == "failed":
        why = f"process {member.pid}: {answer.get('error')}" if answer else ""
    else:
        why = f"process {member.pid} did not answer in {PHASE_TIMEOUT_S:.0f} s"
    return {"t": "result", "module": "", "file": path, "generation": 0, "applied": False,
            "describe": f"not applied: {why}", "duration_ms": 0.0, "updated": [],
            "inserted": [], "deleted": [], "replaced": [], "warnings": [], "stale": [],
            "errors": [why], "edits": [], "rude_edits": [], "source_errors": []}


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))
