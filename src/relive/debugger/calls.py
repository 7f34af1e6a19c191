"""The calls a statement makes: what "step into" can choose from on a line.

A line such as ``total = price(items) + tax(region(user))`` calls four functions; an editor
lets the user pick one (DAP's ``stepInTargets``) and the step stops in that callee only.
The calls are listed in the order they happen: a call's arguments are evaluated before the
call itself, so ``region`` comes before ``tax``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class CallTarget:
    """One call of a statement: ``label`` is its callee as written (``self.total``),
    ``name`` the function's own name (``total``), which the step matches."""

    label: str
    name: str
    line: int
    column: int  # 1-based, as editors count
    end_line: int
    end_column: int


def call_targets(text: str, line: int) -> list[CallTarget]:
    """The calls of the statement at ``line`` of source ``text``, in the order they run
    (nested function bodies and lambdas are not run by the statement; none for a line
    without code or a text that does not compile)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    statement = _statement_at(tree, line)
    if statement is None:
        return []
    calls: list[ast.Call] = []
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            calls.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
                                  ast.ClassDef)) or (
                    isinstance(child, ast.stmt) and child is not statement):
                continue  # run later, if ever: not by this statement now
            stack.append(child)
    calls.sort(key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))
    out = []
    for call in calls:
        name = _callee_name(call.func)
        if name is None:
            continue
        label = ast.get_source_segment(text, call.func) or name
        out.append(CallTarget(label=" ".join(label.split()), name=name, line=call.lineno,
                              column=call.col_offset + 1, end_line=call.end_lineno or line,
                              end_column=(call.end_col_offset or 0) + 1))
    return out


def _statement_at(tree: ast.Module, line: int) -> ast.stmt | None:
    """The innermost simple part of a statement that owns ``line``: for a compound
    statement (``if``, ``for``, ``with``...) only its header, never its body."""
    best: ast.stmt | None = None
    nodes: list[ast.AST] = list(tree.body)
    while nodes:
        node = nodes.pop()
        if not isinstance(node, ast.stmt):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        if not start <= line <= (node.end_lineno or node.lineno):
            continue
        best = node
        nodes = [n for field in ("body", "orelse", "finalbody", "handlers", "cases")
                 for n in _statements(getattr(node, field, None))]
    if best is None:
        return None
    if _header_only(best):
        return _header(best)
    return best


def _statements(value: object) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, ast.stmt):
            out.append(item)
        elif isinstance(item, (ast.ExceptHandler, ast.match_case)):
            out.extend(item.body)
    return out


def _header_only(node: ast.stmt) -> bool:
    return isinstance(node, (ast.If, ast.While, ast.For, ast.AsyncFor, ast.With,
                             ast.AsyncWith, ast.Match, ast.Try, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.ClassDef))


def _header(node: ast.stmt) -> ast.stmt | None:
    """A compound statement with its body taken out: what its own line runs."""
    if isinstance(node, (ast.If, ast.While)):
        return ast.Expr(node.test, lineno=node.lineno, col_offset=node.col_offset)
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return ast.Expr(node.iter, lineno=node.lineno, col_offset=node.col_offset)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return ast.Expr(ast.Tuple([item.context_expr for item in node.items], ast.Load()),
                        lineno=node.lineno, col_offset=node.col_offset)
    if isinstance(node, ast.Match):
        return ast.Expr(node.subject, lineno=node.lineno, col_offset=node.col_offset)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        # decorators and default values run when the definition does
        parts: list[ast.expr] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            parts += node.bases
        else:
            parts += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
        return ast.Expr(ast.Tuple(parts, ast.Load()), lineno=node.lineno,
                        col_offset=node.col_offset)
    return None  # a bare ``try:`` runs nothing of its own


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None  # make()() or handlers[kind](event): the callee is not known before it runs


def runs_target(code_name: str, qualname: str, target: str) -> bool:
    """Is a frame running ``code_name`` (qualified ``qualname``) the callee ``target``
    names? A class called is entered in its ``__init__`` (or ``__new__``)."""
    return code_name == target or qualname in (f"{target}.__init__", f"{target}.__new__") \
        or qualname.endswith((f".{target}.__init__", f".{target}.__new__"))
