"""Remap: move frames that still run replaced code onto the new version of their function.

- :mod:`~relive.runtime.remap.schedule` — from an apply to the frames to move: which code is
  on which stack, the remap policy, and the hand-over to the tracker.
- :mod:`~relive.runtime.remap.tracker` — the frames waiting to move, and what happens at each
  of their remap points.
- :mod:`~relive.runtime.remap.hooks` — line events on the old code only (``sys.monitoring`` or
  trace functions).
- :mod:`~relive.runtime.remap.layout` — where a frame of an EnC code object can move: its
  remap points and statements.
- :mod:`~relive.runtime.remap.plan` — where the frames of one updated function resume.
- :mod:`~relive.runtime.remap.continuation` — the new version entered in the middle, with the
  frame's state.
- :mod:`~relive.runtime.remap.unbound` — which locals a continuation may read before it
  assigns them.
- :mod:`~relive.runtime.remap.events` — the values the remapper takes and gives.
"""
