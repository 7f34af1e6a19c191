"""What EnC code calls at run time: the remap signal and the trailer's two helpers.

EnC code refers to them as builtins (``__relive_RemapSignal__``, ``__relive_resume__``,
``__relive_strip__``): a name the interpreter matches in an ``except`` clause costs nothing
until an exception arrives, where a local to bind the exception to would cost every call.
They are installed when this module is imported, which :mod:`relive.runtime.enc.transform` does: EnC
code only exists where that module compiled or loaded it.
"""

from __future__ import annotations

import builtins
import sys
import threading
from collections.abc import Callable
from types import FrameType

from relive.runtime.enc.tree import RESUME_NAME, SIGNAL_NAME, STRIP_NAME

__all__ = ["RemapSignal", "drop_pending", "set_pending"]


class RemapSignal(BaseException):
    """Raised into a stale frame at a statement boundary; the frame's own handler catches it.

    It is a ``BaseException`` so that no user ``except Exception`` could ever see it (it never
    crosses user code anyway: it is only raised at points outside every user ``try`` and
    ``with``; a frame inside one is sent to its trailer by a jump instead). The continuation
    to run is registered for the frame beforehand (:func:`set_pending`).
    """


_PENDING: dict[FrameType, Callable[[Callable[[], object] | None], Callable[[], object]]] = {}
_PENDING_LOCK = threading.Lock()


def set_pending(
    frame: FrameType, start: Callable[[Callable[[], object] | None], Callable[[], object]]
) -> None:
    """Register what ``frame``'s trailer will run once the remap signal is raised into it.

    ``start`` receives the frame's cell-capturing lambda (or None) and returns a zero-argument
    callable that starts the continuation; the trailer calls it at once.
    """
    with _PENDING_LOCK:
        _PENDING[frame] = start


def drop_pending(frame: FrameType) -> None:
    """Forget what was registered for ``frame`` (its move did not happen)."""
    with _PENDING_LOCK:
        _PENDING.pop(frame, None)


def _resume(capture: Callable[[], object] | None) -> Callable[[], object]:
    """``__relive_resume__``: the trailer's way to its continuation."""
    frame = sys._getframe(1)
    with _PENDING_LOCK:
        start = _PENDING.pop(frame)
    return start(capture)


def _strip() -> None:
    """``__relive_strip__``: drop the calling frame's entry from the traceback of the
    exception being handled, so that a traceback through a remapped frame shows only the
    continuation (as if the new code had been running all along)."""
    exc = sys.exception()
    tb = exc.__traceback__ if exc is not None else None
    if exc is not None and tb is not None and tb.tb_frame is sys._getframe(1):
        exc.__traceback__ = tb.tb_next


def _install_builtins() -> None:
    """EnC code names the signal class and the trailer's helpers as builtins: a name the
    interpreter matches in an ``except`` clause costs nothing until an exception arrives,
    where a local to bind the exception to would cost every call (see the module docstring).
    """
    builtins.__dict__[SIGNAL_NAME] = RemapSignal
    builtins.__dict__[RESUME_NAME] = _resume
    builtins.__dict__[STRIP_NAME] = _strip


_install_builtins()
