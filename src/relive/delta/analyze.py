"""The analyzer: old and new versions of the definitions in play → semantic and rude edits.

It only analyzes. Its input is two *sides* (the index, the AST nodes and the compiled code of
the definitions in play, in the old and the new source) and the pairs of module or class
bodies whose statements changed; its output is the edits. Which definitions are in play is the
engine's business (a whole module, one function, a run of statements).

Definitions are paired by name within their scope. Same-named siblings (duplicate and
conditional definitions, lambdas) are paired by their code first, so that inserting one above
the others does not pair every later one with its predecessor's code.
"""

from __future__ import annotations
import __future__

import ast
import copy
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType

from relive._cpython import code as code_flags
from relive.delta import fingerprint as fp
from relive.delta.index import Definition, Stmt
from relive.delta.model import EditKind, EditTarget, SemanticEdit
from relive.delta.rude import RudeEdit, RudeEditKind
from relive.delta.units import (
    FUNCTION_KINDS,
    body_lines,
    body_positions,
    code_docstring,
    deep_key,
    deep_lines,
    deep_positions,
    docless_body_keys,
    nested_key,
    self_attribute_stores,
    signature_key,
)

TARGET_OF_KIND = {"function": EditTarget.FUNCTION, "class": EditTarget.CLASS,
                  "lambda": EditTarget.LAMBDA}

CO_FUTURE_ANNOTATIONS = __future__.annotations.compiler_flag

# ``from __future__`` features whose addition or removal cannot be applied: the parser reads
# the module differently (``<>``), so no unit of it compiles alone as the module does. Any
# other feature only changes how code compiles, and the whole module is compared (and its
# definitions updated in place) with the new flags.
UNAPPLICABLE_FUTURES = frozenset({"barry_as_FLUFL"})


@dataclass
class Side:
    """One version of the definitions in play."""

    index: Mapping[str, Definition]
    nodes: Mapping[str, ast.AST]
    codes: Mapping[str, CodeType]
    children: dict[str, list[Definition]] = field(default_factory=dict)

    def add_children(self, defs: Sequence[Definition]) -> None:
        for d in defs:
            if d.parent is not None:
                self.children.setdefault(d.parent, []).append(d)


@dataclass
class MemberChange:
    """Statements of one module or class body, old and new, to be aligned."""

    old_scope: Definition
    new_scope: Definition
    old: list[tuple[Stmt, ast.stmt]]
    new: list[tuple[Stmt, ast.stmt]]


class Analyzer:
    def __init__(self, old: Side, new: Side, annotations_changed: bool = False) -> None:
        self.old = old
        self.new = new
        # ``from __future__ import annotations`` was added or removed: every annotation of
        # the module is evaluated differently (kept as a string, or evaluated)
        self.annotations_changed = annotations_changed
        self.edits: list[SemanticEdit] = []
        self.rude: list[RudeEdit] = []
        self.members: list[MemberChange] = []

    # -- pairing ----------------------------------------------------------------------

    def run(self, old_roots: Sequence[Definition], new_roots: Sequence[Definition]) -> None:
        self._pair_groups(old_roots, new_roots)
        for change in self.members:
            self._align_members(change)

    def _pair_groups(self, olds: Sequence[Definition], news: Sequence[Definition]) -> None:
        groups: dict[tuple[str, str], tuple[list[Definition], list[Definition]]] = {}
        for d in olds:
            groups.setdefault((d.name, d.kind), ([], []))[0].append(d)
        for d in news:
            groups.setdefault((d.name, d.kind), ([], []))[1].append(d)
        for group_old, group_new in groups.values():
            for o, n in self._pair(group_old, group_new):
                if o is None and n is not None:
                    self._inserted(n)
                elif n is None and o is not None:
                    self._deleted(o)
                elif o is not None and n is not None:
                    self._compare(o, n)

    def _pair(self, olds: list[Definition], news: list[Definition]
              ) -> list[tuple[Definition | None, Definition | None]]:
        if len(olds) == len(news) == 1:
            return [(olds[0], news[0])]
        keys_old = [self._deep_key(self.old, d) for d in olds]
        keys_new = [self._deep_key(self.new, d) for d in news]
        out: list[tuple[Definition | None, Definition | None]] = []
        matcher = difflib.SequenceMatcher(None, keys_old, keys_new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" or tag == "replace":
                common = min(i2 - i1, j2 - j1)
                out += [(olds[i1 + k], news[j1 + k]) for k in range(common)]
                out += [(o, None) for o in olds[i1 + common:i2]]
                out += [(None, n) for n in news[j1 + common:j2]]
            elif tag == "delete":
                out += [(o, None) for o in olds[i1:i2]]
            else:
                out += [(None, n) for n in news[j1:j2]]
        return out

    @staticmethod
    def _deep_key(side: Side, d: Definition) -> object:
        code = side.codes.get(d.path)
        return deep_key(code) if code is not None else d.path

    # -- one pair ---------------------------------------------------------------------

    def _in_function(self, d: Definition, side: Side) -> bool:
        parent = side.index.get(d.parent) if d.parent else None
        return parent is not None and parent.kind in FUNCTION_KINDS

    def _edit(self, kind: EditKind, o: Definition | None, n: Definition | None,
              reasons: tuple[str, ...] = ()) -> None:
        d = n or o
        assert d is not None
        self.edits.append(SemanticEdit(
            kind=kind, path=d.path, target=TARGET_OF_KIND[d.kind],
            old_span=o.span if o else None, new_span=n.span if n else None,
            reasons=reasons, scope=d.parent or "", names=(d.name,),
            old_path=o.path if o else ""))

    def _inserted(self, n: Definition) -> None:
        self._edit(EditKind.INSERT, None, n)
        if n.name == "__init__" and n.parent in self.old.index:
            self._init_attributes(None, n)  # an __init__ added to a class that exists

    def _deleted(self, o: Definition) -> None:
        self._edit(EditKind.DELETE, o, None)

    def _compare(self, o: Definition, n: Definition) -> None:
        if n.kind == "class":
            self._compare_class(o, n)
        else:
            self._compare_function(o, n)
        self._pair_groups(self.old.children.get(o.path, []), self.new.children.get(n.path, []))

    def _compare_function(self, o: Definition, n: Definition) -> None:
        oc, nc = self.old.codes.get(o.path), self.new.codes.get(n.path)
        if oc is None or nc is None:  # unreachable code has no code object
            if nc is not None:
                self._inserted(n)
            elif oc is not None:
                self._deleted(o)
            return
        on, nn = self.old.nodes.get(o.path), self.new.nodes.get(n.path)
        reasons: list[str] = []
        kind = EditKind.UPDATE
        doc_old, doc_new = code_docstring(oc), code_docstring(nc)
        key_old, key_new = docless_body_keys(oc, nc)
        if key_old != key_new:
            if signature_key(oc) != signature_key(nc):
                reasons.append("signature")
            if (oc.co_flags & code_flags.SUSPENDS) != (nc.co_flags & code_flags.SUSPENDS):
                reasons.append("kind")
            if (key_old[0][:3], key_old[1]) != (key_new[0][:3], key_new[1]) or not reasons:
                reasons.append("body")
        if doc_old != doc_new:
            reasons.append("docstring")
        if nested_key(oc) != nested_key(nc):
            reasons.append("nested")
        if not reasons:
            if body_lines(oc) != body_lines(nc):
                reasons.append("lines")
            elif deep_lines(oc) != deep_lines(nc):
                reasons.append("nested")
            elif body_positions(oc) != body_positions(nc):
                # same code and lines, other columns: the live code must still point at
                # the right place (only re-read definitions get here; a moved one keeps
                # its columns and stays a line_shift)
                reasons.append("columns")
            elif deep_positions(oc) != deep_positions(nc):
                reasons.append("nested")
        if oc.co_freevars != nc.co_freevars:
            self.rude.append(RudeEdit.make(
                RudeEditKind.CLOSURE_SHAPE_CHANGED, n.header_line, n.path,
                f"{_names(oc.co_freevars)} → {_names(nc.co_freevars)}"))
        if isinstance(on, (ast.FunctionDef, ast.AsyncFunctionDef)) and isinstance(
                nn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            header_reasons = []
            if fp.decorators(on) != fp.decorators(nn):
                header_reasons.append("decorators")
            if fp.defaults(on) != fp.defaults(nn):
                header_reasons.append("defaults")
            if fp.annotation_types(on) != fp.annotation_types(nn) or (
                    self.annotations_changed and _annotated(nn)):
                header_reasons.append("annotations")
            if fp.type_params(on) != fp.type_params(nn):
                self.rude.append(RudeEdit.make(
                    RudeEditKind.GENERIC_PARAMETERS_CHANGED, n.header_line, n.path))
            if header_reasons and self._in_function(n, self.new):
                # evaluated by the enclosing function's code, which is updated itself
                self.rude.append(RudeEdit.make(
                    RudeEditKind.NESTED_DEFAULTS_CHANGED, n.header_line, n.path))
            elif "decorators" in header_reasons:
                kind = EditKind.REPLACE
                reasons += header_reasons
                self.rude.append(RudeEdit.make(
                    RudeEditKind.FUNCTION_REPLACED, n.header_line, n.path))
            else:
                reasons += header_reasons
        elif isinstance(on, ast.Lambda) and isinstance(nn, ast.Lambda) and (
                fp.defaults(on) != fp.defaults(nn)):
            # the defaults are evaluated by the statement that holds the lambda
            self.rude.append(RudeEdit.make(
                RudeEditKind.NESTED_DEFAULTS_CHANGED if self._in_function(n, self.new)
                else RudeEditKind.LAMBDA_REBOUND, n.header_line, n.path))
        if reasons:
            self._edit(kind, o, n, tuple(reasons))
            if "body" in reasons and n.name == "__init__":
                self._init_attributes(oc, n)
        elif o.first != n.first:
            self._edit(EditKind.LINE_SHIFT, o, n)

    def _init_attributes(self, old_code: CodeType | None, n: Definition) -> None:
        """RL1009: an ``__init__`` of a plain class (a dataclass migrates its fields
        itself) now sets attributes on ``self`` that it did not set before, so instances
        made before the edit lack them. Only ``__init__``'s own code is read, not the
        methods it calls; a name the class body binds is left out (instances that lack it
        find the class attribute)."""
        scope = self.new.index.get(n.parent or "")
        new_code = self.new.codes.get(n.path)
        if (scope is None or scope.kind != "class" or "dataclass" in scope.traits
                or new_code is None):
            return
        added = self_attribute_stores(new_code)
        if old_code is not None:
            added -= self_attribute_stores(old_code)
        bound = {name for s in scope.body for name in s.names}
        names = sorted(added - bound)
        if names:
            self.rude.append(RudeEdit.make(
                RudeEditKind.INIT_ATTRIBUTES_ADDED, n.header_line, n.path,
                ", ".join(f"self.{name}" for name in names)))

    def _compare_class(self, o: Definition, n: Definition) -> None:
        on, nn = self.old.nodes.get(o.path), self.new.nodes.get(n.path)
        if not (isinstance(on, ast.ClassDef) and isinstance(nn, ast.ClassDef)):
            if o.first != n.first:
                self._edit(EditKind.LINE_SHIFT, o, n)
            return
        line = n.header_line
        if fp.bases(on) != fp.bases(nn):
            self.rude.append(RudeEdit.make(
                RudeEditKind.CLASS_BASES_CHANGED, line, n.path,
                f"({_unparse(on.bases)}) → ({_unparse(nn.bases)})"))
        if fp.keywords(on, metaclass=True) != fp.keywords(nn, metaclass=True):
            self.rude.append(RudeEdit.make(RudeEditKind.CLASS_METACLASS_CHANGED, line, n.path))
        if fp.keywords(on, metaclass=False) != fp.keywords(nn, metaclass=False):
            self.rude.append(RudeEdit.make(
                RudeEditKind.CLASS_KEYWORDS_CHANGED, line, n.path,
                f"{_unparse(on.keywords)} → {_unparse(nn.keywords)}"))
        if fp.type_params(on) != fp.type_params(nn):
            self.rude.append(RudeEdit.make(
                RudeEditKind.GENERIC_PARAMETERS_CHANGED, line, n.path))
        replaced = fp.decorators(on) != fp.decorators(nn)
        if replaced:
            self._edit(EditKind.REPLACE, o, n, ("decorators",))
            self.rude.append(RudeEdit.make(RudeEditKind.CLASS_REPLACED, line, n.path))
        elif o.first != n.first:
            self._edit(EditKind.LINE_SHIFT, o, n)
        if not self._in_function(n, self.new):
            self.members.append(MemberChange(
                o, n, _members(o, on.body), _members(n, nn.body)))

    # -- statements of module and class bodies ----------------------------------------

    def _align_members(self, change: MemberChange) -> None:
        scope = change.new_scope
        olds = [(s, node) for s, node in change.old if s.kind != "def"]
        news = [(s, node) for s, node in change.new if s.kind != "def"]
        fps_old = [_statement_fingerprint(s, node) for s, node in olds]
        fps_new = [_statement_fingerprint(s, node) for s, node in news]
        fields_changed: list[str] = []
        matcher = difflib.SequenceMatcher(None, fps_old, fps_new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                if self.annotations_changed and "enum" not in scope.traits:
                    for old, new in zip(olds[i1:i2], news[j1:j2], strict=True):
                        if isinstance(new[1], ast.AnnAssign) and new[0].names:
                            self._statement_edit(EditKind.UPDATE, change, old, new,
                                                 ("annotations",))
                continue
            pending = list(olds[i1:i2])
            for s_new, node_new in news[j1:j2]:
                match = next((p for p in pending if _same_binding(p[0], s_new)), None)
                if match is not None:
                    pending.remove(match)
                self._member_new(change, match, (s_new, node_new), fields_changed)
            for item in pending:
                self._member_removed(change, item, fields_changed)
        if fields_changed and "dataclass" in scope.traits:
            self.edits.append(SemanticEdit(
                EditKind.UPDATE, scope.path, EditTarget.CLASS, change.old_scope.span, scope.span,
                ("fields",), scope.parent or "", (scope.name,), change.old_scope.path))
            self.rude.append(RudeEdit.make(
                RudeEditKind.DATACLASS_FIELDS_CHANGED, scope.header_line, scope.path,
                ", ".join(dict.fromkeys(fields_changed))))

    def _abs(self, scope: Definition, s: Stmt) -> tuple[int, int]:
        return (scope.first + s.first, scope.first + s.last)

    def _statement_edit(self, kind: EditKind, change: MemberChange,
                        old: tuple[Stmt, ast.stmt] | None, new: tuple[Stmt, ast.stmt] | None,
                        reasons: tuple[str, ...]) -> None:
        scope = change.new_scope
        s = (new or old)
        assert s is not None
        stmt = s[0]
        is_class = scope.kind == "class"
        names: tuple[str, ...] = ()
        if stmt.kind == "docstring":
            target, path = EditTarget.DOCSTRING, scope.path
        else:
            target = EditTarget.IMPORT if stmt.kind == "import" else (
                EditTarget.ATTRIBUTE if is_class else EditTarget.VARIABLE)
            prefix = f"{scope.path}." if is_class else ""
            path, names = prefix + ",".join(stmt.names), stmt.names
        self.edits.append(SemanticEdit(
            kind, path, target,
            self._abs(change.old_scope, old[0]) if old else None,
            self._abs(scope, new[0]) if new else None,
            reasons, scope.path, names))

    def _special(self, change: MemberChange, item: tuple[Stmt, ast.stmt], where: int,
                 fields_changed: list[str]) -> bool:
        """Rude edits of class-level names; True when the statement is not applied at all."""
        scope = change.new_scope
        stmt, node = item
        if scope.kind != "class":
            return False
        if "__slots__" in stmt.names:
            self.rude.append(RudeEdit.make(RudeEditKind.SLOTS_CHANGED, where, scope.path))
            return True
        if "enum" in scope.traits and stmt.kind == "assign":
            members = [x for x in stmt.names if not _is_special_name(x)]
            if members:
                self.rude.append(RudeEdit.make(
                    RudeEditKind.ENUM_MEMBERS_CHANGED, where, scope.path, ", ".join(members)))
                return True
        if isinstance(node, ast.AnnAssign) and not _is_classvar(node):
            fields_changed.extend(stmt.names)
        return False

    def _member_new(self, change: MemberChange, old: tuple[Stmt, ast.stmt] | None,
                    new: tuple[Stmt, ast.stmt], fields_changed: list[str]) -> None:
        """A statement of the new body that was added (``old`` is None) or changed."""
        s = new[0]
        where = change.new_scope.first + s.first
        if self._special(change, new, where, fields_changed):
            return
        if s.kind == "future":
            changed = set(s.names).symmetric_difference(old[0].names if old else ())
            if changed & UNAPPLICABLE_FUTURES:
                self.rude.append(RudeEdit.make(RudeEditKind.FUTURE_IMPORT_CHANGED, where,
                                               detail=", ".join(sorted(changed))))
        elif s.kind == "main":
            self.rude.append(RudeEdit.make(RudeEditKind.MAIN_BLOCK_CHANGED, where))
        elif s.kind in ("assign", "annotation", "import"):
            if old is None:
                self._statement_edit(EditKind.INSERT, change, None, new, ())
            elif s.kind == "import":
                self._statement_edit(EditKind.UPDATE, change, old, new, ("import",))
            else:
                value_changed = _value_fingerprint(old[1]) != _value_fingerprint(new[1])
                reasons = ("value",) if value_changed else ("annotations",)
                self._statement_edit(EditKind.UPDATE, change, old, new, reasons)
        elif s.kind == "docstring":
            self._statement_edit(EditKind.UPDATE, change, old, new, ("docstring",))
        elif _reruns(change.new_scope, s):
            # it runs again, as its imports and assignments would (its definitions are
            # compared on their own)
            if old is None:
                self._statement_edit(EditKind.INSERT, change, None, new, ())
            else:
                self._statement_edit(EditKind.UPDATE, change, old, new, ("value",))
        else:
            self._code_changed(change, new, where)

    def _member_removed(self, change: MemberChange, old: tuple[Stmt, ast.stmt],
                        fields_changed: list[str]) -> None:
        s = old[0]
        where = change.old_scope.first + s.first
        if self._special(change, old, where, fields_changed):
            return
        if s.kind == "future":
            if set(s.names) & UNAPPLICABLE_FUTURES:
                self.rude.append(RudeEdit.make(RudeEditKind.FUTURE_IMPORT_CHANGED, where,
                                               detail=", ".join(s.names)))
        elif s.kind in ("assign", "annotation", "import") or _reruns(change.old_scope, s):
            self._statement_edit(EditKind.DELETE, change, old, None, ())
        elif s.kind == "docstring":
            self._statement_edit(EditKind.UPDATE, change, old, None, ("docstring",))
        elif s.kind in ("other", "block", "main", "bindings"):
            self.rude.append(RudeEdit.make(
                RudeEditKind.MODULE_CODE_REMOVED, where, change.old_scope.path
                if change.old_scope.kind == "class" else "", _summary(old[1])))

    def _code_changed(self, change: MemberChange, new: tuple[Stmt, ast.stmt],
                      where: int) -> None:
        scope = change.new_scope
        if scope.kind == "class":
            self.rude.append(RudeEdit.make(
                RudeEditKind.CLASS_BODY_CODE_CHANGED, where, scope.path, _summary(new[1])))
        else:
            self.rude.append(RudeEdit.make(
                RudeEditKind.MODULE_CODE_CHANGED, where, "", _summary(new[1])))


def _reruns(scope: Definition, s: Stmt) -> bool:
    """Is a changed statement of ``scope`` one that runs again like an assignment: a block
    that only binds names (not the members of an enum, which are made once)?"""
    return s.kind == "bindings" and bool(s.names) and "enum" not in scope.traits


def _annotated(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = node.args
    return node.returns is not None or any(
        arg.annotation is not None
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs,
                    *(x for x in (a.vararg, a.kwarg) if x is not None)))


def _members(scope: Definition, body: list[ast.stmt]) -> list[tuple[Stmt, ast.stmt]]:
    return list(zip(scope.body, body, strict=True))


def _statement_fingerprint(s: Stmt, node: ast.stmt) -> str:
    if s.kind in ("block", "main", "bindings"):
        return s.kind + fp.fingerprint(_without_defs(node), mask_defs=True)
    return s.kind + fp.fingerprint(node)


class _DefRemover(ast.NodeTransformer):
    def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
        return ast.Pass()

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef


def _without_defs(node: ast.stmt) -> ast.AST:
    """A copy of a block with its definitions blanked (they are compared on their own)."""
    result: ast.AST = _DefRemover().visit(copy.deepcopy(node))
    return result


def _value_fingerprint(node: ast.stmt) -> str:
    if isinstance(node, ast.Assign):
        return fp.fingerprint([*node.targets, node.value])
    if isinstance(node, ast.AnnAssign):
        return fp.fingerprint(node.value)
    return fp.fingerprint(node)


def _same_binding(a: Stmt, b: Stmt) -> bool:
    """Whether a new statement is the changed version of an old one: the same names bound
    (assignments, imports), or, for code that binds nothing, the same kind of statement in
    the same run of changed statements, so that a changed call is one change, not a removal
    and an addition."""
    return a.kind == b.kind and (a.kind in ("other", "block", "bindings")
                                 or a.names == b.names)


def _is_special_name(name: str) -> bool:
    return (name.startswith("__") and name.endswith("__")) or (
        name.startswith("_") and name.endswith("_") and len(name) > 2) or name == "_ignore_"


def _is_classvar(node: ast.AnnAssign) -> bool:
    return "ClassVar" in ast.unparse(node.annotation)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "nothing"


def _unparse(nodes: Sequence[ast.AST]) -> str:
    return ", ".join(ast.unparse(n) for n in nodes)


def _summary(node: ast.AST) -> str:
    text = ast.unparse(node).split("\n", 1)[0]
    return text if len(text) <= 60 else text[:57] + "..."
