"""compute_delta: baseline + new source → :class:`Delta`, with work in proportion to the edit.

The text is compared first (common prefix and suffix, at C speed), which gives the block of
lines that changed. The engine then finds the innermost definition whose body holds the whole
block and re-reads only what it must:

- inside a function: that function's *outermost* enclosing function, whole (its locals decide
  what nested code captures), parsed and compiled in its compile unit;
- inside a class or module body: the run of body statements around the block (with one
  neighbour on each side, so that a line added under a statement or a decorator added above
  one is read with it), parsed and compiled inside the class skeleton.

Whatever does not parse in that narrow context (an unclosed bracket or string, a dedent that
leaves the body, a name that renumbers same-named siblings) is retried one level up, and in
the end on the whole module, which also yields the exact syntax error if there is one. A
property test checks that the narrow path and the whole-module path give the same deltas.
"""

from __future__ import annotations

import ast
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from types import CodeType

from relive.delta.analyze import (
    CO_FUTURE_ANNOTATIONS,
    TARGET_OF_KIND,
    Analyzer,
    MemberChange,
    Side,
)
from relive.delta.index import (
    MODULE_PATH,
    Definition,
    Indexer,
    Stmt,
    build_index,
    end_line,
    facts_line,
    facts_statements,
    in_source_order,
    new_scope,
)
from relive.delta.linemap import block_map, restrict
from relive.delta.model import Baseline, Delta, LineMap, SemanticEdit, module_future
from relive.delta.rebound import rebound_defaults
from relive.delta.rude import RudeEdit
from relive.delta.source import ChangedLines, SourceError, changed_lines, decode_source
from relive.delta.units import (
    Recompiler,
    UnitError,
    assemble,
    compile_definition,
    outermost_function,
    pick_codes,
    skeleton,
    wrappers,
)


class _Retry(Exception):
    """The narrow context cannot take this edit; try the enclosing one."""


def compute_delta(base: Baseline, source: str | bytes, *, incremental: bool = True,
                  recompile: Recompiler | None = None) -> Delta:
    """The delta from ``base`` to ``source`` (``str``, or ``bytes`` decoded like a file).

    Never raises for bad input: decoding, syntax and compile errors come back in
    ``delta.errors`` with no edits. ``incremental=False`` compares the whole module (the
    reference the incremental path is tested against). ``recompile``, when given, also
    compiles the new code the way the live process runs it (EnC mode), from the trees and
    plain code the engine made anyway; the results are kept with the next baseline.
    """
    text, error = decode_source(source, base.filename)
    if error is not None:
        return _error_delta(base, error)
    ch = changed_lines(base.source, text)
    if ch is None:
        nb = Baseline(text, base.filename, base.module_name, base.generation + 1)
        nb.seed(base.lines, base.index, base.future_flags)
        nb.inherit_codes(base)
        return Delta(base.filename, base.module_name, base.generation, base.digest,
                     next_baseline=nb)
    with warnings.catch_warnings():
        # compile() warns about e.g. invalid escapes; the program shows those itself when
        # its code runs, the delta engine must stay silent
        warnings.simplefilter("ignore")
        try:
            if incremental:
                delta = _Incremental(base, text, ch, recompile).run()
                if delta is not None:
                    return delta
            return _full(base, text, ch, recompile)
        except RecursionError:  # Python refuses some of these too; none may escape
            return _error_delta(base, SourceError(
                "nesting", "the source is nested too deeply to be compared", ch.first,
                0, base.filename))


def _error_delta(base: Baseline, error: SourceError) -> Delta:
    return Delta(base.filename, base.module_name, base.generation, base.digest,
                 errors=(error,))


def _source_error(base: Baseline, exc: BaseException, kind: str) -> Delta:
    """``kind`` is ``syntax`` for what the parser refuses, ``compile`` for the compiler."""
    return _error_delta(base, SourceError.from_exception(exc, base.filename, kind))


def _compile(tree: ast.Module, filename: str, flags: int) -> CodeType:
    code: CodeType = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
    return code


def _compile_with_facts(tree: ast.Module, module: Definition, filename: str,
                  flags: int) -> tuple[CodeType, ast.Module]:
    """Compile a unit's tree with the module-wide facts of ``module`` appended; return the
    code and the tree that was compiled."""
    extra = facts_statements(module, max((end_line(n) for n in tree.body), default=0) + 1)
    if extra:
        tree = ast.Module(body=[*tree.body, *extra], type_ignores=[])
    return _compile(tree, filename, flags), tree


# a unit compiled for the new side: its tree, its plain code, the definitions in it
Compiled = tuple[ast.Module, CodeType, list[Definition]]


def _finish(base: Baseline, text: str, ch: ChangedLines, new_lines: list[str],
            new_index: dict[str, Definition], edits: list[SemanticEdit],
            rude: list[RudeEdit], future: int, codes: dict[str, CodeType],
            units: Sequence[Compiled] = (), recompile: Recompiler | None = None,
            reread: Iterable[str] | None = None) -> Delta:
    """Assemble the delta: sort the edits, add line maps and the next baseline.

    ``codes`` (new code objects compiled on the way) are kept with the next baseline, so that
    the runtime does not compile them again; with ``recompile``, so are the ``units``
    compiled its way (done last: it may transform the trees). ``reread``: the old paths the
    edit re-read; the baseline's other codes are still good for comparison and are carried
    over (None: ``codes`` hold every definition).
    """
    nb = Baseline(text, base.filename, base.module_name, base.generation + 1)
    nb.seed(new_lines, new_index, future)
    nb.cache_codes(codes)
    nb.inherit_codes(base, base.index if reread is None else reread)
    if recompile is not None:
        for tree, plain, defs in units:
            try:
                nb.cache_codes(pick_codes(recompile(tree, plain, base.filename, future), defs),
                               "recompiled")
            except Exception:  # the runtime compiles what is not cached
                continue
    edits = rebound_defaults(edits, new_index, new_lines, base.filename)
    block = block_map(base.lines, new_lines, ch)
    maps: dict[str, LineMap] = {}
    for e in edits:
        if e.kind in ("update", "replace") and e.old_span and e.new_span and e.target in (
                "function", "lambda", "class"):
            maps[e.path] = LineMap(restrict(block, ch, e.old_span, e.new_span))
    edits.sort(key=_edit_order)
    rude.sort(key=lambda r: (r.lineno, r.code))
    return Delta(base.filename, base.module_name, base.generation, base.digest,
                 edits=tuple(edits), rude_edits=tuple(dict.fromkeys(rude)), line_maps=maps,
                 changed=(ch.first, ch.old_last, ch.new_last), block_map=LineMap(block),
                 next_baseline=nb)


def _edit_order(e: SemanticEdit) -> tuple[int, int, str, str]:
    span = e.new_span or e.old_span or (0, 0)
    return (span[0], 0 if e.kind == "delete" else 1, e.path, e.kind)


# -- the whole module ---------------------------------------------------------------------

def _full(base: Baseline, text: str, ch: ChangedLines,
          recompile: Recompiler | None = None) -> Delta:
    try:
        tree = ast.parse(text, base.filename)
    except (SyntaxError, ValueError) as exc:
        return _source_error(base, exc, "syntax")
    new_lines = text.split("\n")
    new_nodes: dict[str, ast.AST] = {}
    new_index = build_index(tree, new_lines, new_nodes)
    future = module_future(tree)
    try:
        new_unit = _compile(tree, base.filename, future)
    except (SyntaxError, ValueError) as exc:
        return _source_error(base, exc, "compile")
    old_tree = base.parse()
    old_nodes: dict[str, ast.AST] = {}
    old_index = build_index(old_tree, base.lines, old_nodes)
    old_unit = _compile(old_tree, base.filename, base.future_flags)
    old_defs = [d for d in old_index.values() if d.kind != "module"]
    new_defs = [d for d in new_index.values() if d.kind != "module"]
    old = Side(old_index, old_nodes, _whole_module_codes(
        old_unit, old_defs, base.lines, old_index, base.filename, base.future_flags))
    new = Side(new_index, new_nodes, _whole_module_codes(
        new_unit, new_defs, new_lines, new_index, base.filename, future))
    old.add_children(old_defs)
    new.add_children(new_defs)
    analyzer = Analyzer(old, new, bool(
        (future ^ base.future_flags) & CO_FUTURE_ANNOTATIONS))
    old_module, new_module = old_index[MODULE_PATH], new_index[MODULE_PATH]
    analyzer.members.append(MemberChange(
        old_module, new_module, list(zip(old_module.body, old_tree.body, strict=True)),
        list(zip(new_module.body, tree.body, strict=True))))
    analyzer.run(old.children.get(MODULE_PATH, []), new.children.get(MODULE_PATH, []))
    return _finish(base, text, ch, new_lines, new_index, analyzer.edits, analyzer.rude, future,
                   dict(new.codes), [(tree, new_unit, new_defs)], recompile)


def _whole_module_codes(unit: CodeType, defs: list[Definition], lines: list[str],
                        index: dict[str, Definition], filename: str,
                        flags: int) -> dict[str, CodeType]:
    """Codes of all definitions; those the module's compile dropped as unreachable (after a
    module-level ``raise``) come from their own unit, as the narrow path would see them."""
    codes = pick_codes(unit, defs)
    for d in defs:
        if d.path not in codes:
            try:
                codes[d.path] = compile_definition(lines, index, d.path, filename, flags)
            except (UnitError, SyntaxError, ValueError):
                pass  # unreachable inside its function too: it has no code
    return codes


# -- the narrow path ----------------------------------------------------------------------

class _Incremental:
    def __init__(self, base: Baseline, text: str, ch: ChangedLines,
                 recompile: Recompiler | None = None) -> None:
        self.recompile = recompile
        self.base = base
        self.text = text
        self.ch = ch
        self.old_lines = base.lines
        self.index = base.index
        self.flags = base.future_flags
        n_block = ch.new_last - ch.first + 1
        block = text[ch.start:ch.new_end].split("\n")[:n_block]
        self.new_lines = [*self.old_lines[:ch.first - 1], *block, *self.old_lines[ch.old_last:]]

    def run(self) -> Delta | None:
        ch = self.ch
        if any("__future__" in line for line in (*self.old_lines[ch.first - 1:ch.old_last],
                                                  *self.new_lines[ch.first - 1:ch.new_last])):
            return None  # future flags change how the whole module compiles
        tried_functions = False
        for scope in self._contexts():
            if scope.kind == "function" or outermost_function(self.index, scope) is not None:
                if tried_functions:
                    continue
                tried_functions = True
                root = outermost_function(self.index, scope)
                assert root is not None
                attempt: Callable[[Definition], Delta] = self._function
                target = root
            else:
                attempt = self._statements
                target = scope
            try:
                return attempt(target)
            except (_Retry, UnitError):
                continue
        return None

    def _contexts(self) -> list[Definition]:
        """Definitions whose body holds the whole changed block, innermost first."""
        a, b = self.ch.first, self.ch.old_last
        found = []
        for d in self.index.values():
            if d.kind == "module":
                found.append(d)
                continue
            if d.kind == "lambda" or not d.first < a <= d.first + d.last:
                continue
            start = d.body_start()
            if start is not None and start <= a and b <= d.last_line and a <= d.last_line:
                found.append(d)
        found.sort(key=lambda d: (d.first, d.kind != "module"), reverse=True)
        return found

    # -- parsing a unit and finding the statements in it --------------------------------

    def _parse_unit(self, lines: Sequence[str], heads: list[tuple[int, str]], first: int,
                    last: int) -> tuple[ast.Module, list[ast.stmt]]:
        """Parse a unit; return it and the statements at the innermost level of ``heads``."""
        text = assemble(lines, heads, first, last)
        try:
            tree = ast.parse(text, self.base.filename)
        except (SyntaxError, ValueError) as exc:
            raise _Retry from exc
        body: list[ast.stmt] = tree.body
        for _ in heads:
            if len(body) != 1 or not isinstance(body[0], (ast.If, ast.ClassDef)):
                raise _Retry
            body = body[0].body
        return tree, body

    # -- an edit inside a function: re-read the outermost function ------------------------

    def _function(self, root: Definition) -> Delta:
        ch, index = self.ch, self.index
        start = root.body_start()
        if start is None or not (start <= ch.first and ch.old_last <= root.last_line):
            raise _Retry
        parent = index[root.parent or MODULE_PATH]
        heads = skeleton(self.old_lines, index, parent)
        heads += wrappers(root)
        new_tree, new_body = self._parse_unit(self.new_lines, heads, root.first,
                                              root.last_line + ch.shift)
        if len(new_body) != 1:
            raise _Retry
        new_node = new_body[0]
        if not (isinstance(new_node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and new_node.lineno == root.header_line and new_node.name == root.name):
            raise _Retry
        blocks = root.blocks
        new_defs, new_nodes = self._index_def(self.new_lines, new_node, root, blocks)
        new_root = new_defs[0]
        module = index[MODULE_PATH]
        try:
            new_unit, new_tree = _compile_with_facts(new_tree, module, self.base.filename,
                                               self.flags)
        except (SyntaxError, ValueError) as exc:
            return _source_error(self.base, exc, "compile")
        # The old side: its records are the baseline's; its syntax is only needed to compare
        # the headers of nested definitions (the root's own header did not change).
        first, last = root.first, root.last_line
        old_defs = [root, *(d for d in index.values()
                            if first <= d.first <= last and _inside(index, d, root))]
        old_nodes: dict[str, ast.AST] = {}
        old_codes: Mapping[str, CodeType | None] = {
            d.path: self.base.compare_code(d.path) for d in old_defs}
        if len(old_defs) > 1 or len(new_defs) > 1:
            # nested definitions: their headers are compared, so the old syntax is needed
            old_tree, old_body = self._parse_unit(self.old_lines, heads, root.first,
                                                  root.last_line)
            old_node = old_body[0]
            assert isinstance(old_node, (ast.FunctionDef, ast.AsyncFunctionDef))
            reindexed, old_nodes = self._index_def(self.old_lines, old_node, root, blocks)
            if [d.path for d in reindexed] != [d.path for d in old_defs]:
                raise _Retry
            if None in old_codes.values():
                old_codes = pick_codes(self._compile_old(old_tree), old_defs)
        elif None in old_codes.values():
            # only the code: compile the unit's text, with no syntax tree to build
            text = assemble(self.old_lines, heads, root.first, root.last_line,
                            facts_line(module))
            try:
                old_unit = compile(text, self.base.filename, "exec", flags=self.flags,
                                   dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                raise _Retry from exc
            old_codes = pick_codes(old_unit, old_defs)
        old = Side(index, old_nodes, {p: c for p, c in old_codes.items() if c is not None})
        in_play = {d.path for d in old_defs}
        new_index, shifted = self._rebuild(in_play, new_defs, root, new_root.last_line,
                                           root.last_line)
        new = Side(new_index, new_nodes, pick_codes(new_unit, new_defs))
        old.add_children(old_defs)
        new.add_children(new_defs)
        analyzer = Analyzer(old, new)
        analyzer.run([old_defs[0]], [new_root])
        edits = analyzer.edits + shifted
        return _finish(self.base, self.text, ch, self.new_lines, new_index, edits,
                       analyzer.rude, self.flags, dict(new.codes),
                       [(new_tree, new_unit, new_defs)], self.recompile, in_play)

    def _compile_old(self, tree: ast.Module) -> CodeType:
        try:
            return _compile_with_facts(tree, self.index[MODULE_PATH], self.base.filename,
                                 self.flags)[0]
        except (SyntaxError, ValueError) as exc:  # the baseline compiled once; be safe
            raise _Retry from exc

    def _index_def(self, lines: Sequence[str], node: ast.FunctionDef | ast.AsyncFunctionDef,
                   root: Definition, blocks: tuple[str, ...]
                   ) -> tuple[list[Definition], dict[str, ast.AST]]:
        """Index a function whose path is known (its header did not change)."""
        nodes: dict[str, ast.AST] = {}
        indexer = Indexer(lines, nodes)
        scope = new_scope(self.index[root.parent or MODULE_PATH])
        _, _, suffix = root.path.rpartition("#")
        scope.counts[root.name] = int(suffix) - 1 if "#" in root.path and suffix.isdigit() else 0
        indexer.definition(node, scope, blocks, header=False)
        defs = sorted(indexer.out, key=lambda d: (d.first, d.col, d.ordinal))
        if defs[0].path != root.path:
            raise _Retry
        return defs, nodes

    # -- an edit in a class or module body: re-read a run of statements -------------------

    def _statements(self, scope: Definition) -> Delta:
        ch, index = self.ch, self.index
        a, b = ch.first, ch.old_last
        body = scope.body
        overlapping = [k for k, s in enumerate(body)
                       if scope.first + s.first <= b + 1 and scope.first + s.last >= a - 1]
        if overlapping:
            i, j = overlapping[0], overlapping[-1]
            ca = min(a, scope.first + body[i].first)
            cb = max(b, scope.first + body[j].last)
        else:
            i = sum(1 for s in body if scope.first + s.last < a)
            j = i - 1
            ca, cb = a, b
        if scope.kind != "module":
            start = scope.body_start()
            if start is None or ca < start or cb > scope.last_line:
                raise _Retry
        heads = skeleton(self.old_lines, index, scope)
        old_stmts = self._chunk(self.old_lines, heads, ca, cb, scope)
        new_stmts_ast = self._chunk(self.new_lines, heads, ca, cb + ch.shift, scope)
        if not new_stmts_ast and scope.kind != "module" and i == 0 and j == len(body) - 1:
            raise _Retry  # the body would be empty
        old_tree, old_nodes_list = old_stmts
        new_tree, new_nodes_list = new_stmts_ast
        if len(old_nodes_list) != j + 1 - i:
            raise _Retry
        # index the chunk's definitions as children of ``scope``
        before = [d for d in index.values() if d.parent == scope.path and d.first < ca]
        after_names = {d.name for d in index.values()
                       if d.parent == scope.path and d.first > cb}
        old_defs, old_nodes, _ = self._index_chunk(
            self.old_lines, old_nodes_list, scope, before, i)
        new_defs, new_nodes, new_records = self._index_chunk(
            self.new_lines, new_nodes_list, scope, before, i)
        if {d.name for d in (*old_defs, *new_defs) if d.parent == scope.path} & after_names:
            raise _Retry  # same-named siblings after the chunk would be renumbered
        if [d.path for d in old_defs] != [d.path for d in index.values()
                                           if ca <= d.first <= cb and d.kind != "module"
                                           and d.path != scope.path]:
            raise _Retry  # the old chunk does not index as the baseline did
        new_body = (*body[:i], *new_records, *(s.moved(ch.shift) for s in body[j + 1:]))
        new_scope_record = self._resized(scope, new_body)
        new_module = new_scope_record if scope.kind == "module" else index[MODULE_PATH]
        old_codes: Mapping[str, CodeType | None] = {}
        new_codes: dict[str, CodeType] = {}
        units: list[Compiled] = []
        if new_tree is not None:
            try:
                new_unit, new_tree = _compile_with_facts(new_tree, new_module, self.base.filename,
                                                   self.flags)
            except (SyntaxError, ValueError) as exc:
                return _source_error(self.base, exc, "compile")
            new_codes = pick_codes(new_unit, new_defs)
            units.append((new_tree, new_unit, new_defs))
        if old_tree is not None:
            old_codes = {d.path: self.base.compare_code(d.path) for d in old_defs}
            if None in old_codes.values():
                old_codes = pick_codes(self._compile_old(old_tree), old_defs)
        in_play = {d.path for d in old_defs}
        new_index, shifted = self._rebuild(in_play, new_defs, scope,
                                           new_scope_record.last_line, cb, new_scope_record)
        old = Side(index, old_nodes, {p: c for p, c in old_codes.items() if c is not None})
        new = Side(new_index, new_nodes, new_codes)
        old.add_children(old_defs)
        new.add_children(new_defs)
        analyzer = Analyzer(old, new)
        analyzer.members.append(MemberChange(
            scope, new_scope_record, list(zip(body[i:j + 1], old_nodes_list, strict=True)),
            list(zip(new_records, new_nodes_list, strict=True))))
        analyzer.run([d for d in old_defs if d.parent == scope.path],
                     [d for d in new_defs if d.parent == scope.path])
        edits = analyzer.edits + shifted
        return _finish(self.base, self.text, ch, self.new_lines, new_index, edits,
                       analyzer.rude, self.flags, new_codes, units, self.recompile, in_play)

    def _chunk(self, lines: Sequence[str], heads: list[tuple[int, str]], first: int, last: int,
               scope: Definition) -> tuple[ast.Module | None, list[ast.stmt]]:
        """Parse lines ``first..last`` as statements of ``scope``'s body."""
        if all(not line.strip() or line.lstrip().startswith("#")
               for line in lines[first - 1:last]):
            return None, []
        tree, stmts = self._parse_unit(lines, heads, first, last)
        if scope.kind != "module":
            col = scope.body[0].col
            indent = _indent(self.old_lines, scope.first + scope.body[0].first, col)
            for node in stmts:
                line = lines[node.lineno - 1]
                if node.col_offset != col or not line.startswith(indent):
                    raise _Retry
        return tree, stmts

    def _index_chunk(self, lines: Sequence[str], stmts: list[ast.stmt], scope: Definition,
                     before: list[Definition], offset: int
                     ) -> tuple[list[Definition], dict[str, ast.AST], list[Stmt]]:
        nodes: dict[str, ast.AST] = {}
        indexer = Indexer(lines, nodes)
        s = new_scope(scope)
        for d in before:
            s.counts[d.name] = s.counts.get(d.name, 0) + 1
        # lambdas on a line count across scopes; no chunk line is shared with the rest
        indexer.body(stmts, s)
        records = list(indexer.statements(stmts, scope.first, scope.kind, offset))
        defs = sorted(indexer.out, key=lambda d: (d.first, d.col, d.ordinal))
        return defs, nodes, records

    # -- the next index ----------------------------------------------------------------

    def _resized(self, scope: Definition, body: tuple[Stmt, ...]) -> Definition:
        if scope.kind == "module":
            return scope.replaced(body=body, last=max(len(self.new_lines) - 1, 0))
        return scope.replaced(body=body, last=body[-1].last)

    def _rebuild(self, in_play: set[str], new_defs: list[Definition], changed: Definition,
                 new_last_line: int, old_region_last: int,
                 changed_record: Definition | None = None
                 ) -> tuple[dict[str, Definition], list[SemanticEdit]]:
        """The next index (in-play records replaced, ancestors resized, later ones moved) and
        a ``line_shift`` edit for each definition that moved."""
        shift = self.ch.shift
        index = self.index
        updated: dict[str, Definition] = {}
        if changed_record is not None:
            updated[changed.path] = changed_record
        child_old_last, child_new_last = changed.last_line, new_last_line
        child_first = changed.first
        p = changed.parent
        while p is not None:
            a = index[p]
            # statements wholly above the child stay, the one holding it is resized, the
            # rest move (a body is in source order: bisect, then move the tail in one go)
            rel = child_first - a.first
            k = bisect_left(a.body, rel, key=_stmt_last)
            body = list(a.body[:k])
            rest = a.body[k:]
            while rest and rest[0].first <= rel:
                s_last = a.first + rest[0].last
                new_last = child_new_last if s_last == child_old_last else s_last + shift
                body.append(rest[0].resized(new_last - a.first))
                rest = rest[1:]
            body.extend(map(Stmt.moved, rest, repeat(shift)) if shift else rest)
            record = self._resized(a, tuple(body))
            updated[a.path] = record
            child_old_last, child_new_last = a.last_line, record.last_line
            child_first = a.first
            p = a.parent
        # the index is in source order: the definitions below the region are its tail
        items = list(index.items())
        # (the module itself, first, never moves: an edit above its first statement is in it)
        cut = max(1, bisect_right(items, old_region_last, key=_item_first))
        out: list[Definition] = []
        placed = False
        interleaved = False
        for path, d in items[:cut]:
            if path in in_play:
                if not placed:
                    out.extend(new_defs)
                    placed = True
                continue
            if path in updated:
                out.append(updated[path])
            else:
                if placed and new_defs and d.first >= new_defs[0].first:
                    interleaved = True  # e.g. a lambda in the decorator of a rebuilt def
                out.append(d)
        shifted: list[SemanticEdit] = []
        if shift:
            line_shift = SemanticEdit.line_shift
            for path, d in items[cut:]:
                out.append(d.moved(shift))
                first = d.first
                last = first + d.last
                shifted.append(line_shift(path, TARGET_OF_KIND[d.kind], (first, last),
                                          (first + shift, last + shift), d.parent or "",
                                          d.name))
        else:
            out.extend(d for _path, d in items[cut:])
        if not placed or interleaved:
            return in_source_order([d for d in out if d not in new_defs] + new_defs
                                   if placed else [*out, *new_defs]), shifted
        return {d.path: d for d in out}, shifted


def _stmt_last(s: Stmt) -> int:
    return s.last


def _item_first(item: tuple[str, Definition]) -> int:
    return item[1].first


def _inside(index: dict[str, Definition], d: Definition, root: Definition) -> bool:
    """Is ``d`` nested (at any depth) in ``root``?"""
    if not root.first <= d.first <= root.last_line:
        return False
    parent = d.parent
    while parent is not None:
        if parent == root.path:
            return True
        parent = index[parent].parent
    return False


def _indent(lines: Sequence[str], line: int, col: int) -> str:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    indent = text[:col]
    return indent if len(indent) == col and not indent.strip() else " " * col
