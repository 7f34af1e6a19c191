"""Defaults that read a rebound name: evaluated anew, as a fresh import would.

A function's default values are evaluated once, by the statement that defines it, in its
scope. ``def get_parser(version=__version__)`` holds the value ``__version__`` had then: an
edit that changes ``__version__ = '1.0'`` to ``'1.1'`` leaves the text of the ``def``
unchanged, yet a fresh import of the new source gives the new value. So each function whose
default expressions read a name the delta rebinds (in its own scope, or in the module, which
a class body falls back to) gets an update with reason ``defaults``: the runtime evaluates its
defaults again (the definition's statement, without its decorators).

Only definitions bound in module and class bodies: the defaults of a function nested in a
function are evaluated each time the enclosing function runs. Decorators that read a rebound
name are not run again (that would make a new object, a ``replace``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping, Sequence

from relive.delta.index import MODULE_PATH, Definition
from relive.delta.model import EditKind, EditTarget, SemanticEdit
from relive.delta.units import UnitError, statement_unit

_WORD = re.compile(r"[^\W\d]\w*")

# edits that bind a name in a module or class body to a value that may be new
_STATEMENT_TARGETS = ("variable", "attribute", "import")
_DEFINITION_TARGETS = ("function", "class")


def rebound_defaults(edits: list[SemanticEdit], index: Mapping[str, Definition],
                     lines: Sequence[str], filename: str) -> list[SemanticEdit]:
    """``edits`` with an update (reason ``defaults``) for each function of ``index`` (the
    new side) whose defaults read a name the edits rebind above it."""
    rebound = _rebound_names(edits)
    if not rebound:
        return edits
    by_path = {e.path: k for k, e in enumerate(edits) if e.target in ("function", "lambda")}
    out = list(edits)
    for d, names in _candidates(index, rebound):
        k = by_path.get(d.path)
        if k is None:
            if names & _default_names(d, names, index, lines, filename):
                out.append(SemanticEdit(EditKind.UPDATE, d.path, EditTarget.FUNCTION, d.span,
                                        d.span, ("defaults",), d.parent or "", (d.name,),
                                        d.path))
            continue
        e = out[k]
        if e.kind not in ("update", "line_shift") or "defaults" in e.reasons:
            continue  # an insert or a replace runs the whole statement anyway
        if not names & _default_names(d, names, index, lines, filename):
            continue
        # a line_shift becomes an update: the code moved, and its defaults are new
        reasons = (*e.reasons, "defaults") if e.kind == "update" else ("lines", "defaults")
        out[k] = SemanticEdit(EditKind.UPDATE, e.path, e.target, e.old_span, e.new_span, reasons,
                              e.scope, e.names, e.old_path)
    return out


def _rebound_names(edits: Sequence[SemanticEdit]) -> dict[str, dict[str, int]]:
    """Scope path → name → the first line (new source) where the edits rebind it."""
    out: dict[str, dict[str, int]] = {}
    for e in edits:
        # most edits of a delta are line shifts: the cheapest test first
        if e.kind == "line_shift" or e.kind == "delete" or e.new_span is None:
            continue
        if e.target in _STATEMENT_TARGETS:
            names: tuple[str, ...] = e.names
        elif e.target in _DEFINITION_TARGETS and e.kind != "update":
            names = e.names  # a new object bound to the name (an update keeps identity)
        else:
            continue
        scope = out.setdefault(e.scope or MODULE_PATH, {})
        for name in names:
            scope[name] = min(scope.get(name, e.new_span[0]), e.new_span[0])
    return out


def _candidates(index: Mapping[str, Definition], rebound: dict[str, dict[str, int]]
                ) -> Iterator[tuple[Definition, set[str]]]:
    """Functions of module and class bodies, with the rebound names their defaults could
    read (those bound in their scope or the module, above the definition)."""
    module = rebound.get(MODULE_PATH, {})
    in_module_or_class: dict[str, bool] = {MODULE_PATH: True}
    for d in index.values():
        if d.kind == "class" or d.kind == "module":
            parent_ok = d.parent is None or in_module_or_class.get(d.parent, False)
            in_module_or_class[d.path] = parent_ok and d.kind in ("class", "module")
            continue
        if d.kind != "function" or d.parent is None or not in_module_or_class.get(d.parent):
            continue
        names = {n for n, line in module.items() if line < d.first}
        if d.parent != MODULE_PATH:
            names |= {n for n, line in rebound.get(d.parent, {}).items() if line < d.first}
        if names:
            yield d, names


def _header_text(d: Definition, lines: Sequence[str]) -> tuple[str, bool]:
    """The text from ``def`` to the body (which may start on the same line: then the
    second value is False)."""
    start = d.body_start()
    last = start - 1 if start is not None else d.header_line
    return "\n".join(lines[d.header_line - 1:last]), start is not None


def _default_names(d: Definition, names: set[str], index: Mapping[str, Definition],
                   lines: Sequence[str], filename: str) -> set[str]:
    """Names read by the default values of ``d`` (positional and keyword-only); empty when
    its header's text does not mention any of ``names``."""
    text, body_below = _header_text(d, lines)
    if "=" not in text or not names.intersection(_WORD.findall(text)):
        return set()  # no default, or none that can read the names: no need to parse
    header = text[d.col:]
    if body_below:
        header += "\n pass"
    line = 1
    try:  # the header alone: annotations mention names too, and a body can be long
        tree = ast.parse(header + "\n", filename)
    except (SyntaxError, ValueError):
        line = d.header_line
        try:  # a body that starts on the header's line and goes on below it
            tree = ast.parse(statement_unit(lines, index, d), filename)
        except (SyntaxError, ValueError, UnitError):
            return set()
    for node in ast.walk(tree):
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.lineno == line and node.name == d.name):
            found: set[str] = set()
            for expr in (*node.args.defaults, *node.args.kw_defaults):
                if expr is not None:
                    _read_names(expr, found)
            return found
    return set()


def _read_names(node: ast.AST, out: set[str]) -> None:
    if isinstance(node, ast.Name):
        out.add(node.id)
        return
    if isinstance(node, ast.Lambda):
        # its body runs when called, not when the default is evaluated
        for expr in (*node.args.defaults, *node.args.kw_defaults):
            if expr is not None:
                _read_names(expr, out)
        return
    for child in ast.iter_child_nodes(node):
        _read_names(child, out)


