"""From an apply to the remap of the frames still running the code it replaced.

Scheduling a remap costs a few milliseconds (both versions are compiled in EnC mode and
checked against the running code), so an apply asks for one only where a frame may have to
move: code that is on a thread's stack now, code that earlier remaps derived continuations
from, generator-like code (suspended instances may resume later) and code some frame is still
waiting to leave. The rest of an apply's updates need nothing more.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from relive._cpython.code import suspends
from relive.delta import Baseline, Definition, Delta
from relive.delta.units import definition_unit

if TYPE_CHECKING:
    from relive.runtime.remap.events import EventSink
    from relive.runtime.remap.tracker import RemapSchedule

POLICIES = ("next-statement", "restart", "stale")

_default_policy = "next-statement"
# asked where each moving frame continues (set by a debugging session; see remap_plan.Chooser)
_chooser: Callable[..., int | None] | None = None


def set_chooser(chooser: Callable[..., int | None] | None) -> None:
    """Let a debugger choose where each frame continues (None: at the mapped line)."""
    global _chooser
    _chooser = chooser


def set_default_policy(policy: str) -> None:
    """The remap policy of applies that do not name one (``relive run --remap``)."""
    global _default_policy
    if policy not in POLICIES:
        raise ValueError(f"remap policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    _default_policy = policy


def default_policy() -> str:
    return _default_policy


@dataclass(frozen=True)
class ReplacedCode:
    """Code an apply replaced in live functions, and what replaced it."""

    path: str
    old_code: CodeType
    new_code: CodeType
    old_def: Definition
    new_def: Definition
    shift: int | None = None  # a line_shift: the number of lines it moved


def frames_waiting() -> bool:
    """Are frames of an earlier schedule still waiting to move?"""
    if "relive.runtime.remap.tracker" not in sys.modules:
        return False
    from relive.runtime.remap.tracker import has_stale_code

    return has_stale_code()


def frames_test(on_stacks: set[int] | None = None) -> Callable[[CodeType], bool]:
    """Could frames of a code have to move? True for the codes whose ids are in ``on_stacks``
    (running now) and for those with frames off the stacks: suspended generators,
    continuations of earlier remaps, frames waiting for their point. Whether any frame
    waits is read once: the test is for many codes in a row."""
    stacks = on_stacks if on_stacks is not None else set()

    def generator_like(code: CodeType) -> bool:
        return id(code) in stacks or suspends(code)

    if "relive.runtime.remap.tracker" not in sys.modules:
        return generator_like
    if frames_waiting():
        return _always
    from relive.runtime.remap.continuation import any_derived, has_derived

    if not any_derived():
        return generator_like

    def test(code: CodeType) -> bool:
        return generator_like(code) or has_derived(code)

    return test


def _always(code: CodeType) -> bool:
    return True


def unaliaser() -> Callable[[CodeType], CodeType]:
    """:func:`unalias`, or the identity while no alias exists (for loops over many)."""
    module = sys.modules.get("relive.runtime.remap.continuation")
    if module is None or not module.has_aliases():
        return _same
    found: Callable[[CodeType], CodeType] = module.unalias
    return found


def _same(code: CodeType) -> CodeType:
    return code


def unalias(code: CodeType) -> CodeType:
    """The code a function's ``__code__`` stands for: the original when it holds an alias (a
    debugger's entry-hooked copy, see ``remap_continuation.register_alias``). Aliases only
    exist once that module is loaded, which a program never debugged need not pay for."""
    return unaliaser()(code)


def codes_on_stacks() -> set[int]:
    found: set[int] = set()
    for top in sys._current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            found.add(id(frame.f_code))
            frame = frame.f_back
    return found


def schedule(candidates: Sequence[ReplacedCode], old: Baseline, new: Baseline, delta: Delta,
             policy: str | None, sink: EventSink) -> RemapSchedule | None:
    """Schedule the remap of the frames of ``candidates`` that may need it; the schedule or
    None (nothing to move, or the policy is ``stale``)."""
    policy = policy or _default_policy
    if policy == "stale" or not candidates:
        return None
    from relive.runtime.enc import is_enc_code
    from relive.runtime.remap.events import RemapItem
    from relive.runtime.remap.tracker import schedule_remap

    may_move = frames_test(codes_on_stacks())
    items = []
    seen: set[int] = set()
    for c in candidates:
        if id(c.old_code) in seen or not is_enc_code(c.old_code):
            continue
        seen.add(id(c.old_code))
        if not may_move(c.old_code):
            continue
        old_unit = definition_unit(old.lines, old.index, c.old_def)[0]
        new_unit = definition_unit(new.lines, new.index, c.new_def)[0]
        if c.shift is not None:
            first, last = c.old_def.span
            line_map: dict[int, int | None] = {n: n + c.shift for n in range(first, last + 1)}
        else:
            line_map = dict(delta.line_maps.get(c.path, {}))
        items.append(RemapItem(c.old_code, c.new_code, old_unit, new_unit, line_map,
                               ask=c.shift is None))
    if not items:
        return None
    return schedule_remap(items, policy, on_event=sink,  # type: ignore[arg-type]
                          chooser=_chooser)
