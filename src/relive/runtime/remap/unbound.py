"""Which local variables a continuation may read before it assigns them.

A remapped frame carries over the locals it has. A local that only the new version has (or
that the old frame had not assigned yet) is unbound in the continuation; if the new code reads
it before assigning it, the remap would raise ``UnboundLocalError`` in the user's program.
Such a point is refused (the frame waits for a later point, where the read may be preceded by
an assignment), so this module computes, for a list of statements, the names that may be read
before being definitely assigned. The analysis is the usual definite-assignment one on the
structured tree, and errs towards reporting a read: loops may run zero times, any branch may be
taken, a nested function or lambda reads its free names when it is *defined*.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

__all__ = ["reads_before_assignment"]

# Assigned-set value meaning "control never gets here" (after return, raise, break...).
_ALL: frozenset[str] = frozenset({"\0unreachable"})


def _union(a: frozenset[str], b: Iterable[str]) -> frozenset[str]:
    return a if a is _ALL else a | frozenset(b)


def _meet(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    if a is _ALL:
        return b
    if b is _ALL:
        return a
    return a & b


def _loads(node: ast.AST) -> Iterable[str]:
    """Names an expression (or a nested scope defined by it) reads."""
    for item in ast.walk(node):
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Load):
            yield item.id


def _walrus_targets(node: ast.AST) -> Iterable[str]:
    for item in ast.walk(node):
        if isinstance(item, ast.NamedExpr) and isinstance(item.target, ast.Name):
            yield item.target.id


def _stores(target: ast.AST) -> Iterable[str]:
    for item in ast.walk(target):
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            yield item.id
        elif isinstance(item, ast.Starred) and isinstance(item.value, ast.Name):
            yield item.value.id


def _target_reads(target: ast.AST) -> Iterable[str]:
    """Names read while assigning to ``target`` (``a[i] = ...`` reads ``a`` and ``i``)."""
    for item in ast.walk(target):
        if isinstance(item, (ast.Attribute, ast.Subscript)):
            yield from _loads(item)


def _pattern_names(pattern: ast.AST) -> Iterable[str]:
    for item in ast.walk(pattern):
        if isinstance(item, (ast.MatchAs, ast.MatchStar)) and item.name:
            yield item.name
        elif isinstance(item, ast.MatchMapping) and item.rest:
            yield item.rest


class _Flow:
    def __init__(self) -> None:
        self.reads: set[str] = set()

    def read(self, names: Iterable[str], assigned: frozenset[str]) -> None:
        if assigned is _ALL:
            return
        self.reads.update(n for n in names if n not in assigned)

    def expr(self, node: ast.AST | None, assigned: frozenset[str]) -> frozenset[str]:
        if node is None:
            return assigned
        self.read(_loads(node), assigned)
        return _union(assigned, _walrus_targets(node))

    def block(self, stmts: Sequence[ast.stmt], assigned: frozenset[str]) -> frozenset[str]:
        for stmt in stmts:
            assigned = self.stmt(stmt, assigned)
        return assigned

    def stmt(self, stmt: ast.stmt, assigned: frozenset[str]) -> frozenset[str]:
        if isinstance(stmt, ast.Assign):
            assigned = self.expr(stmt.value, assigned)
            for target in stmt.targets:
                self.read(_target_reads(target), assigned)
                assigned = _union(assigned, _stores(target))
            return assigned
        if isinstance(stmt, ast.AugAssign):
            assigned = self.expr(stmt.value, assigned)
            self.read(_loads(stmt.target), assigned)
            if isinstance(stmt.target, ast.Name):
                self.read([stmt.target.id], assigned)
            return _union(assigned, _stores(stmt.target))
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                return assigned
            assigned = self.expr(stmt.value, assigned)
            self.read(_target_reads(stmt.target), assigned)
            return _union(assigned, _stores(stmt.target))
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            inner = _union(self.expr(stmt.iter, assigned), _stores(stmt.target))
            self.block(stmt.body, inner)
            self.block(stmt.orelse, self.expr(stmt.iter, assigned))
            return self.expr(stmt.iter, assigned)
        if isinstance(stmt, ast.While):
            assigned = self.expr(stmt.test, assigned)
            self.block(stmt.body, assigned)
            self.block(stmt.orelse, assigned)
            return assigned
        if isinstance(stmt, ast.If):
            assigned = self.expr(stmt.test, assigned)
            return _meet(self.block(stmt.body, assigned), self.block(stmt.orelse, assigned))
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                assigned = self.expr(item.context_expr, assigned)
                if item.optional_vars is not None:
                    assigned = _union(assigned, _stores(item.optional_vars))
            return self.block(stmt.body, assigned)
        if isinstance(stmt, (ast.Try, ast.TryStar)):
            body = self.block(stmt.body, assigned)
            for handler in stmt.handlers:
                self.expr(handler.type, assigned)
                names = [handler.name] if handler.name else []
                self.block(handler.body, _union(assigned, names))
            self.block(stmt.orelse, body)
            self.block(stmt.finalbody, assigned)
            return assigned
        if isinstance(stmt, ast.Match):
            assigned = self.expr(stmt.subject, assigned)
            for case in stmt.cases:
                self.read(_loads(case.pattern), assigned)
                inner = _union(assigned, _pattern_names(case.pattern))
                inner = self.expr(case.guard, inner)
                self.block(case.body, inner)
            return assigned
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # the body may run later, after more assignments; reading its free names now is
            # the conservative choice
            self.read(_loads(stmt), assigned)
            return _union(assigned, [stmt.name])
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"]
            return _union(assigned, names)
        if isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.read(_loads(target), assigned)
            if assigned is _ALL:
                return assigned
            return assigned - frozenset(_stores_or_deletes(stmt.targets))
        if isinstance(stmt, (ast.Return, ast.Raise)):
            for child in ast.iter_child_nodes(stmt):
                self.expr(child, assigned)
            return _ALL
        if isinstance(stmt, (ast.Break, ast.Continue)):
            return _ALL
        if isinstance(stmt, (ast.Global, ast.Nonlocal, ast.Pass)):
            return assigned
        # Expr, Assert and anything newer: read everything it mentions
        for child in ast.iter_child_nodes(stmt):
            assigned = self.expr(child, assigned)
        return assigned


def _stores_or_deletes(targets: Sequence[ast.expr]) -> Iterable[str]:
    for target in targets:
        for item in ast.walk(target):
            if isinstance(item, ast.Name):
                yield item.id


def reads_before_assignment(stmts: Sequence[ast.stmt]) -> frozenset[str]:
    """Names that running ``stmts`` from the top may read before assigning them."""
    flow = _Flow()
    flow.block(stmts, frozenset())
    return frozenset(flow.reads)
