"""One debugging session: the requests of the protocol, carried out on the engine.

Each handler takes the request's ``arguments`` (a JSON object) and returns the response's
``body``. A handler that cannot do what was asked raises :class:`RequestError` with a code
and a message for the user; nothing has changed in the program then.
"""

from __future__ import annotations

import dis
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from relive.agent.wire import to_wire
from relive.debugger.breakpoints import BreakpointError
from relive.debugger.edits import EditService
from relive.debugger.engine import Engine, EngineError
from relive.debugger.jump import RULES as JUMP_RULES
from relive.debugger.model import ExceptionMode
from relive.debugger.paths import canonical, is_internal


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _arg(args: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    if name not in args or args[name] is None:
        if default is ...:
            raise RequestError("bad arguments", f"missing argument {name!r}")
        return default
    value = args[name]
    if kind is int and isinstance(value, bool):
        raise RequestError("bad arguments", f"argument {name!r} must be an integer")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise RequestError("bad arguments", f"argument {name!r} must be a {kind.__name__}")
    return value


class Session:
    """Carries out requests. ``start_program`` is set when the client says the program may
    run (after it set its breakpoints)."""

    def __init__(self, engine: Engine, edit_service: EditService | None = None) -> None:
        self.engine = engine
        self.edit_service = edit_service
        engine.enc.service = edit_service
        self.start_program = threading.Event()
        self.stop_on_entry = False
        self.apply_on_continue = True
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[len("do_") :]: getattr(self, name) for name in dir(self) if name.startswith("do_")
        }
        if edit_service is not None:
            edit_service.attach(engine)

    @property
    def commands(self) -> list[str]:
        return sorted(self._handlers)

    def handle(self, command: str, args: dict[str, Any]) -> Any:
        handler = self._handlers.get(command)
        if handler is None:
            raise RequestError(
                "unknown command", f"no command {command!r}; the commands are in docs/protocol.md"
            )
        try:
            return handler(args)
        except (EngineError, BreakpointError) as exc:
            raise RequestError("refused", str(exc)) from None

    def detached(self) -> None:
        """The client went away: clear breakpoints and let the program run."""
        self.engine.enc.remap_policy = "auto"
        self.engine.detach()
        self.start_program.set()

    def attached(self) -> None:
        self.engine.enc.remap_policy = "ask"

    # ------------------------------------------------------------------ program

    def do_start(self, args: dict[str, Any]) -> Any:
        """Let the program run (the client has set its breakpoints)."""
        self.stop_on_entry = _arg(args, "stop_on_entry", bool, False)
        self.start_program.set()
        return {}

    def do_settings(self, args: dict[str, Any]) -> Any:
        if "stop_all_threads" in args:
            self.engine.stop_all = _arg(args, "stop_all_threads", bool)
        if "step_into_libraries" in args:
            self.engine.step_into_libraries = _arg(args, "step_into_libraries", bool)
        if "apply_on_continue" in args:
            self.apply_on_continue = _arg(args, "apply_on_continue", bool)
        if "remap" in args:
            remap = _arg(args, "remap", str)
            if remap not in ("ask", "auto"):
                raise RequestError("bad arguments", "remap must be ask or auto")
            self.engine.enc.remap_policy = remap
        return {
            "stop_all_threads": self.engine.stop_all,
            "step_into_libraries": self.engine.step_into_libraries,
            "apply_on_continue": self.apply_on_continue,
            "remap": self.engine.enc.remap_policy,
            "edit_and_continue": self.edit_service is not None,
            "backend": self.engine.backend_name,
        }

    def do_terminate(self, args: dict[str, Any]) -> Any:
        code = _arg(args, "exit_code", int, 137)
        threading.Timer(0.2, os._exit, (code,)).start()
        return {}

    # ------------------------------------------------------------------ breakpoints

    def do_set_breakpoint(self, args: dict[str, Any]) -> Any:
        info = self.engine.breakpoints.add(
            _arg(args, "path", str),
            _arg(args, "line", int),
            condition=_arg(args, "condition", str, None),
            ignore=_arg(args, "ignore", int, 0),
            log_message=_arg(args, "log_message", str, None),
            temporary=_arg(args, "temporary", bool, False),
        )
        return to_wire(info)

    def do_set_function_breakpoint(self, args: dict[str, Any]) -> Any:
        info = self.engine.breakpoints.add_function(
            _arg(args, "name", str),
            path=_arg(args, "path", str, None),
            condition=_arg(args, "condition", str, None),
            temporary=_arg(args, "temporary", bool, False),
        )
        return to_wire(info)

    def do_remove_breakpoint(self, args: dict[str, Any]) -> Any:
        self.engine.breakpoints.remove(_arg(args, "id", int))
        return {}

    def do_change_breakpoint(self, args: dict[str, Any]) -> Any:
        changes: dict[str, Any] = {}
        if "enabled" in args:
            changes["enabled"] = _arg(args, "enabled", bool)
        if "condition" in args:
            changes["condition"] = _arg(args, "condition", str, None)
        if "ignore" in args:
            changes["ignore"] = _arg(args, "ignore", int)
        return to_wire(self.engine.breakpoints.change(_arg(args, "id", int), **changes))

    def do_breakpoints(self, args: dict[str, Any]) -> Any:
        return {"breakpoints": to_wire(self.engine.breakpoints.listing())}

    def do_set_exception_mode(self, args: dict[str, Any]) -> Any:
        text = _arg(args, "mode", str)
        try:
            mode = ExceptionMode(text)
        except ValueError:
            choices = ", ".join(m.value for m in ExceptionMode)
            raise RequestError("bad arguments", f"mode must be one of {choices}") from None
        self.engine.set_exception_mode(mode)
        return {"mode": mode.value}

    # ------------------------------------------------------------------ execution

    def _thread(self, args: dict[str, Any]) -> int:
        thread_id = _arg(args, "thread_id", int, None)
        if thread_id is None:
            thread_id = self.engine.stopped_thread()
            if thread_id is None:
                raise RequestError("refused", "the program is running; no thread is stopped")
        return int(thread_id)

    def _maybe_apply_pending(self) -> None:
        service = self.edit_service
        if service is None or not self.apply_on_continue:
            return
        if self.engine.stopped_thread() is None or not service.pending_paths():
            return
        self.engine.enc.apply(None)

    def do_continue(self, args: dict[str, Any]) -> Any:
        thread_id = self._thread(args)
        self._maybe_apply_pending()
        self.engine.resume(thread_id, "continue", _arg(args, "all_threads", bool, True))
        return {}

    def do_step(self, args: dict[str, Any]) -> Any:
        thread_id = self._thread(args)
        kind = _arg(args, "kind", str)
        if kind not in ("in", "over", "out"):
            raise RequestError("bad arguments", "kind must be in, over or out")
        self._maybe_apply_pending()
        self.engine.resume(thread_id, kind, _arg(args, "all_threads", bool, True),
                           _arg(args, "target", str, None))
        return {}

    def do_step_in_targets(self, args: dict[str, Any]) -> Any:
        return {"targets": to_wire(self.engine.inspection.step_in_targets(self._thread(args)))}

    def do_pause(self, args: dict[str, Any]) -> Any:
        return {"requested": self.engine.pause()}

    def do_jump(self, args: dict[str, Any]) -> Any:
        return to_wire(self.engine.inspection.jump(self._thread(args), _arg(args, "line", int)))

    def do_restart_frame(self, args: dict[str, Any]) -> Any:
        return to_wire(self.engine.inspection.restart_frame(self._thread(args)))

    def do_jump_rules(self, args: dict[str, Any]) -> Any:
        return {"text": JUMP_RULES}

    # ------------------------------------------------------------------ state

    def do_threads(self, args: dict[str, Any]) -> Any:
        return {"threads": to_wire(self.engine.inspection.threads())}

    def do_stack(self, args: dict[str, Any]) -> Any:
        return {"frames": to_wire(self.engine.inspection.stack(self._thread(args)))}

    def do_source(self, args: dict[str, Any]) -> Any:
        return self.engine.inspection.source(self._thread(args), _arg(args, "frame", int, 0))

    def do_scopes(self, args: dict[str, Any]) -> Any:
        scopes = self.engine.inspection.scopes(self._thread(args), _arg(args, "frame", int, 0))
        return {name: to_wire(variables) for name, variables in scopes.items()}

    def do_children(self, args: dict[str, Any]) -> Any:
        return {"variables": to_wire(self.engine.inspection.children(_arg(args, "ref", int)))}

    def do_evaluate(self, args: dict[str, Any]) -> Any:
        mode = _arg(args, "mode", str, "auto")
        if mode not in ("auto", "eval", "exec"):
            raise RequestError("bad arguments", "mode must be auto, eval or exec")
        result = self.engine.inspection.evaluate(
            self._thread(args),
            _arg(args, "frame", int, 0),
            _arg(args, "text", str),
            mode,
            _arg(args, "timeout", float, 10.0),
            _arg(args, "full", bool, False),
        )
        return to_wire(result)

    def do_set_variable(self, args: dict[str, Any]) -> Any:
        result = self.engine.inspection.set_variable(
            self._thread(args),
            _arg(args, "frame", int, 0),
            _arg(args, "name", str),
            _arg(args, "expression", str),
        )
        return to_wire(result)

    def do_completions(self, args: dict[str, Any]) -> Any:
        names = self.engine.inspection.completions(
            self._thread(args), _arg(args, "frame", int, 0), _arg(args, "prefix", str)
        )
        return {"names": names[:200]}

    def do_disassemble(self, args: dict[str, Any]) -> Any:
        frame = self.engine.inspection.frame(self._thread(args), _arg(args, "frame", int, 0))
        lasti = frame.f_lasti
        lines = []
        for instr in dis.get_instructions(frame.f_code):
            lines.append(
                {
                    "offset": instr.offset,
                    "line": instr.positions.lineno if instr.positions else None,
                    "opname": instr.opname,
                    "argrepr": instr.argrepr,
                    "current": instr.offset == lasti,
                }
            )
        return {"name": frame.f_code.co_qualname, "instructions": lines}

    def do_modules(self, args: dict[str, Any]) -> Any:
        out = []
        for name, module in sorted(list(sys.modules.items())):
            path = getattr(module, "__file__", None)
            if not isinstance(path, str) or is_internal(path):
                continue
            out.append({"name": name, "path": canonical(path)})
        return {"modules": out}

    # ------------------------------------------------------------------ edit and continue

    def do_enc(self, args: dict[str, Any]) -> Any:
        paths = args.get("paths")
        if paths is not None and (
            not isinstance(paths, list) or not all(isinstance(p, str) for p in paths)
        ):
            raise RequestError("bad arguments", "paths must be a list of file names")
        if self.edit_service is None:
            raise RequestError(
                "unavailable",
                "Edit and Continue is not available in this session (no edit service is "
                "loaded); restart the program to run the edited code",
            )
        outcome = self.engine.enc.apply(paths)
        return {
            "applied": outcome.applied,
            "message": outcome.message,
            "files": list(outcome.files),
            "edits": to_wire(outcome.edits),
            "rude_edits": to_wire(outcome.rude_edits),
            "line_moves": {
                path: {str(old): new for old, new in moves.items()}
                for path, moves in outcome.line_moves.items()
            },
            "generation": dict(outcome.generation),
            "duration_s": outcome.duration_s,
        }

    def do_pending(self, args: dict[str, Any]) -> Any:
        service = self.edit_service
        return {"paths": list(service.pending_paths()) if service is not None else []}

    def do_remap(self, args: dict[str, Any]) -> Any:
        line = self.engine.remap(self._thread(args), _arg(args, "line", int, None))
        return {"line": line}
