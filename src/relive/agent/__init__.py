"""The agent: the in-process part of a front end, a thread of the program's own process.

- For ``relive debug``: it owns the debugging engine and serves the control channel (a Unix
  socket in a private directory, guarded by a token). Front ends (the ``relive debug``
  command, later a DAP adapter or an attach command) talk to it through :mod:`relive.client`.
  The wire format is in :mod:`relive.agent.wire` and documented in ``docs/protocol.md``.
- For ``relive run``: :mod:`relive.agent.supervised` runs the program and applies the saves the
  front end relays over two pipes; :mod:`relive.agent.records` is what it reports back.
"""
