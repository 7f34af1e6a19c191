"""Fingerprints of syntax: equal when two pieces of source mean the same, whatever their layout.

A fingerprint is a dump of the AST without positions (so whitespace, comments and line moves
do not count), in which the bodies of lambdas and nested definitions are *masked*: they own
their own code, compared on its own, so a change inside them is not a change of the statement
that holds them. What the enclosing scope evaluates — decorators, default values, annotations,
bases — stays in the fingerprint, because it is that scope's code.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

_SKIP_FIELDS = frozenset({"kind", "type_comment", "ctx"})
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def fingerprint(node: ast.AST | Sequence[ast.AST | None] | None, mask_defs: bool = True) -> str:
    """A position-free dump of ``node`` with lambda bodies (and, if asked, defs) masked."""
    out: list[str] = []
    _dump(node, out, mask_defs)
    return "".join(out)


def _dump(node: object, out: list[str], mask_defs: bool) -> None:
    if isinstance(node, (list, tuple)):
        out.append("[")
        for item in node:
            _dump(item, out, mask_defs)
            out.append(",")
        out.append("]")
        return
    if not isinstance(node, ast.AST):
        out.append(repr(node))
        return
    if isinstance(node, ast.Lambda):
        # the enclosing scope evaluates only the defaults; parameters belong to the code
        out.append("Lambda(")
        _dump([*node.args.defaults, *node.args.kw_defaults], out, mask_defs)
        out.append(")")
        return
    if mask_defs and isinstance(node, _DEFS):
        out.append(f"{type(node).__name__}({node.name}:")
        out.append(header(node))
        out.append(")")
        return
    out.append(type(node).__name__)
    out.append("(")
    for name in node._fields:
        if name in _SKIP_FIELDS:
            continue
        _dump(getattr(node, name, None), out, mask_defs)
        out.append(",")
    out.append(")")


def header(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """Everything of a definition that its enclosing scope evaluates or declares."""
    if isinstance(node, ast.ClassDef):
        parts = [decorators(node), bases(node), keywords(node)]
    else:
        parts = [decorators(node), signature(node), defaults(node), annotation_types(node)]
    parts.append(type_params(node))
    return "|".join(parts)


def decorators(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    return fingerprint(node.decorator_list)


def bases(node: ast.ClassDef) -> str:
    return fingerprint(node.bases)


def keywords(node: ast.ClassDef, metaclass: bool | None = None) -> str:
    """Class keywords; ``metaclass=True`` only the metaclass, ``False`` all but it."""
    chosen = [k for k in node.keywords
              if metaclass is None or (k.arg == "metaclass") == metaclass]
    return fingerprint(chosen)


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> str:
    a = node.args
    return repr((
        [x.arg for x in a.posonlyargs], [x.arg for x in a.args],
        a.vararg.arg if a.vararg else None, [x.arg for x in a.kwonlyargs],
        a.kwarg.arg if a.kwarg else None, len(a.defaults),
        [d is None for d in a.kw_defaults],
        isinstance(node, ast.AsyncFunctionDef),
    ))


def defaults(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> str:
    return fingerprint([*node.args.defaults, *node.args.kw_defaults])


def annotation_types(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    a = node.args
    every = [*a.posonlyargs, *a.args, *([a.vararg] if a.vararg else []), *a.kwonlyargs,
             *([a.kwarg] if a.kwarg else [])]
    # what ``__annotations__`` holds: annotated names only, so that adding an unannotated
    # parameter is no change of annotations, and renaming an annotated one is
    return repr([(x.arg, fingerprint(x.annotation)) for x in every if x.annotation]
                + [("return", fingerprint(node.returns))])


def type_params(node: ast.AST) -> str:
    return fingerprint(getattr(node, "type_params", None) or [])


def docstring(node: ast.AST) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
        return ast.get_docstring(node, clean=False)
    return None
