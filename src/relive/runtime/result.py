"""What an apply returns and what update handlers receive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import TYPE_CHECKING

from relive.delta import Delta, RudeEdit

if TYPE_CHECKING:
    from relive.runtime.remap.tracker import RemapSchedule


# how each kind of edit is told, in this order
CHANGE_WORDS = (("update", "updated"), ("insert", "added"), ("delete", "deleted"),
                ("replace", "rebuilt"))


def changes_text(names: Mapping[str, Sequence[str]]) -> str:
    """``updated f, g; added h``: the definitions changed, by kind of edit (``update``,
    ``insert``, ``delete``, ``replace``; other kinds, such as moved lines, are not told)."""
    parts = [f"{word} {', '.join(names[kind])}" for kind, word in CHANGE_WORDS
             if names.get(kind)]
    return "; ".join(parts) if parts else "no code changed"


@dataclass(frozen=True, slots=True)
class StaleFrame:
    """A frame still running code that the apply replaced."""

    path: str
    filename: str
    lineno: int
    thread_id: int
    thread_name: str
    kind: str = "frame"  # "frame", "generator", "coroutine", "async_generator"
    reason: str = ""  # why it could not follow, when it is not simply old code still running

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (f"{self.kind} of {self.path} at {self.filename}:{self.lineno} "
                f"in thread {self.thread_name}{why}")


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of one apply (or one refusal): it never raises for a refused edit.

    ``applied`` is False when nothing changed; ``errors`` then says why (source errors, error
    rude edits, an exception while running new module-level code) and ``rude_edits`` lists
    the rude edits with their codes. ``generation`` is the module's generation afterwards.
    ``replaced`` names the objects rebuilt (old references keep the old object), ``stale`` the
    frames still running old code, ``warnings`` anything applied with a caveat.
    ``remap`` is what the remap of the stale frames was given (None when no frame was to
    move; see :func:`relive.runtime.remap.tracker.schedule_remap`), and ``new_code`` the code
    objects the apply installed.
    """

    module: str
    filename: str
    applied: bool
    generation: int
    delta: Delta | None = None
    rude_edits: tuple[RudeEdit, ...] = ()
    errors: tuple[str, ...] = ()
    stale: tuple[StaleFrame, ...] = ()
    updated: tuple[str, ...] = ()
    inserted: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    duration_s: float = 0.0
    remap: RemapSchedule | None = field(default=None, compare=False, repr=False)
    new_code: tuple[CodeType, ...] = field(default=(), compare=False, repr=False)

    @property
    def changed(self) -> bool:
        """True when the apply changed anything in the process."""
        return self.applied and bool(self.updated or self.inserted or self.deleted
                                     or self.replaced)

    def describe(self) -> str:
        """What changed (or why nothing did), without the module's name."""
        if not self.applied:
            reason = self.errors[0] if self.errors else "refused"
            return f"not applied: {reason}"
        return f"{self.what()} ({self.duration_s * 1e3:.1f} ms)"

    def what(self) -> str:
        """The generation and what changed in it (an applied result)."""
        return f"gen {self.generation}: " + changes_text(
            {"update": self.updated, "insert": self.inserted, "delete": self.deleted,
             "replace": self.replaced})

    def summary(self) -> str:
        """One line: the module, then what changed or why nothing did."""
        return f"{self.module} {self.describe()}"
