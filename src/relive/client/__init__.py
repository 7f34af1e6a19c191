"""Front-end side of a debugging session, out of the program's process.

:func:`relive.client.launch.launch` starts a program under the agent and connects to it;
:class:`relive.client.connection.Connection` speaks the protocol. Nothing here prints: the
command-line front end (:mod:`relive.cli.debug`) and, later, the DAP adapter decide how to
show things.
"""
