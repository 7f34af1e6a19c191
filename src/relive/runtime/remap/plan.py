"""The remap plan of one updated function: where its frames resume, and with what.

A plan belongs to one (old version, new version, line map, policy). It answers, for a frame at
a remap point, whether the frame can move there and with which state, caching everything that
does not depend on the frame. It holds no frame and takes no lock: the tracker does both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from relive._cpython import valuestack
from relive.runtime.enc import FunctionNode
from relive.runtime.remap.continuation import (
    Continuation,
    FunctionVersion,
    ResumePoint,
    build_continuation,
    handled_local,
    reentered,
    resolve_target,
    restart_target,
    target_reads,
    with_local,
)
from relive.runtime.remap.events import EventSink, RemapPolicy
from relive.runtime.remap.layout import Layout, Point

__all__ = ["Go", "Plan"]


@dataclass(frozen=True)
class Go:
    """A decided move: where to, with which locals, and which of the old cells to share."""

    target: ResumePoint
    state: dict[str, object]
    continuation: Continuation
    share: frozenset[str]
    globals_: dict[str, Any]


def _is_iterator(value: object, asynchronous: bool) -> bool:
    return hasattr(type(value), "__anext__" if asynchronous else "__next__")


def _param_names(fn: FunctionNode) -> list[str]:
    args = fn.args
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg:
        names.append(args.vararg.arg)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return names


def _handled(frame: FrameType, saved: tuple[int, ...]) -> list[BaseException] | str:
    """The exceptions the handlers around a frame handle, from the outermost: each one is
    what the next inner handler saved on entry (on the value stack), the innermost one the
    frame's own (this runs in the frame's line event, on its thread)."""
    read = [valuestack.items(frame, index, 1)[0] for index in saved[1:]]
    if saved:
        read.append(sys.exception())
    found = [exc for exc in read if isinstance(exc, BaseException)]
    if len(found) != len(read):
        return "the exception the frame is handling cannot be read from it"
    return found


# asked at a frame's remap opportunity, on the frame's own thread, where it should continue:
# (frame, its old line, the mapped line of the new code, the lines it could go to) -> a line
# of the new code, or None to leave the frame on the old code; it may block (a debugger asks
# its user)
Chooser = Callable[[FrameType, int, int, tuple[int, ...]], int | None]


@dataclass(eq=False)
class Plan:
    """How the frames of one old version move to one new version (with its caches: a
    target, a reads analysis and a continuation are computed once for all frames)."""

    old: FunctionVersion
    new: FunctionVersion
    line_map: dict[int, int | None]
    policy: RemapPolicy
    on_event: EventSink | None
    schedule: Any  # the RemapSchedule that asked for it
    targets: dict[Point, ResumePoint | str] = field(default_factory=dict)
    reads: dict[ResumePoint, frozenset[str]] = field(default_factory=dict)
    continuations: dict[ResumePoint, Continuation | str] = field(default_factory=dict)
    chooser: Chooser | None = None
    # the line maps of the edits that retargeted this plan to a later version, in order: a
    # line chosen in an earlier version is carried through them
    revisions: list[Mapping[int, int | None]] = field(default_factory=list)

    def carry(self, line: int, since: int) -> int | None:
        """``line`` of the version this plan went to after ``since`` revisions, as a line
        of its newest version (None: deleted since)."""
        current: int | None = line
        for line_map in self.revisions[since:]:
            if current is None:
                break
            current = line_map.get(current, current)
        return current

    def decide(self, point: Point, frame: FrameType, line: int | None = None) -> Go | str:
        """Whether the frame can move at this point: the move to make, or why not.

        ``line`` is a line of the new version chosen instead of the mapped one (a debugger's
        user decides where the frame continues).
        """
        new = self.new
        restart = self.policy == "restart"
        target = self.target(point) if line is None else self.target_at(point, line)
        if isinstance(target, str):
            return target
        snapshot = dict(frame.f_locals)
        new_locals = set(new.varnames) | set(new.cellvars)
        if restart and point.withs:
            return ("restarting would leave the `with` around the frame without running its"
                    " exit")
        if (target.withs or target.loops or target.handled[1:]) and not valuestack.available():
            return f"the frame's value stack cannot be read here: {valuestack.problem()}"
        if restart:
            names = _param_names(new.logical)
            missing = [n for n in names if n not in snapshot]
            if missing:
                return f"parameter {missing[0]!r} has no value to restart with"
            state: dict[str, object] = {n: snapshot[n] for n in names}
        else:
            state = {
                n: v for n, v in snapshot.items()
                if n in new_locals and not n.startswith("__relive_")
            }
            for new_name, at in target.loops:
                asynchronous = new_name in target.async_loops
                iterator = valuestack.for_iterator(frame, at, asynchronous)
                if not _is_iterator(iterator, asynchronous):
                    return f"the loop around line {target.old_line} has no live iterator"
                state[new_name] = iterator
            for index, stack_index in enumerate(target.withs):
                state[with_local(index)] = reentered(valuestack.with_exit(frame, stack_index))
            handled = _handled(frame, target.handled)
            if isinstance(handled, str):
                return handled
            for index, exc in enumerate(handled):
                state[handled_local(index)] = (exc, exc.__traceback__)
            reads = self.reads.get(target)
            if reads is None:
                reads = self.reads[target] = target_reads(new, target)
            unbound = sorted(reads - state.keys())
            if unbound:
                return (f"the new code reads {unbound[0]!r} before assigning it, and the frame"
                        " has no value for it")
        continuation = self.continuation(target)
        if isinstance(continuation, str):
            return continuation
        if continuation.first_param and continuation.first_param not in state:
            return f"parameter {continuation.first_param!r} has no value"
        if restart:
            share = frozenset(new.freevars)
        else:
            share = frozenset(self.old.cellvars) | frozenset(self.old.freevars)
        return Go(target, state, continuation, share, frame.f_globals)

    def target_at(self, point: Point, line: int) -> ResumePoint | str:
        """Where a frame at ``point`` resumes if it is sent to ``line`` of the new version."""
        old_line = self.old.statements[point.path][0].lineno
        return resolve_target(self.old, point, {**self.line_map, old_line: line}, self.new)

    def target(self, point: Point) -> ResumePoint | str:
        """Where a frame at ``point`` resumes in the new version, or why it cannot."""
        if self.policy == "restart":
            return restart_target(self.new, self.old.statements[point.path][0].lineno)
        target = self.targets.get(point)
        if target is None:
            target = self.targets[point] = resolve_target(self.old, point, self.line_map, self.new)
        return target

    def continuation(self, target: ResumePoint) -> Continuation | str:
        """The compiled continuation at ``target`` (compiled once, for every frame)."""
        continuation = self.continuations.get(target)
        if continuation is None:
            try:
                continuation = build_continuation(self.new, target)
            except (SyntaxError, ValueError, RuntimeError) as exc:
                continuation = f"the continuation does not compile: {exc}"
            self.continuations[target] = continuation
        return continuation

    def prepare(self, frame: FrameType, layout: Layout) -> None:
        """Compile ahead, at scheduling time, the continuations a frame will most likely need:
        those of the remap points it can reach next. Then at the point it only has to move."""
        if self.policy == "stale":
            return
        for offset in layout.next_points(frame.f_lasti):
            target = self.target(layout.points[offset])
            if not isinstance(target, str):
                if target not in self.reads and self.policy != "restart":
                    self.reads[target] = target_reads(self.new, target)
                self.continuation(target)
