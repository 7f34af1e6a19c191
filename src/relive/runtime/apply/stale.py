"""Frames that still run code an apply replaced (they are *stale*)."""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType

from relive._cpython.code import function_kind
from relive.runtime.enc import is_enc_code
from relive.runtime.result import StaleFrame

PLAIN_CODE = ("compiled before relive came into the process (or without EnC mode), it cannot "
              "move: it finishes on the old code; new calls run the new code")


def stale_frames(old_codes: dict[int, tuple[CodeType, str]]) -> list[StaleFrame]:
    """Frames of any thread that are still running code this apply replaced."""
    if not old_codes:
        return []
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for thread_id, frame in sys._current_frames().items():
        f: FrameType | None = frame
        while f is not None:
            found = old_codes.get(id(f.f_code))
            if found is not None and found[0] is f.f_code:
                path = found[1]
                kind = _frame_kind(f.f_code)
                # code compiled without EnC mode (imported before relive came into the
                # process) has no remap point: the frame can only finish on the old code
                reason = "" if is_enc_code(f.f_code) else PLAIN_CODE
                out.append(StaleFrame(path, f.f_code.co_filename, f.f_lineno or 0, thread_id,
                                      names.get(thread_id, str(thread_id)), kind, reason))
            f = f.f_back
    return out


def _frame_kind(code: CodeType) -> str:
    kind = function_kind(code)
    return "frame" if kind == "function" else kind
