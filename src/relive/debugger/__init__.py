"""The debugger: breakpoints, stops, stepping, evaluation and Edit and Continue, in process.

Read in this order:

- :mod:`~relive.debugger.model` — the values the engine hands out (breakpoints, stops, threads,
  stack frames, variables) and the events it emits.
- :mod:`~relive.debugger.engine` — the engine: threads, stops, stepping, pausing, remap offers;
  it holds :mod:`~relive.debugger.breakpoint_control` (``engine.breakpoints``: breakpoint
  requests, the code they bind to, the check made when a breakpoint's line runs) and
  :mod:`~relive.debugger.editing` (``engine.enc``: the edit service, applying saved edits);
  :mod:`~relive.debugger.inspection` (``engine.inspection``: the view of a stopped program,
  threads, stacks, variables, evaluation, jump); :mod:`~relive.debugger.held` holds its
  per-thread records.
- :mod:`~relive.debugger.backends` — how the engine hears the program run.
- :mod:`~relive.debugger.breakpoints` — the breakpoint table and the index of code per file.
- :mod:`~relive.debugger.evaluate`, :mod:`~relive.debugger.jump`,
  :mod:`~relive.debugger.stack` — running text in a frame, "set next statement", describing
  frames.
- :mod:`~relive.debugger.edits` — the seam to Edit and Continue (what the engine asks of an edit
  service), and :mod:`~relive.debugger.runtime_service` — that service over relive's runtime.
- :mod:`~relive.debugger.paths` — file names as the engine compares them, and which code is the
  user's (the runtime's notion of the program's own files).
"""
