"""A small DAP client for the tests: starts ``relive dap``, sends requests, keeps events."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

TIMEOUT = 30.0


class DapClient:
    def __init__(self, cwd: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relive", "dap"], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1"))
        self._seq = 0
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._new_event = threading.Condition()
        self.output = ""
        self.terminal: subprocess.Popen[bytes] | None = None
        self.terminal_requests: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if not line.strip():
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(stream.read(length))
            if message["type"] == "request" and message["command"] == "runInTerminal":
                self._run_in_terminal(message)
            elif message["type"] == "response":
                self._responses.setdefault(message["request_seq"], queue.Queue()).put(message)
            elif message["type"] == "event":
                with self._new_event:
                    if message["event"] == "output":
                        self.output += message["body"]["output"]
                    self.events.append(message)
                    self._new_event.notify_all()

    def _run_in_terminal(self, request: dict[str, Any]) -> None:
        """Be the editor's terminal: run the command, its input and output are ours."""
        args = request["arguments"]
        self.terminal = subprocess.Popen(
            args["args"], cwd=args.get("cwd"), env={**os.environ, **(args.get("env") or {})},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.terminal_requests.append(request)
        self._write({"seq": 0, "type": "response", "request_seq": request["seq"],
                     "success": True, "command": "runInTerminal",
                     "body": {"processId": self.terminal.pid}})

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, command: str, **arguments: Any) -> int:
        self._seq += 1
        self._write({"seq": self._seq, "type": "request", "command": command,
                     "arguments": arguments})
        return self._seq

    def responses(self, seq: int) -> queue.Queue[dict[str, Any]]:
        """Where the response to request ``seq`` arrives."""
        return self._responses.setdefault(seq, queue.Queue())

    def response(self, seq: int) -> dict[str, Any]:
        found: dict[str, Any] = self.responses(seq).get(timeout=TIMEOUT)
        return found

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        """The body of a successful response (fails the test otherwise)."""
        response = self.response(self.send(command, **arguments))
        assert response["success"], response
        body: dict[str, Any] = response.get("body", {})
        return body

    def wait_event(self, name: str, after: int = 0, **match: Any) -> dict[str, Any]:
        """The first event ``name`` from index ``after`` on whose body has ``match``."""
        deadline = time.monotonic() + TIMEOUT
        with self._new_event:
            while True:
                for event in self.events[after:]:
                    body = event.get("body", {})
                    if event["event"] == name and all(body.get(k) == v
                                                      for k, v in match.items()):
                        return event
                left = deadline - time.monotonic()
                assert left > 0, (name, self.events[-10:])
                self._new_event.wait(left)

    def wait_output(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self._new_event:
            while text not in self.output:
                left = deadline - time.monotonic()
                assert left > 0, (text, self.output[-500:])
                self._new_event.wait(left)

    def close(self) -> None:
        if self.terminal is not None and self.terminal.poll() is None:
            self.terminal.kill()
            self.terminal.wait()
        if self.process.poll() is None:
            try:
                self.send("disconnect", terminateDebuggee=True)
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
