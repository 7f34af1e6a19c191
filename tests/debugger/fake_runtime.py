"""A test double of the Edit and Continue runtime, for the debugger's side of the seam.

It implements :class:`relive.debugger.edits.EditService` crudely but honestly:

- it snapshots the ``.py`` files of one directory (``RELIVE_FAKE_WATCH``) when created;
- ``apply_saved_edits`` recompiles a changed file and swaps the ``__code__`` of its
  top-level functions whose code changed (new calls run the new code); line moves come
  from a line diff; a line containing ``# fake-rude-warning`` is reported as a warning rude
  edit (code ``RL9999``, which only this double uses), ``# fake-rude-error`` refuses the
  whole edit;
- it offers a remap opportunity when a frame running replaced code reaches its next line
  (sys.monitoring tool 3 on 3.12+, the frame's ``f_trace`` on 3.11), and reports the remap
  as *not done*: moving a frame is the real runtime's job, not this double's.

Loaded in the debuggee with ``--edit-service fake_runtime:make_edit_service``.
"""

from __future__ import annotations

import difflib
import os
import sys
import threading
import time
from collections.abc import Sequence
from types import CodeType, FrameType, FunctionType
from typing import Any

from relive.debugger.edits import (
    CodeStatus,
    EditOutcome,
    EditSummary,
    EncHost,
    RemapOffer,
    RemapResult,
    RudeEditInfo,
)

REMAP_TOOL = 3


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _line_moves(old: str, new: str) -> dict[int, int | None]:
    moves: dict[int, int | None] = {}
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        for k in range(i1, i2):
            moves[k + 1] = j1 + (k - i1) + 1 if tag == "equal" else None
    return moves


class FakeEditService:
    def __init__(self, directory: str) -> None:
        self._dir = os.path.realpath(directory)
        self._texts = {
            os.path.join(self._dir, name): _read(os.path.join(self._dir, name))
            for name in os.listdir(self._dir)
            if name.endswith(".py")
        }
        self._host: EncHost | None = None
        self._generation: dict[str, int] = {}
        self._stale: dict[CodeType, tuple[str, dict[int, int | None], int]] = {}
        self._offered: set[int] = set()
        self._monitoring = False

    def attach(self, host: EncHost | None) -> None:
        self._host = host

    def pending_paths(self) -> Sequence[str]:
        return [p for p, text in self._texts.items() if _read(p) != text]

    def code_status(self, code: CodeType) -> CodeStatus | None:
        if code in self._stale:
            return CodeStatus(self._stale[code][2], True)
        path = os.path.realpath(code.co_filename)
        if path in self._generation:
            return CodeStatus(self._generation[path], False)
        return None

    def running_source(self, code: CodeType) -> str | None:
        return None

    def remap_here(self, frame: FrameType) -> None:
        pass  # this fake offers at the next line only

    def apply_saved_edits(self, paths: Sequence[str] | None = None) -> EditOutcome:
        started = time.perf_counter()
        wanted = self.pending_paths() if paths is None else [p for p in paths if p in self._texts]
        changed = [p for p in wanted if _read(p) != self._texts[p]]
        if not changed:
            return EditOutcome(applied=False, message="no edits saved on disk")
        edits: list[EditSummary] = []
        rude: list[RudeEditInfo] = []
        moves: dict[str, dict[int, int | None]] = {}
        new_code: list[CodeType] = []
        for path in changed:
            new_text = _read(path)
            for number, line in enumerate(new_text.splitlines(), 1):
                if "# fake-rude-error" in line:
                    return EditOutcome(
                        applied=False,
                        message="a rude edit needs a restart",
                        rude_edits=(
                            RudeEditInfo("RL9999", "error", "test rude edit", path, number),
                        ),
                    )
                if "# fake-rude-warning" in line:
                    rude.append(RudeEditInfo("RL9999", "warning", "test rude edit", path, number))
            try:
                module_code = compile(new_text, path, "exec")
            except SyntaxError as exc:
                return EditOutcome(applied=False, message=f"syntax error: {exc}")
            line_moves = _line_moves(self._texts[path], new_text)
            generation = self._generation.get(path, 0) + 1
            fresh = {c.co_qualname: c for c in module_code.co_consts if isinstance(c, CodeType)}
            for module in list(sys.modules.values()):
                if os.path.realpath(getattr(module, "__file__", "") or "") != path:
                    continue
                for value in list(vars(module).values()):
                    if not isinstance(value, FunctionType):
                        continue
                    replacement = fresh.get(value.__code__.co_qualname)
                    old = value.__code__
                    if replacement is None or (
                        replacement.co_code == old.co_code
                        and replacement.co_consts == old.co_consts
                    ):
                        continue
                    value.__code__ = replacement
                    self._stale[old] = (path, line_moves, generation - 1)
                    new_code.append(replacement)
                    edits.append(EditSummary(path, "update", old.co_qualname))
            self._texts[path] = new_text
            self._generation[path] = generation
            moves[path] = {k: v for k, v in line_moves.items() if v != k}
        self._watch_stale_frames()
        return EditOutcome(
            applied=True,
            files=tuple(changed),
            edits=tuple(edits),
            rude_edits=tuple(rude),
            line_moves=moves,
            new_code=tuple(new_code),
            generation=dict(self._generation),
            duration_s=time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ remap offers

    def _offer(self, frame: FrameType) -> None:
        if id(frame) in self._offered or self._host is None:
            return
        self._offered.add(id(frame))
        path, moves, generation = self._stale[frame.f_code]
        line = frame.f_lineno
        answer = self._host.offer_remap(
            RemapOffer(
                frame=frame,
                definition=frame.f_code.co_qualname,
                path=path,
                old_line=line,
                mapped_line=moves.get(line, line),
                generation=generation + 1,
            )
        )
        if answer is not None:
            self._host.remap_completed(
                RemapResult(
                    thread_id=threading.get_ident(),
                    definition=frame.f_code.co_qualname,
                    path=path,
                    line=answer,
                    remapped=False,
                    message=f"asked for line {answer}; the test double cannot move frames",
                )
            )

    def _watch_stale_frames(self) -> None:
        if sys.version_info >= (3, 12):
            mon: Any = sys.monitoring
            if not self._monitoring:
                mon.use_tool_id(REMAP_TOOL, "relive-test-remap")
                mon.register_callback(REMAP_TOOL, mon.events.LINE, self._on_line)
                self._monitoring = True
            for code in self._stale:
                mon.set_local_events(REMAP_TOOL, code, mon.events.LINE)
            return
        for top in sys._current_frames().values():
            frame: FrameType | None = top
            while frame is not None:
                if frame.f_code in self._stale:
                    frame.f_trace = self._wrap(frame.f_trace)
                frame = frame.f_back

    def _on_line(self, code: CodeType, line: int) -> Any:
        if code in self._stale:
            self._offer(sys._getframe(1))
        return None

    def _wrap(self, inner: Any) -> Any:
        def trace(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line" and frame.f_code in self._stale:
                self._offer(frame)
            result = inner(frame, event, arg) if inner is not None else None
            return trace if result is not None else None

        return trace


def make_edit_service() -> FakeEditService:
    return FakeEditService(os.environ["RELIVE_FAKE_WATCH"])
