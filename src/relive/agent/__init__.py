"""The agent: the in-process part of a debugging session.

It is a thread of the program that owns the debugging engine and serves the control
channel (a Unix socket in a private directory, guarded by a token). Front ends (the
``relive debug`` command, later a DAP adapter or an attach command) talk to it through
:mod:`relive.client`. The wire format is in :mod:`relive.agent.wire` and documented in
``docs/protocol.md``.
"""
