"""The definition index: which units of a module own code, where they are, how they nest.

A *definition* is the module body, a class body, a function (method, nested function) or a
lambda: each owns a code object. Each is named by a *definition path*: its ``__qualname__``
(``Cart.total``, ``load.<locals>.parse``, ``<lambda>``) with a ``#n`` suffix on the n-th
same-named sibling of one scope (``f#2`` is the second ``def f`` of the module body), so that
conditional and duplicate definitions are told apart. The module itself is ``<module>``.

Records are immutable. Line numbers inside a record are relative to its own ``first`` line, so
that moving a definition (lines inserted above it) only needs a new ``first``: an edit rebuilds
the records it touches and shifts the ones after it, nothing else.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence

MODULE_PATH = "<module>"

# ``if 1:`` as a wrapper keeps the nested statement's real indentation when a compound block
# (if/try/with/for/while/match) has to be reproduced around a definition.
_BLOCK_TYPES: tuple[type[ast.stmt], ...] = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match,
    *((ast.TryStar,) if hasattr(ast, "TryStar") else ()),
)
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class Stmt:
    """One statement of a body: span relative to the owning definition's first line.

    ``kind`` classifies module and class body statements (``def``, ``assign``,
    ``annotation``, ``import``, ``future``, ``docstring``, ``main``, ``bindings`` (an
    ``if``/``try`` block that only binds names), ``block``, ``other``); ``names`` are the
    names it binds in its scope (for ``bindings``, by its imports and assignments).
    ``facts`` (module body only) are what the compiler learns from it about the whole
    module: the names it binds by ``import``, and ``"super"`` when it mentions ``super`` in
    module scope (see :func:`module_facts`).
    """

    __slots__ = ("col", "facts", "first", "kind", "last", "names")

    def __init__(self, first: int, last: int, col: int, kind: str,
                 names: tuple[str, ...], facts: tuple[str, ...] = ()) -> None:
        self.first = first
        self.last = last
        self.col = col
        self.kind = kind
        self.names = names
        self.facts = facts

    def moved(self, by: int) -> Stmt:
        return Stmt(self.first + by, self.last + by, self.col, self.kind, self.names,
                    self.facts)

    def resized(self, last: int) -> Stmt:
        return Stmt(self.first, last, self.col, self.kind, self.names, self.facts)

    def key(self) -> tuple[object, ...]:
        return (self.first, self.last, self.col, self.kind, self.names, self.facts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stmt) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Stmt({self.first}..{self.last} {self.kind} {self.names})"


_new_definition = object.__new__


class Definition:
    """A unit that owns code, as found in one version of the source.

    - ``first``: absolute line of its first line (the first decorator, if any);
    - ``header``, ``last``: the ``def``/``class``/``lambda`` keyword's line and the last line,
      relative to ``first``; ``col``: the column of the statement (of ``lambda`` for lambdas);
    - ``body``: the statements of its body (module, class, function), relative spans;
    - ``blocks``: the indentation of each compound block between its scope and it, outermost
      first, so that a compile unit can rebuild them as ``if 1:`` wrappers (on the lines just
      above the definition: each block header takes a line of its own there);
    - ``ordinal``: for lambdas, its rank among the lambdas that start on the same line;
    - ``traits``: for classes, what the header says of them (``dataclass``, ``enum``);
    - ``type_params``: the source of its PEP 695 type parameters (``T, *Ts``), if any.
    """

    __slots__ = ("blocks", "body", "col", "first", "header", "is_async", "kind", "last",
                 "name", "ordinal", "parent", "path", "qualname", "traits", "type_params")

    def __init__(self, path: str, kind: str, name: str, qualname: str, parent: str | None,
                 first: int, header: int, last: int, col: int, body: tuple[Stmt, ...],
                 blocks: tuple[str, ...], is_async: bool,
                 ordinal: int, traits: tuple[str, ...], type_params: str = "") -> None:
        self.path = path
        self.kind = kind
        self.name = name
        self.qualname = qualname
        self.parent = parent
        self.first = first
        self.header = header
        self.last = last
        self.col = col
        self.body = body
        self.blocks = blocks
        self.is_async = is_async
        self.ordinal = ordinal
        self.traits = traits
        self.type_params = type_params

    # absolute positions
    @property
    def header_line(self) -> int:
        return self.first + self.header

    @property
    def last_line(self) -> int:
        return self.first + self.last

    @property
    def span(self) -> tuple[int, int]:
        return (self.first, self.first + self.last)

    @property
    def conditional(self) -> bool:
        """Defined inside an ``if``/``try``/loop/``with`` block of its scope."""
        return bool(self.blocks)

    def body_start(self) -> int | None:
        """Absolute first line of the body, when the body starts below the header."""
        if not self.body:
            return None
        line = self.first + self.body[0].first
        return line if line > self.header_line else None

    def moved(self, by: int) -> Definition:
        """The same definition, ``by`` lines further down."""
        # a copy slot by slot (no __init__ call): an edit moves every definition below it
        d = _new_definition(Definition)
        d.path = self.path
        d.kind = self.kind
        d.name = self.name
        d.qualname = self.qualname
        d.parent = self.parent
        d.first = self.first + by
        d.header = self.header
        d.last = self.last
        d.col = self.col
        d.body = self.body
        d.blocks = self.blocks
        d.is_async = self.is_async
        d.ordinal = self.ordinal
        d.traits = self.traits
        d.type_params = self.type_params
        return d

    def replaced(self, **changes: object) -> Definition:
        d = self.moved(0)
        for name, value in changes.items():
            setattr(d, name, value)
        return d

    def key(self) -> tuple[object, ...]:
        return (self.path, self.kind, self.name, self.qualname, self.parent, self.first,
                self.header, self.last, self.col, self.body, self.blocks, self.is_async,
                self.ordinal, self.traits, self.type_params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Definition) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Definition({self.path!r} {self.kind} lines {self.first}..{self.last_line})"


def first_line(node: ast.stmt | ast.expr) -> int:
    """The first line of a statement, decorators included."""
    decorators: list[ast.expr] | None = getattr(node, "decorator_list", None)
    if decorators:
        return min(node.lineno, decorators[0].lineno)
    return node.lineno


def end_line(node: ast.stmt | ast.expr) -> int:
    end = node.end_lineno
    return node.lineno if end is None else end


def _target_names(target: ast.expr, out: list[str]) -> bool:
    """Collect plain names bound by an assignment target; False if it binds anything else."""
    if isinstance(target, ast.Name):
        out.append(target.id)
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_target_names(t, out) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _target_names(target.value, out)
    return False


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq) and len(test.comparators) == 1):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def classify(node: ast.stmt, index: int, scope_kind: str) -> tuple[str, tuple[str, ...]]:
    """Kind and bound names of a statement in a module or class body."""
    if isinstance(node, _DEF_TYPES):
        return "def", (node.name,)
    if isinstance(node, ast.Assign):
        names: list[str] = []
        if all(_target_names(t, names) for t in node.targets):
            return "assign", tuple(names)
        return "other", ()
    if isinstance(node, ast.AnnAssign):
        if isinstance(node.target, ast.Name) and node.simple:
            return ("assign" if node.value is not None else "annotation"), (node.target.id,)
        return "other", ()
    if isinstance(node, ast.ImportFrom) and node.module == "__future__" and not node.level:
        return "future", tuple(a.name for a in node.names)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        bound = []
        for alias in node.names:
            if alias.asname:
                bound.append(alias.asname)
            elif isinstance(node, ast.Import):
                bound.append(alias.name.partition(".")[0])
            else:
                bound.append(alias.name)
        return "import", tuple(bound)
    if (index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)):
        return "docstring", ()
    if scope_kind == "module" and isinstance(node, ast.If) and _is_main_guard(node):
        return "main", ()
    if isinstance(node, _GUARD_TYPES):
        guarded: list[str] = []
        if _only_bindings(node, guarded):
            return "bindings", tuple(dict.fromkeys(guarded))
    if isinstance(node, _BLOCK_TYPES):
        return "block", ()
    return "other", ()


# blocks that choose between bindings: ``if TYPE_CHECKING:``, ``try: import x`` / ``except
# ImportError: x = None``, a version test around imports
_GUARD_TYPES: tuple[type[ast.stmt], ...] = (
    ast.If, ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def _only_bindings(node: ast.stmt, out: list[str]) -> bool:
    """Is ``node`` an ``if``/``try`` block that only binds names (imports, assignments to
    names, definitions, ``del`` of names, nested blocks of the same) or raises? Running it
    names, definitions, ``del`` of names, nested blocks of the same) or raises? Running it
    its imports and assignments bind (a definition in it is a definition of its own)."""
    for suite in _suites(node):
        for stmt in suite:
            if isinstance(stmt, (ast.Pass, ast.Raise, *_DEF_TYPES)):
                continue
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            if isinstance(stmt, ast.Delete) and all(
                    isinstance(t, ast.Name) for t in stmt.targets):
                continue  # a helper name taken away again (``del _Meta``)
            if isinstance(stmt, _GUARD_TYPES):
                if not _only_bindings(stmt, out):
                    return False
                continue
            kind, names = classify(stmt, 1, "")
            if kind not in ("assign", "annotation", "import"):
                return False
            out.extend(names)
    return True


def _suites(node: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested directly in a compound (non-scope) statement."""
    if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While)):
        yield node.body
        yield node.orelse
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        yield node.body
    elif isinstance(node, _BLOCK_TYPES) and hasattr(node, "handlers"):  # Try, TryStar
        yield node.body  # type: ignore[attr-defined]
        for handler in node.handlers:
            yield handler.body
        yield node.orelse  # type: ignore[attr-defined]
        yield node.finalbody  # type: ignore[attr-defined]
    elif isinstance(node, ast.Match):
        for case in node.cases:
            yield case.body


def _is_elif(node: ast.stmt, suite: list[ast.stmt]) -> bool:
    return (isinstance(node, ast.If) and suite is node.orelse and len(suite) == 1
            and isinstance(suite[0], ast.If) and suite[0].col_offset == node.col_offset)


class _Scope:
    """A definition being indexed: its path and qualname prefixes, and sibling counters."""

    __slots__ = ("counts", "kind", "path", "qualname")

    def __init__(self, path: str, qualname: str, kind: str) -> None:
        self.path = path
        self.qualname = qualname
        self.kind = kind
        self.counts: dict[str, int] = {}

    def child_names(self, name: str) -> tuple[str, str]:
        n = self.counts.get(name, 0) + 1
        self.counts[name] = n
        suffix = "" if n == 1 else f"#{n}"
        if self.kind == "module":
            return name + suffix, name
        sep = "." if self.kind == "class" else ".<locals>."
        return f"{self.path}{sep}{name}{suffix}", f"{self.qualname}{sep}{name}"


class Indexer:
    """Walks statements and collects :class:`Definition` records in source order.

    ``lines`` (the source lines) let it skip expression walks for statements whose text has
    no ``lambda``: that keeps indexing a large module cheap.
    """

    def __init__(self, lines: Sequence[str], nodes: dict[str, ast.AST] | None = None) -> None:
        self.lines = lines
        self.out: list[Definition] = []
        self.nodes = nodes
        self._lambda_lines: dict[int, int] = {}

    # -- statements -------------------------------------------------------------------

    def body(self, stmts: Sequence[ast.stmt], scope: _Scope,
             blocks: tuple[str, ...] = ()) -> None:
        """Index the definitions in ``stmts`` (a body, or a suite of a block in it)."""
        for node in stmts:
            if isinstance(node, _DEF_TYPES):
                self.definition(node, scope, blocks)
                continue
            self.expressions(node, scope)
            for suite in _suites(node):
                if not suite:
                    continue
                if _is_elif(node, suite):
                    # ``elif`` continues the block at the same indentation: no new wrapper
                    self.body(suite, scope, blocks)
                    continue
                self.body(suite, scope, (*blocks, self._indentation(node)))

    def definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                   scope: _Scope, blocks: tuple[str, ...],
                   header: bool = True) -> None:
        """Index ``node`` and what it contains; ``header=False`` skips the lambdas of its
        decorators, defaults and bases (they belong to the enclosing scope)."""
        if header:
            for expr in node.decorator_list:
                self.expressions(expr, scope)
            if isinstance(node, ast.ClassDef):
                for expr in (*node.bases, *(k.value for k in node.keywords)):
                    self.expressions(expr, scope)
            else:
                self.expressions(node.args, scope)
                if node.returns is not None:
                    self.expressions(node.returns, scope)
        path, qualname = scope.child_names(node.name)
        if self.nodes is not None:
            self.nodes[path] = node
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        first = first_line(node)
        body = self.statements(node.body, first, kind)
        self.out.append(Definition(
            path, kind, node.name, qualname, scope.path, first, node.lineno - first,
            end_line(node) - first, node.col_offset, body, blocks,
            isinstance(node, ast.AsyncFunctionDef), 0, class_traits(node), _type_params(node)))
        inner = _Scope(path, qualname, kind)
        self.body(node.body, inner)

    def statements(self, stmts: Sequence[ast.stmt], base: int, scope_kind: str,
                   offset: int = 0) -> tuple[Stmt, ...]:
        """Records of a body's statements (``offset``: index of the first in the body)."""
        out = []
        for i, node in enumerate(stmts, offset):
            if scope_kind == "function":
                out.append(Stmt(first_line(node) - base, end_line(node) - base,
                                node.col_offset, "stmt", ()))
                continue
            kind, names = classify(node, i, scope_kind)
            facts = module_facts(node, self.lines) if scope_kind == "module" else ()
            out.append(Stmt(first_line(node) - base, end_line(node) - base, node.col_offset,
                            kind, names, facts))
        return tuple(out)

    # -- lambdas ------------------------------------------------------------------------

    def _indentation(self, node: ast.stmt) -> str:
        text = self.lines[node.lineno - 1] if 0 < node.lineno <= len(self.lines) else ""
        indent = text[:node.col_offset]
        return indent if not indent.strip() else " " * node.col_offset

    def expressions(self, node: ast.AST, scope: _Scope) -> None:
        """Index the lambdas in the expressions of ``node`` (not in nested statements)."""
        if isinstance(node, (ast.stmt, ast.expr)):
            lo, hi = node.lineno, end_line(node)
            if not any("lambda" in self.lines[i - 1] for i in range(lo, hi + 1)):
                return
        for child in _expression_children(node):
            if isinstance(child, ast.Lambda):
                self.lambda_(child, scope)
            else:
                self.expressions(child, scope)

    def lambda_(self, node: ast.Lambda, scope: _Scope) -> None:
        self.expressions(node.args, scope)
        path, qualname = scope.child_names("<lambda>")
        if self.nodes is not None:
            self.nodes[path] = node
        ordinal = self._lambda_lines.get(node.lineno, 0)
        self._lambda_lines[node.lineno] = ordinal + 1
        first = node.lineno
        self.out.append(Definition(
            path, "lambda", "<lambda>", qualname, scope.path, first, 0, end_line(node) - first,
            node.col_offset, (), (), False, ordinal, ()))
        self.expressions(node.body, _Scope(path, qualname, "lambda"))


def module_facts(node: ast.stmt, lines: Sequence[str]) -> tuple[str, ...]:
    """What a module-level statement tells the compiler about the whole module.

    CPython 3.12+ compiles some code differently depending on module-wide facts: a call
    ``os.getcwd()`` is not compiled as a method call when ``os`` is bound by an ``import`` in
    module scope, and ``super().f()`` is not specialised when ``super`` is mentioned in module
    scope. A compile unit replays these facts so that its code equals the module's.
    """
    lo, hi = node.lineno, end_line(node)
    if isinstance(node, _DEF_TYPES) and node.body:
        hi = node.body[0].lineno - 1  # the header: decorators, defaults, bases
    text = "\n".join(lines[lo - 1:hi])
    if "import" not in text and "super" not in text:
        return ()
    facts: list[str] = []
    _collect_facts(node, facts)
    return tuple(dict.fromkeys(facts))


def _collect_facts(node: ast.AST, out: list[str]) -> None:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                out.append(alias.asname or alias.name.partition(".")[0])
        return
    if isinstance(node, ast.Name):
        if node.id == "super":
            out.append("super")
        return
    if isinstance(node, ast.Lambda):
        _collect_facts(node.args, out)  # its body is a scope of its own
        return
    if isinstance(node, _DEF_TYPES):
        heads: list[ast.AST] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            heads += [*node.bases, *node.keywords]
        else:
            heads += [node.args, *([node.returns] if node.returns else [])]
        for child in heads:
            _collect_facts(child, out)
        return
    for child in ast.iter_child_nodes(node):
        _collect_facts(child, out)


def _facts(module: Definition) -> tuple[list[str], bool]:
    names: dict[str, None] = {}
    for s in module.body:
        for fact in s.facts:
            names[fact] = None
    mentions_super = names.pop("super", 0) is None
    return list(names), mentions_super


def facts_line(module: Definition) -> str:
    """A statement that gives a compile unit the module-wide facts of ``module``.

    It sits under ``if 0:``: the compiler's symbol table still sees the names (that is all
    the facts are for), and nothing of it runs when the unit is executed.
    """
    names, mentions_super = _facts(module)
    parts = [f"import {', '.join(names)}"] if names else []
    if mentions_super:
        parts.append("super")
    return f"if 0: {'; '.join(parts)}" if parts else ""


def facts_statements(module: Definition, line: int) -> list[ast.stmt]:
    """:func:`facts_line` as a statement at ``line``, to append to a parsed unit."""
    names, mentions_super = _facts(module)
    body: list[ast.stmt] = []
    if names:
        body.append(ast.Import(names=[ast.alias(name=n) for n in names]))
    if mentions_super:
        body.append(ast.Expr(value=ast.Name(id="super", ctx=ast.Load())))
    if not body:
        return []
    out = ast.If(test=ast.Constant(value=0), body=body, orelse=[])
    for node in ast.walk(out):
        node.lineno = node.end_lineno = line  # type: ignore[attr-defined]
        node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
    return [out]


def _expression_children(node: ast.AST) -> Iterator[ast.AST]:
    """Child nodes of ``node`` that belong to the same statement (no nested statements)."""
    for _name, value in ast.iter_fields(node):
        if isinstance(value, ast.AST):
            if not isinstance(value, ast.stmt):
                yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST) and not isinstance(item, ast.stmt):
                    yield item


_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag", "ReprEnum"})


def _dotted_tail(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _type_params(node: ast.AST) -> str:
    params = getattr(node, "type_params", None)
    return ", ".join(ast.unparse(p) for p in params) if params else ""


def class_traits(node: ast.AST) -> tuple[str, ...]:
    """What a class header says about the class, as far as syntax can tell."""
    if not isinstance(node, ast.ClassDef):
        return ()
    traits = []
    if any(_dotted_tail(d) == "dataclass" for d in node.decorator_list):
        traits.append("dataclass")
    if any(_dotted_tail(b) in _ENUM_BASES for b in node.bases):
        traits.append("enum")
    return tuple(traits)


def new_scope(d: Definition) -> _Scope:
    """A fresh scope for indexing statements of ``d``'s body."""
    return _Scope(d.path, "" if d.kind == "module" else d.qualname, d.kind)


def module_record(nlines: int, body: tuple[Stmt, ...]) -> Definition:
    return Definition(MODULE_PATH, "module", "<module>", "<module>", None, 1, 0,
                      max(nlines - 1, 0), 0, body, (), False, 0, ())


def build_index(tree: ast.Module, lines: Sequence[str],
                nodes: dict[str, ast.AST] | None = None) -> dict[str, Definition]:
    """Index a whole module; the result is keyed by path, in source order, module first."""
    indexer = Indexer(lines, nodes)
    body = indexer.statements(tree.body, 1, "module")
    indexer.body(tree.body, _Scope(MODULE_PATH, "", "module"))
    if nodes is not None:
        nodes[MODULE_PATH] = tree
    return in_source_order([module_record(len(lines), body), *indexer.out])


def source_order(d: Definition) -> tuple[int, int, int, int]:
    return (d.first, 0 if d.kind == "module" else 1, d.col, d.ordinal)


def in_source_order(defs: Iterable[Definition]) -> dict[str, Definition]:
    return {d.path: d for d in sorted(defs, key=source_order)}


def ancestors(index: dict[str, Definition], d: Definition) -> Iterable[Definition]:
    """Enclosing definitions of ``d``, innermost first (the module last)."""
    parent = d.parent
    while parent is not None:
        p = index[parent]
        yield p
        parent = p.parent
