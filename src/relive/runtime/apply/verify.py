"""Checking a module tracked after its import against the file it will be edited from.

A module imported before ``relive.install()`` gets its baseline from its file as it is when
relive first needs it. If the file was edited in between, the running code differs from the
baseline and later deltas would be computed against the wrong text. The first apply therefore
compares every function of the module with the file's version and gives those that differ the
file's code, so that what runs and the baseline agree from then on.
"""

from __future__ import annotations

from relive.delta.units import deep_key, pick_codes
from relive.runtime.apply.live import definition_key, live_index, needs_heap
from relive.runtime.apply.transaction import Transaction
from relive.runtime.registry import TrackedModule


def verify(tracked: TrackedModule) -> list[str]:
    """Bring the module's functions in line with its file; return notes on what differed."""
    base = tracked.baseline
    tracked.verified = True
    try:
        unit = compile(base.source, base.filename, "exec", flags=base.future_flags,
                       dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return [f"{tracked.name}: its file no longer compiles ({exc}); edits are computed "
                f"from it as it is"]
    defs = [d for d in base.index.values()
            if d.kind == "function" and not needs_heap(base.index, d)]
    codes = pick_codes(unit, defs)
    live = live_index(tracked)
    live.scan()  # functions held only by other objects (a click command) are synced too
    live.ensure_built()
    txn = Transaction()
    synced = []
    for d in defs:
        code = codes.get(d.path)
        if code is None:
            continue
        for fn in live.functions(definition_key(d)):
            if deep_key(fn.__code__) != deep_key(code) and (
                    fn.__code__.co_freevars == code.co_freevars):
                txn.set(fn, "__code__", code)
                synced.append(d.path)
    if not synced:
        return []
    txn.commit()
    tracked.verified = False
    return [f"{tracked.name} was tracked after its import and its file had changed since: "
            f"{', '.join(dict.fromkeys(synced))} now run the file's code"]
