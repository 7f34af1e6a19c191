"""The pipeline of an apply: check, plan, commit, then what follows the commit.

An apply has three steps, and only the last one is visible to the program:

1. *check*: the delta must be for this module's current baseline, without source errors or
   error-severity rude edits;
2. *plan*: compile the new code (compile units of the next baseline), find the live objects
   of every edited definition (:mod:`relive.runtime.apply.live`), run what must run — new
   definitions with their decorators, new values, new imports — in scratch namespaces
   (:mod:`relive.runtime.apply.scratch`), and note each change as an attribute assignment;
3. *commit*: make all the assignments at once (:mod:`relive.runtime.apply.transaction`).

Anything that fails before the commit leaves the program exactly as it was; a failure during
the commit restores every value. New module-level code runs during the plan, against the
program as it is: that is when a failing import or a raising decorator refuses the apply.
After the commit: instances migrated, frames still running replaced code reported and
scheduled to move (:mod:`relive.runtime.remap`), update handlers and observers told.
"""

from __future__ import annotations

import ast
import copy
import time
from collections.abc import Callable, Iterable
from types import CodeType

from relive.delta import (
    Baseline,
    Delta,
    GenerationMismatchError,
    RudeEdit,
)
from relive.delta.units import Compiler, Recompiler
from relive.runtime import events
from relive.runtime.apply import module_frames
from relive.runtime.apply.plan import Plan, Refused
from relive.runtime.apply.scratch import EvaluationError
from relive.runtime.apply.stale import stale_frames
from relive.runtime.enc import definition_paths, fallback_rude_edits
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.remap import schedule
from relive.runtime.result import ApplyResult


def enc_compiler(source: str | ast.Module, filename: str, flags: int) -> CodeType:
    from relive.runtime.enc import enc_compile

    return enc_compile(source, filename, flags=flags)


def enc_recompile(tree: ast.Module, plain: CodeType, filename: str, flags: int) -> CodeType:
    """EnC code for a unit the delta engine parsed and compiled (its tree is transformed)."""
    from relive.runtime.enc import enc_compile_with_trees

    return enc_compile_with_trees(tree, filename, flags, plain=plain)[0]


def compiler_for(tracked: TrackedModule, source: str) -> Compiler | None:
    """How an apply compiles ``tracked``'s new code: None (plainly), in EnC mode, and through
    the module's source transform when it has one (``source``: the new source text)."""
    transform = tracked.transform
    if transform is None:
        return enc_compiler if tracked.enc else None
    enc = tracked.enc

    def compiler(unit: str | ast.Module, filename: str, flags: int) -> CodeType:
        tree = ast.parse(unit, filename) if isinstance(unit, str) else copy.deepcopy(unit)
        tree = transform(tree, unit if isinstance(unit, str) else source)
        if enc:
            return enc_compiler(tree, filename, flags)
        code: CodeType = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
        return code

    return compiler


def recompiler_for(tracked: TrackedModule, source: str | bytes) -> Recompiler | None:
    """What the delta engine compiles ``tracked``'s new code again with (see
    :func:`compiler_for`): None when the plain code it made is what runs."""
    if tracked.transform is None:
        return enc_recompile if tracked.enc else None
    text = source if isinstance(source, str) else source.decode("utf-8", "replace")
    compiler = compiler_for(tracked, text)
    assert compiler is not None
    return lambda tree, _plain, filename, flags: compiler(tree, filename, flags)


def apply_delta(tracked: TrackedModule, delta: Delta, remap: str | None = None,
                source_bytes: bytes | None = None) -> ApplyResult:
    """Apply ``delta`` to ``tracked``; see :func:`relive.apply`.

    A module compiled in EnC mode gets its new code in EnC mode too, and the frames still
    running replaced code are scheduled to move to it (``remap``: the policy, by default the
    session's). ``source_bytes``, the bytes the delta's new side was read from, become the
    module's in the same commit as its code and baseline.
    """
    attempt = _Attempt()
    with REGISTRY.apply_lock:
        try:
            found = _prepare_locked(tracked, delta, remap, source_bytes, attempt)
            if isinstance(found, Prepared):
                found = found.committed()
        except BaseException:
            attempt.undo()
            raise
    return told(found)


def prepare_delta(tracked: TrackedModule, delta: Delta, remap: str | None = None,
                  source_bytes: bytes | None = None) -> Prepared | ApplyResult:
    """The first phase of an apply: check and plan ``delta`` (see the module docstring).

    Returns the refusal (not yet told to observers) when the delta cannot be applied, or a
    :class:`Prepared` apply that holds the apply lock until it is committed or aborted: an
    apply to several processes commits only when every process has prepared it."""
    attempt = _Attempt()
    REGISTRY.apply_lock.acquire()
    try:
        found = _prepare_locked(tracked, delta, remap, source_bytes, attempt)
    except BaseException:
        attempt.undo()
        REGISTRY.apply_lock.release()
        raise
    if not isinstance(found, Prepared):
        REGISTRY.apply_lock.release()
    return found


class _Attempt:
    """How far an apply got, for the caller that must undo it when an exception (a
    KeyboardInterrupt between two bytecodes) cuts it short: before its commit began, what
    the plan bound in the live module is withdrawn; from then on, the commit undoes itself."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.committing = False

    def undo(self) -> None:
        if self.plan is not None and not self.committing:
            self.plan.ev.withdraw()


def told(result: ApplyResult) -> ApplyResult:
    """``result``, told to update handlers and observers (:func:`events.emit`)."""
    events.emit(result)
    return result


def refusal(tracked: TrackedModule, delta: Delta | None, errors: Iterable[str],
             rude: Iterable[RudeEdit], start: float) -> ApplyResult:
    return ApplyResult(tracked.name, tracked.filename, False, tracked.generation, delta,
                       tuple(rude), tuple(errors), duration_s=time.perf_counter() - start)


def _committed_names(plan: Plan) -> Callable[[str], bool]:
    """Is a name one the commit set in the live module?"""
    return {n for o, n, _ in plan.txn.sets if o is plan.module}.__contains__


def _prepare_locked(tracked: TrackedModule, delta: Delta, remap: str | None,
                    source_bytes: bytes | None, attempt: _Attempt) -> Prepared | ApplyResult:
    start = time.perf_counter()
    compiler = compiler_for(tracked, delta.next_baseline.source
                            if delta.next_baseline is not None else "")
    rude = list(delta.rude_edits)
    try:
        delta.check_base(tracked.baseline)
    except GenerationMismatchError as exc:
        return refusal(tracked, delta, [str(exc)], rude, start)
    if delta.errors or delta.next_baseline is None:
        return refusal(tracked, delta, [str(e) for e in delta.errors], rude, start)
    blocking = [r for r in rude if r.is_error]
    if blocking:
        return refusal(tracked, delta, [f"{r.code} line {r.lineno}: {r.message}"
                                         for r in blocking], rude, start)
    notes: list[str] = []
    if tracked.verified is False:
        from relive.runtime.apply.verify import verify

        notes = verify(tracked)
    plan = attempt.plan = Plan(tracked, delta, compiler)
    plan.warnings.extend(notes)
    # From the plan's first scratch binding to the end of the commit, any failure — a refusal,
    # new code raising, a relive bug, a KeyboardInterrupt between two bytecodes — withdraws
    # what the scratch evaluation bound in the live module (here, or by the caller through
    # ``attempt``), and the commit undoes itself.
    try:
        plan.build()
        rude += plan.rude
        if tracked.enc:  # functions the EnC safety net compiled plainly (RL5002)
            rude += fallback_rude_edits(plan.new_codes, plan.new_objects,
                                        definition_paths(plan.new.index))
    except Refused as exc:
        plan.ev.withdraw()
        return refusal(tracked, delta, [exc.reason], [*rude, *exc.rude], start)
    except EvaluationError as exc:
        plan.ev.withdraw()
        return refusal(tracked, delta, [f"new code raised while it ran: {exc}"], rude, start)
    return Prepared(tracked, delta, plan, rude, start, remap, source_bytes, attempt)


class Prepared:
    """An apply checked and planned, not yet visible to the program: :meth:`commit` makes it
    so, :meth:`abort` withdraws it. Holds the apply lock (taken by :func:`prepare_delta`)
    until one of them is called, from the thread that prepared it."""

    def __init__(self, tracked: TrackedModule, delta: Delta, plan: Plan, rude: list[RudeEdit],
                 start: float, remap: str | None, source_bytes: bytes | None,
                 attempt: _Attempt) -> None:
        self.tracked = tracked
        self.delta = delta
        self.plan = plan
        self.rude = rude
        self.start = start
        self.remap = remap
        self.source_bytes = source_bytes
        self._attempt = attempt
        self._done = False

    def abort(self, reason: str) -> ApplyResult:
        """Withdraw the prepared apply (another process refused it); the refusal, told."""
        self._finish()
        self.plan.ev.withdraw()
        return told(refusal(self.tracked, self.delta, [reason], self.rude, self.start))

    def _finish(self) -> None:
        if self._done:
            raise RuntimeError("this apply was already committed or aborted")
        self._done = True
        REGISTRY.apply_lock.release()

    def commit(self) -> ApplyResult:
        """Make the apply visible, then do what follows it; the result, told."""
        try:
            result = self.committed()
        finally:
            self._finish()
        return told(result)

    def committed(self) -> ApplyResult:
        """Make the apply visible and do what follows it (the apply lock held); the result,
        not yet told."""
        tracked, delta, plan, rude, start = (self.tracked, self.delta, self.plan, self.rude,
                                             self.start)
        self._attempt.committing = True
        try:
            # the module's baseline (and the bytes it was read from) change in the same
            # commit as its live objects: nothing can leave one behind the other
            old_baseline = tracked.baseline
            plan.txn.set(tracked, "_baseline", delta.next_baseline)
            if self.source_bytes is not None:
                plan.txn.set(tracked, "source_bytes", self.source_bytes)
            plan.txn.commit()
        except BaseException as exc:
            if plan.txn.committed:  # interrupted just after the commit: the apply stands
                plan.ev.settle(_committed_names(plan))
                raise
            plan.ev.withdraw()
            if isinstance(exc, Exception) and plan.txn.attempted:
                return refusal(tracked, delta, [f"the commit failed and was undone: {exc!r}"],
                               rude, start)
            raise
        return _after_commit(tracked, delta, plan, rude, start, old_baseline, self.remap)


def _after_commit(tracked: TrackedModule, delta: Delta, plan: Plan, rude: list[RudeEdit],
                  start: float, old_baseline: Baseline, remap: str | None) -> ApplyResult:
    assert delta.next_baseline is not None
    if plan.ev.prebound:
        plan.ev.settle(_committed_names(plan))
    tracked.note_replaced(code for code, _path in plan.old_codes.values())
    warnings = list(plan.warnings)
    for action in plan.txn.after:
        try:
            action()
        except Exception as exc:  # the apply stands; say what did not follow
            warnings.append(f"after the apply: {type(exc).__name__}: {exc}")
    plan.reindex()
    stale = (*stale_frames(plan.old_codes),
             *module_frames.follow(tracked, old_baseline, delta.next_baseline))
    scheduled = None
    try:
        scheduled = schedule.schedule(plan.remap, old_baseline, delta.next_baseline, delta,
                                      remap, events.notify_observers)
    except Exception as exc:  # the apply stands; the frames stay stale
        warnings.append(f"running frames could not be scheduled to move: {exc!r}")
    return ApplyResult(
        tracked.name, tracked.filename, True, tracked.generation, delta, tuple(rude), (),
        stale, tuple(dict.fromkeys(plan.updated)),
        tuple(dict.fromkeys(plan.inserted)), tuple(dict.fromkeys(plan.deleted)),
        tuple(dict.fromkeys(plan.replaced)), tuple(warnings), time.perf_counter() - start,
        remap=scheduled, new_code=tuple(plan.new_codes))
