"""The runtime's public functions: track the program's modules, reload and apply.

``install()`` tracks the program's modules from the moment they are imported; ``reload()``
reads a module's file, computes the delta from its baseline and applies it; ``apply()``
applies a delta computed elsewhere. An apply is all or nothing and never raises for a refused
edit: it returns an :class:`~relive.runtime.result.ApplyResult` that says what happened and why.
``relive`` exports them (``relive.apply``); :mod:`relive.runtime` re-exports all but ``apply``,
which is the name of its subpackage :mod:`relive.runtime.apply`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from types import ModuleType

from relive.delta import Delta, GenerationMismatchError, compute_delta
from relive.runtime.apply.pipeline import (
    Prepared,
    apply_delta,
    compiler_for,
    prepare_delta,
    recompiler_for,
    refusal,
    told,
)
from relive.runtime.files import normalize
from relive.runtime.importhook import install as _install
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.runtime.result import ApplyResult

__all__ = ["apply", "install", "reload", "run_code", "tracked"]


def install(paths: Iterable[str | os.PathLike[str]] | None = None, enc: bool = True) -> None:
    """Track the program's own modules from now on (idempotent).

    By default every module imported from a ``.py`` file outside the standard library,
    site-packages and relive itself is tracked: its source is kept at import, and its
    baseline is made from it on first use. ``paths`` narrows tracking to files under those
    directories. Modules imported before the call are tracked from their current file.

    ``enc`` (the default) compiles tracked modules in EnC mode, so that frames running their
    code — a ``while True:`` loop in ``main()``, a suspended generator — move onto new code at
    their next statement. It costs nothing measurable at run time.
    """
    _install(None if paths is None else [os.fspath(p) for p in paths], enc)


def tracked(module: ModuleType | str) -> TrackedModule:
    """The tracked module for a module object, name or file; tracks it now if need be."""
    found = REGISTRY.get(module)
    if found is not None:
        return found
    if isinstance(module, str):
        import sys

        obj = sys.modules.get(module)
        if obj is None:
            raise ValueError(f"{module!r} is not a tracked module or an imported module name")
        module = obj
    filename = getattr(module, "__file__", None)
    if not isinstance(filename, str) or not filename.endswith(".py"):
        raise ValueError(f"module {module.__name__!r} has no Python source file to follow")
    found = REGISTRY.register(module, filename, None)
    found.verified = False
    return found


def reload(module: ModuleType | str, source: str | bytes | None = None,
           remap: str | None = None) -> ApplyResult:
    """Apply the module's file (or ``source``) to the live module.

    Reads the file, computes the delta from the module's baseline and applies it. Never
    raises for a refused edit (syntax error, rude edit, unreadable file): the result says why.
    A file that is empty while the module is not is refused, as ``relive run`` ignores it
    (editors that truncate before they write show an empty file for a moment); to empty a
    module, pass ``source=""``. ``remap`` is the policy for frames running replaced code:
    ``"next-statement"`` (move at their next statement), ``"restart"`` (run the function again
    from its first line with its current arguments) or ``"stale"`` (only new calls get the new
    code). Raises TypeError when ``source`` is neither text, bytes nor None.
    """
    if source is not None and not isinstance(source, (str, bytes)):
        raise TypeError(f"source must be str, bytes or None, not {type(source).__name__}")
    t = tracked(module)
    if source is None:
        read = _read_file(t)
        if isinstance(read, ApplyResult):
            return read
        source = read
    prepared = prepare_reload(t, source, remap)
    return prepared.commit() if isinstance(prepared, Prepared) else told(prepared)


def prepare_reload(t: TrackedModule, source: str | bytes,
                   remap: str | None = None) -> Prepared | ApplyResult:
    """The first phase of :func:`reload` with ``source``: the refusal, not yet told to
    observers, or the :class:`~relive.runtime.apply.pipeline.Prepared` apply, which holds the
    apply lock until it is committed or aborted (``relive run`` commits an edit only when every
    process of the program has prepared it)."""
    try:
        delta = compute_delta(t.baseline, source, recompile=recompiler_for(t, source))
        return prepare_delta(t, delta, remap, source_bytes=(
            source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")))
    except RecursionError:
        return refusal(t, None, ["the module is nested too deeply for relive to apply it "
                                 "(RecursionError); nothing was changed"], (), 0.0)


def _read_file(t: TrackedModule) -> bytes | ApplyResult:
    """The bytes of ``t``'s file, or the refusal that says why there are none to apply."""
    try:
        if not stat.S_ISREG(os.stat(t.filename).st_mode):
            return _refused(t, None, [f"{t.filename} is not a regular file"])
        with open(t.filename, "rb") as f:
            data = f.read()
    except OSError as exc:
        return _refused(t, None, [f"cannot read {t.filename}: {exc.strerror or exc}"])
    if looks_truncated(t, data):
        return _refused(t, None, [f"{t.filename} is empty; nothing was changed (to empty the "
                                  f"module, reload it with source='')"])
    return data


def _inconsistencies(t: TrackedModule, delta: Delta) -> list[str]:
    """What makes ``delta`` not a delta of ``t``'s live baseline (empty: it is one)."""
    base = t.baseline
    if delta.module_name != base.module_name:
        return [f"the delta is for module {delta.module_name!r}, not {base.module_name!r}"]
    if normalize(delta.filename) != normalize(base.filename):
        return [f"the delta is for {delta.filename}, not {base.filename}"]
    try:
        delta.check_base(base)
    except GenerationMismatchError as exc:
        return [str(exc)]
    nb = delta.next_baseline
    if nb is None:
        return []  # source errors: refused as such by the apply
    if (nb.generation, nb.module_name, nb.filename) != (
            base.generation + 1, base.module_name, base.filename):
        return [f"the delta's next baseline (generation {nb.generation} of "
                f"{nb.module_name!r}) does not follow generation {base.generation}"]
    again = compute_delta(base, nb.source)
    if again.edits != delta.edits or again.rude_edits != delta.rude_edits:
        return ["the delta's edits are not the ones from the live baseline to its next "
                "baseline; compute the delta again from the current baseline"]
    return []


def looks_truncated(t: TrackedModule, data: bytes) -> bool:
    """Is ``data``, just read from ``t``'s file, an empty file where the module is not (an
    editor that truncates before it writes shows one for a moment)? Such a read is not
    applied, by :func:`reload` nor by ``relive run``."""
    return not data.strip() and bool(t.baseline.source.strip())


def _refused(t: TrackedModule, delta: Delta | None, errors: list[str]) -> ApplyResult:
    return told(refusal(t, delta, errors, (), 0.0))


def apply(module: ModuleType | str, delta: Delta, remap: str | None = None) -> ApplyResult:
    """Apply a delta computed elsewhere (e.g. from :meth:`Delta.from_json`).

    The delta is checked against the module's live baseline before anything changes: its
    file, module and generation, and that its edits are the ones that lead from the live
    baseline to its next baseline (the delta engine computes them again and compares); a delta
    that fails a check is refused. Never raises for a refused delta."""
    t = tracked(module)
    try:
        problems = _inconsistencies(t, delta)
        if problems:
            return _refused(t, delta, problems)
        return apply_delta(t, delta, remap)
    except RecursionError:
        return _refused(t, delta, ["the module is nested too deeply for relive to apply it "
                                   "(RecursionError); nothing was changed"])


def run_code(module: ModuleType | str, line: int) -> dict[str, object]:
    """Run, once, the module-level statement at ``line`` of the module's current source.

    An apply never runs changed module-level code by itself (rude edit RL3001): running a
    call or a loop again would repeat its side effects, so that is the user's decision, and
    this is how to take it. The statement (a whole ``for`` or ``with`` block, say) runs in the
    module's namespace as it did at import, at its real lines, compiled the way the module
    is. Returns the module names it bound or rebound. Raises ValueError when ``line`` is not
    in a module-level statement, or is in a ``def`` or ``class`` (an apply updates those in
    place; running them again would make new objects), and whatever the statement raises.
    """
    from relive.delta import MODULE_PATH
    from relive.delta.units import compile_unit, region_unit, statement_at
    t = tracked(module)
    base = t.baseline
    scope = base.index[MODULE_PATH]
    found = statement_at(scope, line)
    if found is None or found.kind in ("def", "docstring", "future"):
        what = "no module-level statement" if found is None else f"a {found.kind} statement"
        raise ValueError(f"{t.filename}:{line}: {what}; run_code runs module-level code "
                         f"such as calls, loops, `with` blocks and assignments")
    first, last = scope.first + found.first, scope.first + found.last
    code = compile_unit(region_unit(base.lines, base.index, scope, first, last), base.filename,
                        base.future_flags, compiler_for(t, base.source))
    namespace = t.module.__dict__
    before = dict(namespace)
    exec(code, namespace)
    return {name: value for name, value in namespace.items()
            if name not in before or before[name] is not value}
