"""What an apply's plan needs to know about the scopes it changes, as a fresh import sees them.

A fresh import runs the module's statements in order: a definition in a branch it does not
take is never made, a later statement may bind a name again, a decorator runs against the
object its name holds at that point. The plan reproduces that where it runs new code: blocks
that only bind names run with their definitions marked, overloads above a definition do not
take its name, definitions decorated by a rebuilt name are rebuilt after it, and wrappers that
copied a function's annotations and docstring get the new ones. A mixin of the applier's plan.
"""

from __future__ import annotations

import re
from types import FunctionType, ModuleType
from typing import Any

from relive.delta import MODULE_PATH, Baseline, Definition, Delta, SemanticEdit
from relive.runtime.apply.live import LiveIndex
from relive.runtime.apply.scratch import Evaluator, mangle
from relive.runtime.apply.transaction import MISSING, Transaction

# what a definition in a branch that a fresh import would not take binds: nothing
NOT_RUN = object()


class ScopePlanning:
    """The scope rules of a plan (see the module docstring); state lives in the plan."""

    old: Baseline
    new: Baseline
    delta: Delta
    module: ModuleType
    live: LiveIndex
    ev: Evaluator
    txn: Transaction
    warnings: list[str]
    replaced: list[str]
    new_objects: list[object]
    # blocks that only bind names, run once: (run in the shared namespace?, objects bound by
    # their definitions by first line), by (scope path, first line)
    # by (scope path, first line) of a block: shared?, what its definitions made by line,
    # the names still bound when it ended
    _guards: dict[tuple[str, int], tuple[bool, dict[int, Any], frozenset[str]]]
    _edit_kinds: dict[str, SemanticEdit] | None
    _dependents: set[str]  # definitions rebuilt for a rebuilt decorator
    # the first line of the last unconditional def/class of each (scope path, name)
    _last_defs: dict[tuple[str, str], int] | None

    def init_scopes(self) -> None:
        self._guards = {}
        self._edit_kinds = None
        self._dependents = set()
        self._last_defs = None

    def find(self, d: Definition) -> list[FunctionType]:
        raise NotImplementedError

    def _copied_by_wrappers(self, d: Definition, fn: FunctionType,
                            values: dict[str, Any]) -> None:
        """Give the new ``values`` to the wrappers around ``fn`` (``functools.wraps``,
        ``contextmanager``) that copied those attributes from it when they were made: a fresh
        import's wrapper has the new ones."""
        chain: list[object] = []
        obj = self.live.bound_object(self.old.index, d)
        while obj is not None and obj is not fn and len(chain) < 8:
            chain.append(obj)
            obj = getattr(obj, "__wrapped__", None) or getattr(obj, "__func__", None)
        if obj is not fn:
            return  # the name is bound to something that does not wrap it
        for wrapper in chain:
            for attr, value in values.items():
                try:
                    copied = getattr(wrapper, attr) is getattr(fn, attr)
                except AttributeError:
                    continue
                if copied:
                    self.txn.set(wrapper, attr, value)

    def _rebuild_dependents(self, d: Definition) -> None:
        """Rebuild the module's later definitions whose decorators use ``d``'s rebuilt name
        (``@cli.command()`` under a rebuilt ``@click.group() def cli``): their decorators ran
        against the old object, and a fresh import runs them against the new one."""
        if (d.parent or MODULE_PATH) != MODULE_PATH:
            return
        word = re.compile(rf"(?<![\w.]){re.escape(d.name)}\b")
        edits = self._edits_by_path()
        lines = self.new.lines
        for x in list(self.new.index.values()):
            if ((x.parent or MODULE_PATH) != MODULE_PATH or x.kind not in ("function", "class")
                    or x.first <= d.last_line or x.conditional or x.header == 0
                    or x.path in self._dependents):
                continue
            e = edits.get(x.path)
            if e is not None and e.kind in ("insert", "replace"):
                continue  # run by its own edit, after this one
            if not word.search("\n".join(lines[x.first - 1:x.header_line - 1])):
                continue
            self._dependents.add(x.path)
            obj = self.ev.run_definition(x)
            if not self._rebound_later(x):
                self.txn.set(self.module, x.name, obj)
                self._rebuild_dependents(x)
            self.new_objects.append(obj)
            self.replaced.append(x.path)
            self.warnings.append(f"{x.path} was rebuilt because its decorators use "
                                 f"{d.name}, which was rebuilt: references to the old object "
                                 f"held elsewhere keep the old one")

    def _edits_by_path(self) -> dict[str, SemanticEdit]:
        if self._edit_kinds is None:
            self._edit_kinds = {e.path: e for e in self.delta.edits
                                if e.target in ("function", "class")}
        return self._edit_kinds

    def _run_definition(self, d: Definition) -> Any:
        """Run ``d``'s statement; return what it bound. A definition in a block that only
        binds names (``try: import x`` / ``except ImportError: def x``) runs as part of that
        block, so that it is made only if a fresh import would take its branch; if it would
        not, ``NOT_RUN``."""
        guard = self._guard_of(d)
        if guard is None:
            return self.ev.run_definition(d)
        ran = self._run_guard(*guard, shared=False)
        scope, first, _last = guard
        if mangle(scope, d.name) not in self._guards[(scope.path, first)][2]:
            return NOT_RUN  # the block takes it away again (``del _Meta``)
        return ran.get(d.first, NOT_RUN)

    def _in_branch_not_taken(self, d: Definition, itself: bool = False) -> bool:
        """Is a class around ``d`` (or ``d`` itself) made in a branch of a block that a
        fresh import would not take (``if TYPE_CHECKING:``)? Then the running program has
        no such class, rightly, and an edit inside it has nothing to change."""
        c = d if itself else self.new.index.get(d.parent or MODULE_PATH)
        while c is not None and c.kind == "class":
            guard = self._guard_of(c)
            if guard is not None and c.first not in self._run_guard(*guard, shared=False):
                return True
            c = self.new.index.get(c.parent or MODULE_PATH)
        return False

    def _guard_of(self, d: Definition) -> tuple[Definition, int, int] | None:
        """The block of ``d``'s module or class body that holds ``d``, with its first and
        last lines, if it is a block that only binds names."""
        if not d.conditional:
            return None
        scope = self.new.index.get(d.parent or MODULE_PATH)
        if scope is None or scope.kind not in ("module", "class"):
            return None
        for s in scope.body:
            first, last = scope.first + s.first, scope.first + s.last
            if first <= d.first <= last:
                return (scope, first, last) if s.kind == "bindings" else None
        return None

    def _run_guard(self, scope: Definition, first: int, last: int,
                   shared: bool) -> dict[int, Any]:
        """Run a block that only binds names (once per apply); return what its definitions
        bound, by first line. ``shared``: the block itself changed, so what it binds is
        set on the live module or class, and seen by the statements after it."""
        key = (scope.path, first)
        done = self._guards.get(key)
        if done is not None and (done[0] or not shared):
            return done[1]
        bound, ran = self.ev.run_block(scope, first, last, self._kept(scope, first, last),
                                       fresh=not shared)
        self._guards[key] = (shared, ran, frozenset(bound))
        if shared:
            owner = self.ev.live_scope(scope)
            for name, value in bound.items():
                if vars(owner).get(name, MISSING) is not value or name in self.ev.prebound:
                    self.txn.set(owner, name, value)
        return ran

    def _kept(self, scope: Definition, first: int, last: int) -> dict[int, Any]:
        """By first line, the live objects of the definitions in a block that stay what they
        are (updated in place, or unchanged), and that the program's name still binds."""
        edits = self._edits_by_path()
        owner = self.ev.live_scope(scope)
        kept: dict[int, Any] = {}
        for d in self.new.index.values():
            if d.parent != scope.path or not first <= d.first <= last or d.kind == "lambda":
                continue
            e = edits.get(d.path)
            if e is not None and e.kind not in ("update", "line_shift"):
                continue  # inserted or rebuilt: it runs
            old_d = self.old.index.get(e.old_path or d.path if e is not None else d.path)
            if old_d is None or owner is None:
                continue
            live = vars(owner).get(mangle(scope, d.name))
            if old_d.kind == "class":
                if (isinstance(live, type) and live.__qualname__ == old_d.qualname
                        and live.__module__ == self.module.__name__):
                    kept[d.first] = live
            elif live is not None and unwraps_to(live, self.find(old_d)):
                kept[d.first] = live
        return kept

    def _rebound_later(self, d: Definition) -> bool:
        """Does a later statement of ``d``'s scope always bind ``d``'s name again (an
        ``@overload`` above the real definition)? Then a fresh import ends with that later
        binding, and ``d``'s object must not take the name."""
        scope_path = d.parent or MODULE_PATH
        scope = self.new.index[scope_path]
        end = d.last_line
        if any(s.kind != "def" and d.name in s.names and scope.first + s.first > end
               for s in scope.body):
            return True
        last = self._last_defs
        if last is None:  # one pass over the index per apply, on the first insert or rebuild
            last = self._last_defs = {}
            for x in self.new.index.values():
                if x.kind in ("function", "class") and not x.conditional:
                    key = (x.parent or MODULE_PATH, x.name)
                    last[key] = max(last.get(key, 0), x.first)
        return last.get((scope_path, d.name), 0) > end


def unwraps_to(obj: object, fns: list[FunctionType]) -> bool:
    seen = 0
    while obj is not None and seen < 8:
        if any(obj is fn for fn in fns):
            return True
        obj = getattr(obj, "__wrapped__", None) or getattr(obj, "__func__", None)
        seen += 1
    return False
