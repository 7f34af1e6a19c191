"""The rude edit catalogue: edits that cannot be applied with their meaning intact.

One enum, one table. Each kind has a stable code ``RLnnnn`` that is never reused (a retired
kind keeps its number, marked retired), a default severity and a one-line message that says
what will happen and what to do. ``error`` means nothing of the delta is applied and the
program needs a restart to take the change; ``warning`` means the delta is applied and the
message states the caveat.

The codes are grouped by what they are about: ``RL1xxx`` classes, ``RL2xxx`` functions and
closures, ``RL3xxx`` module-level code, ``RL4xxx`` found by the runtime against the live
process, ``RL5xxx`` running frames.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple


class _Entry(NamedTuple):
    code: str
    severity: str
    message: str


class RudeEditKind(enum.Enum):
    """Every kind of rude edit, with its stable code, default severity and message.

    Messages are format strings over ``path`` (the definition path) and ``detail``.
    """

    CLASS_BASES_CHANGED = _Entry(
        "RL1001", "error",
        "the bases of class {path} changed ({detail}); existing instances and subclasses "
        "cannot follow: restart to apply")
    CLASS_METACLASS_CHANGED = _Entry(
        "RL1002", "error",
        "the metaclass of class {path} changed; the live class cannot change its type: "
        "restart to apply")
    CLASS_KEYWORDS_CHANGED = _Entry(
        "RL1003", "error",
        "the class keywords of {path} changed ({detail}); they only act when the class is "
        "created: restart to apply")
    SLOTS_CHANGED = _Entry(
        "RL1004", "error",
        "__slots__ of class {path} changed; the memory layout of existing instances is fixed: "
        "restart to apply")
    ENUM_MEMBERS_CHANGED = _Entry(
        "RL1005", "error",
        "members of enum {path} changed ({detail}); members are created once with the class: "
        "restart to apply (methods of an enum can be edited)")
    DATACLASS_FIELDS_CHANGED = _Entry(
        "RL1006", "warning",
        "fields of dataclass {path} changed ({detail}); its generated methods are rebuilt and "
        "existing instances get new fields from their defaults (define __relive_migrate__ to "
        "carry state over)")
    CLASS_REPLACED = _Entry(
        "RL1007", "warning",
        "the decorators of class {path} changed, so the class is rebuilt; existing instances "
        "and references held elsewhere keep the old class")
    CLASS_BODY_CODE_CHANGED = _Entry(
        "RL1008", "warning",
        "code in the body of class {path} changed ({detail}); it is not run again because it "
        "already ran when the class was created: restart, or make the change on the live "
        "class yourself")
    INIT_ATTRIBUTES_ADDED = _Entry(
        "RL1009", "warning",
        "{path} now sets {detail}, which it did not set before; instances that already exist "
        "do not have them: define __relive_migrate__(self, old_values) on the class to set "
        "them (relive calls it for each existing instance), or restart")

    CLOSURE_SHAPE_CHANGED = _Entry(
        "RL2001", "warning",
        "the variables {path} captures from its enclosing scope changed ({detail}); closures "
        "created from now on use the new code, closures that already exist keep the old code")
    FUNCTION_REPLACED = _Entry(
        "RL2002", "warning",
        "the decorators of {path} changed, so it is rebuilt and rebound; references held "
        "elsewhere (callbacks, registries) keep the old object")
    NESTED_DEFAULTS_CHANGED = _Entry(
        "RL2003", "warning",
        "default values or decorators of nested {path} changed; they are evaluated each time "
        "the enclosing function runs, so closures that already exist keep the old ones")
    GENERIC_PARAMETERS_CHANGED = _Entry(
        "RL2004", "error",
        "the type parameters of {path} changed; they are bound when the definition runs: "
        "restart to apply")
    LAMBDA_REBOUND = _Entry(
        "RL2005", "warning",
        "default values of {path} changed; the statement that holds it is evaluated again "
        "and binds a new lambda, while references held elsewhere keep the old one")

    MODULE_CODE_CHANGED = _Entry(
        "RL3001", "warning",
        "module-level code changed at this line ({detail}); it is not run again because "
        "running it would repeat its side effects: restart, or run it yourself "
        "(relive.run_code)")
    MAIN_BLOCK_CHANGED = _Entry(
        "RL3002", "warning",
        "the `if __name__ == \"__main__\":` block changed; it is not run again (the program "
        "is already running): restart to run it")
    MODULE_CODE_REMOVED = _Entry(
        "RL3003", "warning",
        "code was removed from the body of {path} at this line ({detail}); what it did "
        "when it ran stays done")
    FUTURE_IMPORT_CHANGED = _Entry(
        "RL3004", "error",
        "a `from __future__` import that changes how the source parses ({detail}) was added "
        "or removed: restart to apply (other `from __future__` imports, `annotations` "
        "among them, are applied by updating every definition of the module)")
    CONDITIONAL_BRANCH_UNKNOWN = _Entry(
        "RL3005", "warning",
        "{path} is in a branch of a conditional block ({detail}) and relive cannot tell "
        "whether that branch ran when the module was imported; the edit is applied as if it "
        "did: restart if it did not")

    LIVE_CLOSURES_SHAPE = _Entry(
        "RL4001", "error",
        "the variables {path} captures changed and {detail} live closure(s) of it exist; "
        "they cannot take the new code: restart to apply, or undo the capture change")
    ENUM_LIVE = _Entry(
        "RL4002", "error",
        "{path} is an enum in the running program and its members changed ({detail}): "
        "restart to apply")
    LIVE_LAYOUT_CONFLICT = _Entry(
        "RL4003", "error",
        "{path} cannot be updated in place in the running program ({detail}): restart to "
        "apply")
    DELETED_BUT_IMPORTED = _Entry(
        "RL4004", "warning",
        "{path} was deleted, but {detail} still hold(s) it by name: there a deleted "
        "function raises DeletedDefinitionError when called, and a deleted class or value "
        "stays the old object; edit those modules too")

    STALE_FRAMES = _Entry(
        "RL5001", "warning",
        "{detail} running frame(s) of {path} keep executing the old code until they return")
    ENC_COMPILED_PLAINLY = _Entry(
        "RL5002", "warning",
        "{path} could not be compiled in EnC mode ({detail}); it runs and takes edits, but "
        "its running frames cannot be remapped")

    @property
    def code(self) -> str:
        return self.value.code

    @property
    def default_severity(self) -> str:
        return self.value.severity

    @classmethod
    def from_code(cls, code: str) -> RudeEditKind:
        for kind in cls:
            if kind.value.code == code:
                return kind
        raise ValueError(f"unknown rude edit code {code!r}")


@dataclass(frozen=True, slots=True)
class RudeEdit:
    """One edit that cannot be applied exactly, with where it is and what it means."""

    code: str
    kind: RudeEditKind
    severity: str
    message: str
    lineno: int
    path: str = ""

    @classmethod
    def make(cls, kind: RudeEditKind, lineno: int, path: str = "", detail: str = "",
             severity: str | None = None) -> RudeEdit:
        message = kind.value.message.format(path=path or "the module", detail=detail)
        return cls(kind.code, kind, severity or kind.default_severity, message, lineno, path)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.code} {self.severity} line {self.lineno}: {self.message}"


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (the docs embed it; a test keeps them in sync)."""
    rows = ["| code | kind | severity | message |", "| --- | --- | --- | --- |"]
    for kind in RudeEditKind:
        message = kind.value.message.replace("{path}", "X").replace("{detail}", "…")
        message = message.replace("|", "\\|")
        rows.append(f"| {kind.code} | {kind.name.lower()} | {kind.default_severity} | "
                    f"{message} |")
    return "\n".join(rows)
