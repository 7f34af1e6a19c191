"""``relive dap``: a Debug Adapter Protocol adapter on standard input and output (or on a TCP
port with ``--listen``), for editors; see :mod:`relive.dap.adapter`."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

USAGE = """\
usage: relive dap [--listen HOST:PORT]

Serve the Debug Adapter Protocol: an editor starts `relive dap` and talks to it on standard
input and output (or connects to HOST:PORT with --listen, one session). Launch arguments:
program or module, args, cwd, env, console (internalConsole, integratedTerminal,
externalTerminal), stopOnEntry, justMyCode, hotReload (auto, manual,
never) and remap (auto, ask).
"""


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="relive dap", usage=USAGE, add_help=False)
    parser.add_argument("--listen", default=None)
    parser.add_argument("-h", "--help", action="store_true")
    args = parser.parse_args(list(argv))
    if args.help:
        print(USAGE, end="")
        return 0
    from relive.dap.adapter import Adapter

    if args.listen is None:
        return Adapter(sys.stdin.buffer, sys.stdout.buffer).serve()
    host, _, port = args.listen.rpartition(":")
    try:
        address = (host or "127.0.0.1", int(port))
    except ValueError:
        print(f"relive dap: --listen takes HOST:PORT, not {args.listen!r}", file=sys.stderr)
        return 2
    with socket.create_server(address) as server:
        print(f"relive dap: listening on {address[0]}:{server.getsockname()[1]}",
              file=sys.stderr, flush=True)
        conn, _ = server.accept()
    with conn, conn.makefile("rb") as inp, conn.makefile("wb") as out:
        return Adapter(inp, out).serve()
