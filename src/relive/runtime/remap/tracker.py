"""Remap: move active frames onto the new version of their function.

The runtime calls :func:`schedule_remap` after an apply has installed new code objects. For
each updated function it passes a :class:`RemapItem`: the old and the new code object, a
compile unit for each (source text that compiles the function at its real lines in its real
nesting; the module's whole source will do), and the delta's line map (old line -> new line,
``None`` for a deleted line). Then:

1. The active frames are found: every thread's stack (``sys._current_frames()``, following
   ``f_back``), plus, on 3.11 only, the suspended generators, coroutines and async generators
   of the old code (``gc.get_referrers`` on the old code, once, because a 3.11 frame only gets
   line events while its thread is traced, and the threads must be traced while such a frame
   exists). On 3.12+ suspended ones need no search: their code is instrumented, and they take
   their opportunity when they resume. Frames of continuations built by earlier remaps of the
   old version are found too (they run the old version).
2. The old code objects get line events (:mod:`relive.runtime.remap.hooks`).
3. At each line event of a stale frame that is a remap point of its code
   (:mod:`relive.runtime.remap.layout`), the frame's current statement is mapped to the new
   version (:mod:`relive.runtime.remap.continuation`). If the frame can move, a
   :class:`~relive.runtime.enc.signal.RemapSignal` is raised into it; its own remap handler
   catches it and hands over to the continuation. Otherwise it waits for the next point.
4. Events report what happened to each frame, from the frame's own thread:
   :class:`RemapOpportunity` (first statement boundary reached), :class:`RemapDeferred` (a
   boundary where it cannot move, and why; once per reason), :class:`Remapped`, and
   :class:`LeftStale` (and why).

Policies: ``"next-statement"`` (the default; above), ``"restart"`` (at the first remap point,
re-run the new version from its first line with the current values of its parameters), and
``"stale"`` (nothing moves; only new calls run new code).

Invariants: nothing here prints; a frame moves only at a point where its own handler catches
the signal, or, inside a user ``try`` or ``with``, by a jump to its trailer that runs none of
their code (a ``with``'s exit goes along to the continuation); a frame that cannot move keeps
running the old code exactly as before; instrumentation exists only while stale frames may exist.
"""

from __future__ import annotations

import collections
import gc
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import CellType, CodeType, FrameType
from typing import Any

from relive._cpython.tracing import HAS_MONITORING
from relive.runtime.enc import FunctionNode, RemapSignal, code_kind, drop_pending, set_pending
from relive.runtime.remap.continuation import (
    FunctionVersion,
    UnitMismatchError,
    derived_codes,
    load_version,
    make_runner,
    unalias,
)
from relive.runtime.remap.events import (
    EventSink,
    FrameInfo,
    LeftStale,
    RemapDeferred,
    RemapEvent,
    RemapItem,
    RemapOpportunity,
    Remapped,
    RemapPolicy,
)
from relive.runtime.remap.hooks import Hooks, make_hooks
from relive.runtime.remap.layout import Layout, compute_layout
from relive.runtime.remap.plan import Chooser, Go, Plan

__all__ = ["RemapSchedule", "has_stale_code", "remap_here", "running_source",
           "schedule_remap"]

class RemapSchedule:
    """What :func:`schedule_remap` found, and a way to wait for it to settle."""

    def __init__(self, condition: threading.Condition) -> None:
        self.frames: tuple[FrameInfo, ...] = ()  # the frames found running when scheduled
        self._condition = condition
        self._pending: set[int] = set()

    def _resolve(self, frame_id: int) -> None:
        self._pending.discard(frame_id)

    def pending(self) -> int:
        """How many of ``frames`` are still running the old code and waiting to move."""
        with self._condition:
            return len(self._pending)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every frame found running has moved, finished or been left stale.

        Suspended generators and coroutines do not count: they move when they resume, which
        may be never. Returns False on time-out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            _TRACKER.prune()  # finished frames are only noticed by pruning
            with self._condition:
                if not self._pending:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(0.05 if remaining is None else min(remaining, 0.05))

    def cancel(self) -> None:
        """Stop waiting: every frame of this schedule that has not moved stays stale."""
        _TRACKER.cancel(self)


@dataclass(eq=False)
class _StaleCode:
    code_ref: weakref.ref[CodeType]
    plan: Plan
    layout: Layout
    generator: bool
    frames: int = 0  # tracked frames running it


@dataclass(eq=False)
class _FrameState:
    info: FrameInfo
    stale: _StaleCode
    opportunity_seen: bool = False
    last_reason: str | None = None
    reasons: set[str] = field(default_factory=set)  # deferral reasons already reported
    suspended: bool = False
    generator_ref: weakref.ref[Any] | None = None


@dataclass(frozen=True)
class _Movable:
    code: CodeType
    tree: FunctionNode | None
    plan: Plan | None
    problem: str | None  # why its frames cannot move at all


def _frame_info(frame: FrameType, thread_id: int | None) -> FrameInfo:
    code = frame.f_code
    return FrameInfo(code.co_qualname, code.co_filename, id(frame), thread_id, code_kind(code))


class _Tracker:
    """All stale code, tracked frames and instrumentation of the process (one instance)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.condition = threading.Condition(self.lock)
        self.stale: dict[int, _StaleCode] = {}
        self.frames: dict[FrameType, _FrameState] = {}
        self.hooks: Hooks = make_hooks(self.on_line, self.on_exit)
        self.versions: dict[int, tuple[weakref.ref[CodeType], str, FunctionVersion]] = {}
        # the last exceptions raised by event sinks (never propagated: see _emit)
        self.sink_errors: collections.deque[tuple[RemapEvent, Exception]] = collections.deque(
            maxlen=16)

    # -- scheduling -----------------------------------------------------------------------------

    def version(self, code: CodeType, unit: str) -> FunctionVersion:
        cached = self.versions.get(id(code))
        if cached is not None and cached[0]() is code and cached[1] == unit:
            return cached[2]
        version = load_version(code, unit)
        self.versions[id(code)] = (weakref.ref(code), unit, version)
        weakref.finalize(code, self.versions.pop, id(code), None)
        return version

    def schedule(
        self, items: Iterable[RemapItem], policy: RemapPolicy, on_event: EventSink | None,
        chooser: Chooser | None = None,
    ) -> RemapSchedule:
        self.prune()
        events: list[tuple[EventSink | None, RemapEvent]] = []
        with self.lock:
            candidates: dict[int, _Movable] = {}
            schedule = RemapSchedule(self.condition)
            for item in items:
                try:
                    old = self.version(item.old_code, item.old_unit)
                    new = self.version(item.new_code, item.new_unit)
                except UnitMismatchError as exc:
                    candidates[id(item.old_code)] = _Movable(item.old_code, None, None, str(exc))
                    continue
                problem: str | None = None
                if old.kind != new.kind:
                    problem = f"the edit turned a {old.kind} into a {new.kind}"
                elif policy == "stale":
                    problem = "the remap policy is 'stale'"
                plan = Plan(old, new, dict(item.line_map), policy, on_event, schedule,
                            chooser=chooser if item.ask else None)
                self._retarget(item, new)
                for code, tree in [(item.old_code, old.compiled), *derived_codes(item.old_code)]:
                    candidates[id(code)] = _Movable(code, tree, plan, problem)
            infos: list[FrameInfo] = []
            for frame, thread_id, generator in self._find_frames(candidates):
                candidate = candidates[id(frame.f_code)]
                info = _frame_info(frame, thread_id)
                problem = candidate.problem
                stale: _StaleCode | None = None
                if candidate.plan is not None and candidate.tree is not None and not problem:
                    stale = self._stale_entry(candidate.code, candidate.tree, candidate.plan)
                    if stale.layout.reason:
                        problem = f"no remap point: {stale.layout.reason}"
                problem = problem or (self.hooks.watch(frame) if stale is not None else None)
                if stale is None or problem:
                    events.append((on_event, LeftStale(info, frame.f_lineno, problem or "")))
                    continue
                state = _FrameState(info, stale)
                if generator is not None:
                    state.suspended = True
                    state.generator_ref = weakref.ref(generator, self._generator_gone(frame))
                self.frames[frame] = state
                stale.frames += 1
                if thread_id is not None:
                    infos.append(info)
            # 3.12+: suspended generators of the old code find their own way when they resume
            if HAS_MONITORING:
                for candidate in candidates.values():
                    if (
                        candidate.plan is not None
                        and candidate.tree is not None
                        and not candidate.problem
                        and code_kind(candidate.code) != "function"
                    ):
                        self._stale_entry(candidate.code, candidate.tree, candidate.plan)
            schedule.frames = tuple(infos)
            schedule._pending = {info.frame_id for info in infos}
            for entry in list(self.stale.values()):
                events.extend(self._instrument_or_release(entry))
            # Prepare only now that the code is instrumented: from here on a frame can run at
            # most to its next remap point, where it waits for this lock; so the points found
            # from where it stands now include the one it will stop at.
            for frame, state in list(self.frames.items()):
                if state.stale.plan.schedule is schedule:
                    try:
                        state.stale.plan.prepare(frame, state.stale.layout)
                    except Exception:  # only an optimization: the frame decides at its point
                        pass
            self._maybe_idle()
        self._emit(events)
        return schedule

    def _retarget(self, item: RemapItem, new: FunctionVersion) -> None:
        """Frames still waiting to move to ``item.old_code``'s version go straight to the new."""
        for entry in list(self.stale.values()):  # a code freed meanwhile leaves it
            plan = entry.plan
            if plan.new.code is item.old_code and plan.new is not new:
                plan.line_map = {
                    old: (item.line_map.get(mid) if mid is not None else None)
                    for old, mid in plan.line_map.items()
                }
                plan.new = new
                plan.revisions.append(dict(item.line_map))
                plan.targets.clear()
                plan.reads.clear()
                plan.continuations.clear()

    def _stale_entry(self, code: CodeType, tree: FunctionNode, plan: Plan) -> _StaleCode:
        entry = self.stale.get(id(code))
        if entry is not None and entry.code_ref() is code:
            if entry.plan is not plan:
                entry.plan = plan
            return entry
        key = id(code)
        entry = _StaleCode(
            weakref.ref(code, lambda _ref: self._code_gone(key)),
            plan,
            compute_layout(code, tree),
            code_kind(code) != "function",
        )
        self.stale[key] = entry
        return entry

    def _code_gone(self, key: int) -> None:
        with self.lock:
            self.stale.pop(key, None)
            self._maybe_idle()

    def _find_frames(
        self, candidates: Mapping[int, _Movable]
    ) -> list[tuple[FrameType, int | None, object | None]]:
        found: list[tuple[FrameType, int | None, object | None]] = []
        seen: set[int] = set()
        for thread_id, top in sys._current_frames().items():
            frame: FrameType | None = top
            while frame is not None:
                if id(frame.f_code) in candidates and frame not in self.frames:
                    found.append((frame, thread_id, None))
                    seen.add(id(frame))
                frame = frame.f_back
        if not HAS_MONITORING:
            for candidate in candidates.values():
                code = candidate.code
                if code_kind(code) == "function":
                    continue
                for holder in gc.get_referrers(code):
                    inner = getattr(holder, "gi_frame", None) or getattr(holder, "cr_frame", None)
                    inner = inner or getattr(holder, "ag_frame", None)
                    if (
                        isinstance(inner, FrameType)
                        and inner.f_code is code
                        and id(inner) not in seen
                        and inner not in self.frames
                    ):
                        found.append((inner, None, holder))
        return found

    def _generator_gone(self, frame: FrameType) -> Callable[[object], None]:
        frame_ref = [frame]

        def gone(_ref: object) -> None:
            events: list[tuple[EventSink | None, RemapEvent]] = []
            with self.lock:
                state = self.frames.get(frame_ref[0])
                if state is not None and state.generator_ref is not None:
                    self._untrack(frame_ref[0], state)
                    events.append((state.stale.plan.on_event, LeftStale(
                        state.info, None, "the generator was collected before it resumed")))
                frame_ref.clear()
            self._emit(events)

        return gone

    # -- bookkeeping ------------------------------------------------------------------------------

    def _instrument_or_release(
        self, entry: _StaleCode
    ) -> list[tuple[EventSink | None, RemapEvent]]:
        code = entry.code_ref()
        if code is None:
            return []
        wanted = entry.frames > 0 or (entry.generator and HAS_MONITORING)
        if not wanted or entry.layout.reason:
            self.hooks.release(code)
            return []
        problem = self.hooks.instrument(code)
        if problem is None:
            return []
        events: list[tuple[EventSink | None, RemapEvent]] = []
        entry.generator = False
        for frame, state in list(self.frames.items()):
            if state.stale is entry:
                self._untrack(frame, state)
                events.append((entry.plan.on_event, LeftStale(state.info, frame.f_lineno, problem)))
        return events

    def _untrack(self, frame: FrameType, state: _FrameState) -> None:
        if self.frames.pop(frame, None) is None:
            return
        self.hooks.unwatch(frame)
        state.stale.frames -= 1
        state.stale.plan.schedule._resolve(state.info.frame_id)
        self.condition.notify_all()
        if state.stale.frames == 0:
            self._instrument_or_release(state.stale)  # releases: it cannot fail
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if self.frames:
            return
        if HAS_MONITORING and any(
            e.generator and e.code_ref() is not None for e in list(self.stale.values())
        ):
            return
        self.hooks.idle()

    def prune(self) -> None:
        """Notice frames that finished without an event (an exception on 3.12+)."""
        events: list[tuple[EventSink | None, RemapEvent]] = []
        with self.lock:
            if not self.frames:
                return
            running: set[int] = set()
            for top in sys._current_frames().values():
                frame: FrameType | None = top
                while frame is not None:
                    running.add(id(frame))
                    frame = frame.f_back
            for frame, state in list(self.frames.items()):
                if id(frame) in running or state.suspended:
                    continue
                if state.stale.generator:
                    state.suspended = True  # it yielded (3.11 reports that; this is a backstop)
                    self._release_suspended(frame, state)
                    continue
                self._untrack(frame, state)
                reason = state.last_reason or "the frame finished before a remap point"
                events.append((state.stale.plan.on_event, LeftStale(state.info, None, reason)))
        self._emit(events)

    def _release_suspended(self, frame: FrameType, state: _FrameState) -> None:
        """On 3.12+ a suspended generator's frame is not held: it is adopted again when it
        resumes. (Holding it would keep its locals alive if the generator were dropped.)"""
        if HAS_MONITORING and state.generator_ref is None:
            self._untrack(frame, state)

    def cancel(self, schedule: RemapSchedule) -> None:
        events: list[tuple[EventSink | None, RemapEvent]] = []
        with self.lock:
            for frame, state in list(self.frames.items()):
                if state.stale.plan.schedule is schedule:
                    self._untrack(frame, state)
                    events.append((state.stale.plan.on_event,
                                   LeftStale(state.info, frame.f_lineno, "cancelled")))
            for entry in list(self.stale.values()):
                if entry.plan.schedule is schedule:
                    entry.frames = 0
                    entry.generator = False
                    self._instrument_or_release(entry)  # releases: it cannot fail
                    self.stale.pop(id(entry.code_ref()), None)
            self._maybe_idle()
        self._emit(events)

    def _emit(self, events: list[tuple[EventSink | None, RemapEvent]]) -> None:
        # Sinks run in the frame's own thread, inside its line event: an exception escaping
        # here would surface in the user's code as if their statement had raised it. So it is
        # kept (see `sink_errors`) instead of raised.
        for sink, event in events:
            if sink is not None:
                try:
                    sink(event)
                except Exception as exc:
                    self.sink_errors.append((event, exc))

    # -- at a line event of a stale frame -----------------------------------------------------

    def on_line(self, frame: FrameType, code: CodeType) -> None:
        entry = self.stale.get(id(code))
        if entry is None:
            return
        point = entry.layout.points.get(frame.f_lasti)
        if point is None:
            return
        events: list[tuple[EventSink | None, RemapEvent]] = []
        signal: RemapSignal | None = None
        with self.lock:
            if entry.code_ref() is not code:
                return
            state = self.frames.get(frame)
            if state is None:  # a suspended generator resuming, or a frame started late
                state = _FrameState(_frame_info(frame, threading.get_ident()), entry)
                self.frames[frame] = state
                entry.frames += 1
            state.suspended = False
            plan = entry.plan
            sink = plan.on_event
            old_line = plan.old.statements[point.path][0].lineno
            if not state.opportunity_seen:
                state.opportunity_seen = True
                events.append((sink, RemapOpportunity(state.info, old_line)))
            chosen: int | None = None
            if plan.chooser is not None and plan.policy != "restart":
                target = plan.target(point)
                if not isinstance(target, str):
                    chosen = target.new_line
        if chosen is not None and plan.chooser is not None:
            # Ask where to continue (a debugger's user may take a while): outside the lock,
            # so that other threads' frames go on meanwhile.
            self._emit(events)
            events = []
            valid = tuple(sorted(plan.new.by_line))
            asked, chosen_before = len(plan.revisions), chosen
            try:
                answer = plan.chooser(frame, old_line, chosen, valid)
            except Exception:
                answer = chosen
            if answer is None:
                with self.lock:
                    state = self.frames.get(frame)
                    if state is None:
                        return
                    self._untrack(frame, state)
                self._emit([(sink, LeftStale(state.info, old_line,
                                             "the debugger's user kept the old code"))])
                return
            chosen = answer
            if len(plan.revisions) != asked:
                # edited again while the user was asked: the mapped line is the newest
                # mapping's (None below), a line the user chose follows its statement
                chosen = None if answer == chosen_before else plan.carry(answer, asked)
        with self.lock:
            state = self.frames.get(frame)
            if state is None:
                return
            try:
                decision = plan.decide(point, frame, chosen)
            except Exception as exc:  # a relive bug must not break the user's program
                self._untrack(frame, state)
                reason = f"internal error while remapping: {type(exc).__name__}: {exc}"
                events.append((sink, LeftStale(state.info, old_line, reason)))
                decision = None
            if decision is None:
                pass
            elif isinstance(decision, str):
                state.last_reason = decision
                if decision not in state.reasons:
                    state.reasons.add(decision)
                    events.append((sink, RemapDeferred(state.info, old_line, decision)))
            else:
                signal = self._signal(frame, decision)
                problem = None
                if point.jump:  # inside a try or with: leave them by a jump, not the signal
                    signal = None
                    problem = _jump(frame, entry.layout.landing)
                self._untrack(frame, state)
                if problem is not None:
                    drop_pending(frame)
                    events.append((sink, LeftStale(state.info, old_line, problem)))
                else:
                    events.append((sink, Remapped(state.info, old_line,
                                                  decision.target.new_line,
                                                  plan.policy == "restart")))
        self._emit(events)
        if signal is not None:
            raise signal

    def _signal(self, frame: FrameType, go: Go) -> RemapSignal:
        hooks = self.hooks
        previous_trace = sys.gettrace()  # 3.11 drops it when the signal leaves the tracer
        if hooks.owns(previous_trace):
            previous_trace = None

        def start(capture: Callable[[], object] | None) -> Callable[[], object]:
            cells: dict[str, CellType] = {}
            if capture is not None and capture.__closure__ is not None:
                cells = dict(zip(capture.__code__.co_freevars, capture.__closure__, strict=True))
            runner = make_runner(go.continuation, go.globals_, go.state, cells, go.share)
            if previous_trace is not None and sys.gettrace() is None:
                sys.settrace(previous_trace)
            hooks.after_signal(bool(self.frames))
            return runner

        set_pending(frame, start)
        return RemapSignal()

    def on_exit(self, frame: FrameType, code: CodeType, suspended: bool) -> None:
        state = self.frames.get(frame)
        if state is None:
            return
        events: list[tuple[EventSink | None, RemapEvent]] = []
        with self.lock:
            if self.frames.get(frame) is not state:
                return
            if suspended:
                state.suspended = True
                self._release_suspended(frame, state)
            else:
                self._untrack(frame, state)
                reason = state.last_reason or "the frame finished before a remap point"
                events.append((state.stale.plan.on_event,
                               LeftStale(state.info, frame.f_lineno, reason)))
        self._emit(events)


def _jump(frame: FrameType, landing: int | None) -> str | None:
    """Send ``frame`` (in its own line event) to its code's landing line, from where its
    trailer runs the continuation: every ``try`` and ``with`` around it is left without
    running its code (a with's exit is carried by the continuation). Why not, if it fails."""
    if landing is None:
        return "the code has no landing line"
    try:
        # 3.12+ binds None to the frame's unbound locals, with a RuntimeWarning that is
        # not the program's to see: the frame only runs its trailer from there, which reads
        # none of them (its state was taken already)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            frame.f_lineno = landing  # type: ignore[misc]  # settable in a line event
    except (ValueError, RuntimeWarning) as exc:
        return f"the frame could not be moved to its trailer: {exc}"
    return None


_TRACKER = _Tracker()


def schedule_remap(
    items: Iterable[RemapItem],
    policy: RemapPolicy = "next-statement",
    on_event: EventSink | None = None,
    chooser: Chooser | None = None,
) -> RemapSchedule:
    """Arrange for the active frames of the items' old code to move to the new code.

    Call it after the new code objects are installed (``function.__code__ = new``), from any
    thread. It returns at once; frames move at their next remap point, in their own threads.
    ``on_event`` is called from those threads (and from this one, for frames left stale at
    once) and must not block. Raises nothing for frames that cannot move: they are reported
    with :class:`LeftStale`. ``chooser`` (a debugger) is asked, on the frame's thread, where
    each frame should continue; by default it continues at the mapped line.
    """
    return _TRACKER.schedule(items, policy, on_event, chooser)


def remap_here(frame: FrameType) -> None:
    """Give ``frame`` its remap opportunity at the statement it stands before, now.

    For a frame held in a line event of its own (a debugger's breakpoint or step) while an
    apply made its code stale: that line event was under way before the code was
    instrumented, so the frame's next opportunity would come one statement late. Call it on
    the frame's thread, inside that line event, as the frame goes on. It does what the
    frame's own remap event would do there, and may raise the remap signal into the frame
    (let it propagate) or move the frame by a jump. Nothing happens for a frame that is not
    waiting to move (one the user already kept on the old code, say) or not at a remap
    point."""
    if id(frame.f_code) not in _TRACKER.stale or frame not in _TRACKER.frames:
        return
    _TRACKER.on_line(frame, frame.f_code)


def running_source(code: CodeType) -> str | None:
    """The source text ``code`` was compiled from, at its real lines, if it is a version a
    remap knows (the old code of a frame that was running when an edit replaced it): what
    a debugger shows for a stale frame. None when unknown."""
    code = unalias(code)  # a debugger's entry-hooked copy runs its base's text
    with _TRACKER.lock:
        cached = _TRACKER.versions.get(id(code))
        if cached is not None and cached[0]() is code:
            return cached[1]
    return None


def has_stale_code() -> bool:
    """Is any code still waiting for frames to move off it (from an earlier schedule)?"""
    with _TRACKER.lock:
        return bool(_TRACKER.stale)
