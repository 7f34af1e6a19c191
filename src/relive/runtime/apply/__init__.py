"""Applying a delta to a live module: plan every change, then commit them all at once.

- :mod:`~relive.runtime.apply.pipeline` — the steps of
  :func:`~relive.runtime.apply.pipeline.apply_delta`: check the delta, plan, commit, then what
  follows the commit (instances migrated, stale frames reported, frames scheduled to move,
  observers told).
- :mod:`~relive.runtime.apply.plan` — the plan: for each edit, through a table of every pair of
  edit kind and target, new code compiled, live objects found, new source evaluated, every
  change noted as an attribute assignment.
- :mod:`~relive.runtime.apply.live` and :mod:`~relive.runtime.apply.heap` — the live index:
  every function object running a definition's code, wherever it is held.
- :mod:`~relive.runtime.apply.scratch` — new source run in scratch namespaces against the live
  module, without changing it; :mod:`~relive.runtime.apply.scopes` — what the plan knows of
  the scopes it changes; :mod:`~relive.runtime.apply.branches` — which branch of a conditional
  block ran; :mod:`~relive.runtime.apply.scope_annotations` — annotations as a fresh import's.
- :mod:`~relive.runtime.apply.transaction` — the commit: all assignments in one call into C.
- :mod:`~relive.runtime.apply.stale` and :mod:`~relive.runtime.apply.module_frames` — frames
  that still run replaced code, and running module bodies given their moved lines.
- :mod:`~relive.runtime.apply.verify` — a module tracked after its import checked against its
  file.
- :mod:`~relive.runtime.apply.migration` — instances of a class whose instance state changed;
  :mod:`~relive.runtime.apply.holders` — other modules that hold a deleted definition by name;
  :mod:`~relive.runtime.apply.codetools` — small operations on code objects.
"""
