"""The plan of an apply: every change one delta makes, worked out without making it.

For each semantic edit, through a table of every pair of edit kind and target
(:data:`_HANDLERS`; a pair missing there is refused, never skipped): compile the new code, find
the live objects of the definition (:mod:`relive.runtime.apply.live`), run what must run — new
definitions with their decorators, new values, new imports — in scratch namespaces
(:mod:`relive.runtime.apply.scratch`), and note each change as an attribute assignment of a
:class:`~relive.runtime.apply.transaction.Transaction`. The steps around the plan (the checks
before it, the commit, what follows) are :mod:`relive.runtime.apply.pipeline`.
"""

from __future__ import annotations

import ast
import enum
import functools
from collections import ChainMap
from collections.abc import Callable, Iterable
from types import CodeType, FunctionType
from typing import Any

from relive.delta import (
    MODULE_PATH,
    Definition,
    Delta,
    EditKind,
    EditTarget,
    RudeEdit,
    RudeEditKind,
    SemanticEdit,
)
from relive.delta.units import (
    Compiler,
    UnitError,
    body_positions,
    compile_definition,
    compile_unit,
    deep_key,
    definition_unit,
    find_code,
)
from relive.runtime.apply import scope_annotations
from relive.runtime.apply.branches import Branch, branch_state, in_block
from relive.runtime.apply.codetools import docstring_of, shift_code, tombstone_code
from relive.runtime.apply.holders import holders
from relive.runtime.apply.live import (
    code_key,
    definition_key,
    live_index,
    needs_heap,
    scope_in_heap,
    scope_object,
    why_none,
)
from relive.runtime.apply.migration import migrate_instances, migrate_plain_instances
from relive.runtime.apply.scopes import NOT_RUN, ScopePlanning, unwraps_to
from relive.runtime.apply.scratch import Evaluator, mangle
from relive.runtime.apply.transaction import MISSING, Transaction
from relive.runtime.registry import TrackedModule
from relive.runtime.remap import schedule

# what the dataclass machinery generates on a class, copied from a rebuilt one
_DATACLASS_NAMES = ("__init__", "__repr__", "__eq__", "__hash__", "__lt__", "__le__", "__gt__",
                    "__ge__", "__match_args__", "__dataclass_fields__", "__dataclass_params__",
                    "__setattr__", "__delattr__", "__replace__", "__annotations__")

class Refused(Exception):
    def __init__(self, reason: str, rude: Iterable[RudeEdit] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rude = tuple(rude)


class Plan(ScopePlanning):
    """Works out every change one delta makes, as a transaction, without making it."""

    def __init__(self, tracked: TrackedModule, delta: Delta,
                 compiler: Compiler | None) -> None:
        assert delta.next_baseline is not None
        self.tracked = tracked
        self.delta = delta
        self.old = tracked.baseline
        self.new = delta.next_baseline
        self.live = live_index(tracked)
        self.module = tracked.module
        self.compiler = compiler
        self.ev = Evaluator(self.module, self.new, compiler)
        self.txn = Transaction()
        self.rude: list[RudeEdit] = []
        self.warnings: list[str] = []
        self.updated: list[str] = []
        self.inserted: list[str] = []
        self.deleted: list[str] = []
        self.replaced: list[str] = []
        # replaced code objects by id (code compares by value: two versions may be equal)
        self.old_codes: dict[int, tuple[CodeType, str]] = {}
        self.rekeys: list[tuple[FunctionType, tuple[str, int]]] = []
        self.new_objects: list[object] = []
        self.remap: list[schedule.ReplacedCode] = []
        self.new_codes: list[CodeType] = []
        self._units: dict[str, CodeType] = {}
        self._heap_scanned = False
        self._closures_scanned = False
        self._key_counts: dict[tuple[str, int], int] | None = None
        self._may_run: Callable[[CodeType], bool] | None = None
        self._annotated: dict[str, Any] = {}  # scope path: live owner, annotations to rebuild
        self.init_scopes()

    # -- helpers ----------------------------------------------------------------------

    def new_code(self, d: Definition) -> CodeType | None:
        """The new code object of ``d`` (compiled once per compile unit)."""
        cached: CodeType | None = self.new.cached_code(
            d.path, "plain" if self.compiler is None else "recompiled")
        if cached is not None:
            return cached
        text, root = definition_unit(self.new.lines, self.new.index, d)
        unit = self._units.get(root.path)
        if unit is None:
            try:
                unit = compile_unit(text, self.new.filename, self.new.future_flags,
                                    self.compiler)
            except (SyntaxError, ValueError) as exc:
                raise Refused(f"{d.path}: cannot compile: {exc}") from exc
            self._units[root.path] = unit
        try:
            return find_code(unit, d)
        except UnitError:
            return None  # unreachable code: no code object

    def find(self, d: Definition) -> list[FunctionType]:
        """The live functions running the old code of ``d``."""
        self.refresh(needs_heap(self.old.index, d))
        bound = self.live.bound_object(self.old.index, d)
        if bound is not None:
            self.live.walk([bound])
        return self._only(d, self.live.functions(definition_key(d)))

    def refresh(self, closures: bool = False) -> None:
        """Bring the live index up to date, once per apply (twice if a definition made at run
        time comes after others): functions are found by their code wherever the program holds
        them (see :mod:`relive.runtime.apply.heap`)."""
        if not self._heap_scanned or (closures and not self._closures_scanned):
            self._heap_scanned = True
            self._closures_scanned |= closures
            self.live.scan(closures)
        self.live.ensure_built()

    def _shared_keys(self) -> dict[tuple[str, int], int]:
        """How many lambdas of the old source have each (qualname, first line). Only lambdas
        can share one: ``def`` and ``class`` are compound statements, so no two of them start
        on the same line, and a lambda's qualname differs from theirs."""
        counts: dict[tuple[str, int], int] | None = self._key_counts
        if counts is None:
            counts = {}
            for x in self.old.index.values():
                if x.kind == "lambda":
                    key = definition_key(x)
                    counts[key] = counts.get(key, 0) + 1
            self._key_counts = counts
        return counts

    def _only(self, d: Definition, fns: list[FunctionType]) -> list[FunctionType]:
        """Tell apart definitions that share a name and a first line (two lambdas on one
        line) by comparing the live code with the old definition's code."""
        if not fns or d.kind != "lambda" or self._shared_keys().get(definition_key(d), 0) < 2:
            return fns
        try:
            old_code = compile_definition(self.old.lines, self.old.index, d.path,
                                          self.old.filename, self.old.future_flags,
                                          self.compiler)
        except (UnitError, SyntaxError, ValueError):
            return []
        wanted = deep_key(old_code)
        same = [fn for fn in fns if deep_key(fn.__code__) == wanted]
        if len(same) > 1:  # identical code (``(lambda: 'x', lambda: 'x')``): their columns
            where = body_positions(old_code)
            at = [fn for fn in same if body_positions(fn.__code__) == where]
            return at or same
        return same

    def owner(self, index: dict[str, Definition], d: Definition) -> Any:
        """The live module or class that binds ``d``'s name (None inside a function)."""
        return scope_object(self.module, index, d)

    def frames_test(self) -> Callable[[CodeType], bool]:
        """Could a frame be running a code (so that a remap must be considered)? The stacks
        are read once per apply."""
        test = self._may_run
        if test is None:
            test = self._may_run = schedule.frames_test(schedule.codes_on_stacks())
        return test

    def set_code(self, fn: FunctionType, code: CodeType, path: str,
                 old_d: Definition | None = None, new_d: Definition | None = None) -> None:
        old = schedule.unalias(fn.__code__)
        if old_d is not None and new_d is not None:
            self.remap.append(schedule.ReplacedCode(path, old, code, old_d, new_d))
        self.old_codes.setdefault(id(old), (old, path))
        self.old_codes.setdefault(id(fn.__code__), (fn.__code__, path))
        self.rekeys.append((fn, code_key(fn.__code__)))
        self.new_codes.append(code)
        self.txn.set(fn, "__code__", code)
        for wrapper in self.live.caches_of(fn):
            self.txn.clear_cache(wrapper)

    # -- the plan ----------------------------------------------------------------------

    def build(self) -> None:
        moved: list[SemanticEdit] = []
        for e in self.delta.edits:
            if e.kind is EditKind.LINE_SHIFT and e.target in _CODE_TARGETS:
                moved.append(e)  # most of a delta, often: done in one pass below
                continue
            handler = _HANDLERS.get((e.kind, e.target))
            if handler is None:
                raise Refused(f"{e.path}: relive cannot apply an edit of kind {e.kind} to a "
                               f"{e.target} (no handler: a relive bug); nothing was changed")
            if not self._branch_ran(e):
                continue  # code that never ran: a fresh import would not run it either
            handler(self, e)
        if moved:
            self._line_shift_functions(moved)
        for path, owner in self._annotated.items():
            scope = self.new.index.get(path)
            code = self.new_code(scope) if scope is not None else None
            if code is not None:
                scope_annotations.rebuild_deferred(self.txn, owner, code)
        self._migrate_plain_instances()

    def _branch_ran(self, e: SemanticEdit) -> bool:
        """Did the conditional branch that holds the edited definition (or the class of an
        edited name) run in the live process? An edit of code that did not run changes
        nothing live; where it cannot be told, the edit is applied and RL3005 says so
        (see :mod:`relive.runtime.apply.branches`). Functions are found by their code, so their
        updates and moves need no answer, nor does a class that only moved."""
        if e.kind == "update" and e.target in ("function", "lambda"):
            return True
        old_side = e.kind == "delete"
        index = (self.old if old_side else self.new).index
        if e.target in ("function", "class", "lambda"):
            d = index.get(e.old_path or e.path if old_side else e.path)
        else:
            d = index.get(e.scope or MODULE_PATH)
        if d is None or not in_block(index, d):
            return True
        state = branch_state(self.module, self.old if old_side else self.new, d,
                             self.tracked.filename,
                             (lambda line: line) if old_side else self.delta.map_line,
                             self.ev.live_scope,
                             inside=e.target not in ("function", "class", "lambda"),
                             # a test may read a name this apply binds above the block
                             names=ChainMap(self.ev.namespaces.get(MODULE_PATH, {}),
                                            vars(self.module)))
        if state is Branch.NOT_RAN:
            return False
        if state is Branch.UNKNOWN and e.kind != "line_shift" and self._guard_of(d) is None:
            # (a block that only binds names is run by the apply itself: its branch is known)
            self.rude.append(RudeEdit.make(
                RudeEditKind.CONDITIONAL_BRANCH_UNKNOWN, d.header_line, e.path,
                f"line {d.header_line}"))
        return True

    def old_def(self, e: SemanticEdit) -> Definition:
        return self.old.index[e.old_path or e.path]

    def new_def(self, e: SemanticEdit) -> Definition:
        return self.new.index[e.path]

    # functions and lambdas

    def _update_function(self, e: SemanticEdit) -> None:
        old_d, new_d = self.old_def(e), self.new_def(e)
        fns = self.find(old_d)
        code = self.new_code(new_d)
        if code is None:
            return
        if not fns:
            # in a conditional block (or a class of one) its branch may never have run
            if (not needs_heap(self.old.index, old_d) and not in_block(self.old.index, old_d)
                    and not self._in_branch_not_taken(new_d)):
                self.warnings.append(why_none(e.path))
            return
        scoped = not needs_heap(self.new.index, new_d)
        fresh = None
        if scoped and set(e.reasons) & {"defaults", "signature", "annotations", "docstring"}:
            fresh = self.ev.run_definition(new_d, decorators=False)
        mismatched = [fn for fn in fns if fn.__code__.co_freevars != code.co_freevars]
        if mismatched and not scoped:
            raise Refused(
                f"{e.path}: {len(mismatched)} live closure(s) capture other variables",
                [RudeEdit.make(RudeEditKind.LIVE_CLOSURES_SHAPE, new_d.header_line, e.path,
                               str(len(mismatched)))])
        for fn in fns:
            if fn in mismatched:
                continue
            self.set_code(fn, code, e.path, old_d, new_d)
            if isinstance(fresh, FunctionType):
                annotations = scope_annotations.function_annotations(fresh)
                self._copied_by_wrappers(old_d, fn, {annotations[0]: annotations[1],
                                                     "__doc__": fresh.__doc__})
                for attr in ("__defaults__", "__kwdefaults__", "__doc__"):
                    self.txn.set(fn, attr, getattr(fresh, attr))
                self.txn.set(fn, *scope_annotations.function_annotations(fresh))
            elif "docstring" in e.reasons:
                self._copied_by_wrappers(old_d, fn, {"__doc__": docstring_of(code)})
                self.txn.set(fn, "__doc__", docstring_of(code))
        if mismatched:  # a method that starts or stops using super(): rebuild it
            self._rebuild(e, old_d, new_d)
        self.updated.append(e.path)


    def _line_shift_functions(self, edits: list[SemanticEdit]) -> None:
        """Move the live functions of definitions that only moved to their new lines.

        One ``code.replace`` per function cannot be avoided (a code object holds its first
        line); what is around it is kept to lookups, as a delta has one such edit for each
        definition below the edited lines."""
        old_index = self.old.index
        new_index = self.new.index
        self.refresh()
        functions = self.live.functions
        unalias = schedule.unaliaser()
        may_run = self.frames_test()
        set_attr = self.txn.set
        remap = self.remap
        heap_scopes: dict[str | None, bool] = {}  # scope path: made at run time?
        for e in edits:
            old_d = old_index[e.old_path or e.path]
            assert e.old_span is not None and e.new_span is not None
            by = e.new_span[0] - e.old_span[0]
            in_heap = heap_scopes.get(old_d.parent)
            if in_heap is None:
                in_heap = heap_scopes[old_d.parent] = scope_in_heap(old_index, old_d.parent)
            if in_heap or old_d.kind == "lambda":
                fns = self.find(old_d)
            else:  # the index is current for names of modules and classes: no walk needed
                fns = functions((old_d.qualname, old_d.first))  # (a lambda needs the heap)
            for fn in fns:
                code = fn.__code__
                old_code = unalias(code)
                shifted = shift_code(old_code, by)
                # a frame runs it: move it to the right lines too
                if may_run(old_code) or (old_code is not code and may_run(code)):
                    remap.append(schedule.ReplacedCode(e.path, old_code, shifted, old_d,
                                                     new_index[e.path], by))
                set_attr(fn, "__code__", shifted)

    def _line_shift_class(self, e: SemanticEdit) -> None:
        cls = self._live_class(self.old.index, self.old_def(e))
        if cls is not None and "__firstlineno__" in vars(cls) and e.new_span \
                and vars(cls).get("__module__") == self.module.__name__:  # not a foreign one
            self.txn.set(cls, "__firstlineno__", e.new_span[0])
        if cls is not None and e.new_span and e.old_span:
            scope_annotations.shift_deferred(self.txn, cls, e.new_span[0] - e.old_span[0])

    def _replace_function(self, e: SemanticEdit) -> None:
        old_d, new_d = self.old_def(e), self.new_def(e)
        if needs_heap(self.new.index, new_d):
            return  # nested: the enclosing function's update makes new ones
        code = self.new_code(new_d)
        # the undecorated function behind the old object runs the new body too
        for fn in self.find(old_d):
            if code is not None and fn.__code__.co_freevars == code.co_freevars:
                self.set_code(fn, code, e.path, old_d, new_d)
        self._rebuild(e, old_d, new_d)

    def _made_in_owner(self, e: SemanticEdit, new_d: Definition) -> tuple[Any, Any] | None:
        """The new object of ``new_d`` made by running its statement, with the object that
        will hold it; None where no fresh import would make it (a branch not taken)."""
        if self._in_branch_not_taken(new_d):
            return None
        obj = self._run_definition(new_d)
        if obj is NOT_RUN:
            return None
        owner = self.owner(self.new.index, new_d)
        if owner is None:
            raise Refused(f"{e.path}: its class is not in the running program")
        return obj, owner

    def _rebuild(self, e: SemanticEdit, old_d: Definition, new_d: Definition) -> None:
        made = self._made_in_owner(e, new_d)
        if made is None:
            return
        obj, owner = made
        if not self._rebound_later(new_d):
            self.txn.set(owner, mangle(self.ev.scope_of(new_d), new_d.name), obj)
            self._rebuild_dependents(new_d)
        self.new_objects.append(obj)
        self.replaced.append(e.path)
        self.warnings.append(f"{e.path} was rebuilt: references to the old object held "
                             f"elsewhere keep the old one")

    def _insert_function(self, e: SemanticEdit) -> None:
        new_d = self.new_def(e)
        if needs_heap(self.new.index, new_d):
            return  # nested: made by the enclosing function, whose code is updated
        made = self._made_in_owner(e, new_d)
        if made is None:
            return
        obj, owner = made
        obj = self._revive(e, obj)
        if not self._rebound_later(new_d):
            self.txn.set(owner, mangle(self.ev.scope_of(new_d), new_d.name), obj)
        self.new_objects.append(obj)
        self.inserted.append(e.path)


    def _revive(self, e: SemanticEdit, obj: Any) -> Any:
        """An inserted plain function takes the place of its tombstone, if there is one."""
        graves = self.tracked.tombstones.get(e.path)
        if not graves or type(obj) is not FunctionType:
            return obj
        self.txn.after.append(functools.partial(self._bury, e.path, None))
        for fn, _tomb in graves:
            if fn.__code__.co_freevars == obj.__code__.co_freevars:
                self.rekeys.append((fn, code_key(fn.__code__)))
                for attr in ("__code__", "__defaults__", "__kwdefaults__", "__doc__"):
                    self.txn.set(fn, attr, getattr(obj, attr))
                self.txn.set(fn, *scope_annotations.function_annotations(obj))
                return fn
        return obj

    def _bury(self, path: str, graves: list[tuple[FunctionType, CodeType]] | None) -> None:
        """After the commit: keep the tombstoned functions of ``path`` (None: they are revived)."""
        if graves is None:
            self.tracked.tombstones.pop(path, None)
        else:
            self.tracked.tombstones.setdefault(path, []).extend(graves)

    def _delete_function(self, e: SemanticEdit) -> None:
        old_d = self.old_def(e)
        fns = self.find(old_d)
        graves = []
        for fn in fns:
            tomb = tombstone_code(fn.__code__, e.path, self.tracked.name, self.new.generation)
            self.old_codes.setdefault(id(fn.__code__), (fn.__code__, e.path))
            self.txn.set(fn, "__code__", tomb)
            graves.append((fn, tomb))
        if graves:
            self.txn.after.append(functools.partial(self._bury, e.path, graves))
        self._unbind(old_d, lambda obj: obj in fns or unwraps_to(obj, fns))
        self._held_elsewhere(old_d, old_d.name, old_d.header_line,
                             lambda obj: unwraps_to(obj, fns))
        self.deleted.append(e.path)


    def _delete_class(self, e: SemanticEdit) -> None:
        old_d = self.old_def(e)
        self._unbind(old_d, lambda obj: isinstance(obj, type)
                     and obj.__qualname__ == old_d.qualname)
        cls = self._live_class(self.old.index, old_d)
        if cls is not None:
            self._held_elsewhere(old_d, old_d.name, old_d.header_line, lambda obj: obj is cls)
        self.deleted.append(e.path)

    def _held_elsewhere(self, old_d: Definition | None, name: str, line: int,
                        is_it: Callable[[object], bool]) -> None:
        """RL4004: a module-level name deleted here that other tracked modules still hold
        (``from m import name``): say so, naming them."""
        if old_d is not None and old_d.parent not in (None, MODULE_PATH):
            return  # a method or a nested function: not importable by name
        found = holders(self.tracked, name, is_it)
        if found:
            self.rude.append(RudeEdit.make(RudeEditKind.DELETED_BUT_IMPORTED, line,
                                           old_d.path if old_d else name, ", ".join(found)))

    def _unbind(self, old_d: Definition, is_it: Any) -> None:
        if needs_heap(self.old.index, old_d):
            return
        owner = self.owner(self.old.index, old_d)
        if owner is None:
            return
        scope = self.old.index[old_d.parent or MODULE_PATH]
        name = mangle(scope, old_d.name)
        if self._still_bound(scope.path, old_d.name):
            return
        bound = self.txn.pending(owner, name)
        if bound is not MISSING and is_it(bound):
            self.txn.delete(owner, name)

    def _still_bound(self, scope_path: str, name: str) -> bool:
        """Does the new source still bind ``name`` in that scope (another def, a statement)?"""
        scope = self.new.index.get(scope_path)
        if scope is None:
            return False
        if any(name in s.names for s in scope.body if s.kind != "def"):
            return True
        return any(d.parent == scope_path and d.name == name and d.kind != "lambda"
                   for d in self.new.index.values())

    # classes

    def _update_class(self, e: SemanticEdit) -> None:
        if "fields" in e.reasons:
            self._regenerate_dataclass(e)

    def _live_class(self, index: dict[str, Definition], d: Definition) -> type | None:
        owner = self.owner(index, d)
        cls = None if owner is None else vars(owner).get(d.name)
        return cls if isinstance(cls, type) else None

    def _regenerate_dataclass(self, e: SemanticEdit) -> None:
        new_d = self.new_def(e)
        cls = self._live_class(self.old.index, self.old_def(e))
        if cls is None or needs_heap(self.new.index, new_d):
            return
        fresh = self.ev.run_definition(new_d)
        if not isinstance(fresh, type) or not hasattr(fresh, "__dataclass_fields__"):
            return
        for name in _DATACLASS_NAMES:
            if name in vars(fresh):
                self.txn.set(cls, name, vars(fresh)[name])
            elif name in vars(cls) and name != "__annotations__":
                self.txn.delete(cls, name)
        old_fields = dict(getattr(cls, "__dataclass_fields__", {}))
        new_fields = dict(fresh.__dataclass_fields__)
        self.txn.after.append(lambda: migrate_instances(cls, old_fields, new_fields))
        self.updated.append(e.path)

    def _migrate_plain_instances(self) -> None:
        """After an ``__init__`` that sets new attributes (RL1009), let the class's
        ``__relive_migrate__``, if it defines one once the delta is in, fill them in on the
        instances that exist."""
        for r in self.delta.rude_edits:
            if r.kind is not RudeEditKind.INIT_ATTRIBUTES_ADDED:
                continue
            init = self.new.index.get(r.path)
            scope = self.old.index.get(init.parent or "") if init is not None else None
            cls = None if scope is None else self._live_class(self.old.index, scope)
            if cls is not None:
                self.txn.after.append(_migrator(cls))

    # names bound by statements

    def _statement(self, e: SemanticEdit) -> None:
        assert e.new_span is not None
        scope = self.new.index[e.scope or MODULE_PATH]
        owner = self.ev.live_scope(scope)
        if owner is None:
            if scope.kind == "class" and self._in_branch_not_taken(scope, itself=True):
                return  # the class is only made while type checking, say
            raise Refused(f"{e.path}: its class is not in the running program")
        if isinstance(owner, enum.EnumMeta) and e.target == "attribute":
            raise Refused(f"{e.path}: enum members cannot change", [RudeEdit.make(
                RudeEditKind.ENUM_LIVE, e.new_span[0], scope.path, e.path)])
        stmt = next((s for s in scope.body if scope.first + s.first == e.new_span[0]), None)
        if stmt is not None and stmt.kind == "bindings":
            self._run_guard(scope, *e.new_span, shared=True)
            bound = {}
        elif e.kind == "update" and e.reasons == ("annotations",):
            bound = self.ev.run_annotations(scope, *e.new_span)
        else:
            bound = self.ev.run_statement(scope, *e.new_span)
        if isinstance(owner, type) and any(
                hasattr(type(v), "__set_name__") for v in bound.values()):
            # after the commit: a fresh import's class creation runs the new __set_name__
            self.txn.after.append(_set_names(owner, dict(bound)))
        for name, value in bound.items():
            if name not in scope_annotations.SCOPE_NAMES:
                self.txn.set(owner, name, value)
        if scope_annotations.plan(self.txn, owner, bound):
            self._annotated[scope.path] = owner
        (self.updated if e.kind == "update" else self.inserted).append(e.path)


    def _delete_names(self, e: SemanticEdit) -> None:
        scope = self.old.index.get(e.scope or MODULE_PATH)
        if scope is None:
            return
        owner = self.module if scope.kind == "module" else self._live_class(
            self.old.index, scope)
        if owner is None:
            return
        for name in e.names:
            if self._still_bound(scope.path, name):
                continue
            key = mangle(scope, name)
            value = self.txn.pending(owner, key)
            if value is not MISSING:
                self.txn.delete(owner, key)
                if e.target == "variable" and e.old_span is not None:
                    self._held_elsewhere(None, key, e.old_span[0], _is(value))
        if scope_annotations.plan(self.txn, owner, {}, e.names):
            self._annotated[scope.path] = owner
        self.deleted.append(e.path)


    def _update_docstring(self, e: SemanticEdit) -> None:
        scope = self.new.index[e.scope or MODULE_PATH]
        owner = self.ev.live_scope(scope)
        if owner is None:
            return
        value = None
        first = scope.body[0] if scope.body else None
        if first is not None and first.kind == "docstring":
            text = self.new.text_of(scope.first + first.first, scope.first + first.last)
            value = ast.literal_eval(text.strip())
        self.txn.set(owner, "__doc__", value)
        self.updated.append(f"{e.path}.__doc__" if scope.kind != "module" else "__doc__")

    # -- after the commit -----------------------------------------------------------

    def reindex(self) -> None:
        for fn, old_key in self.rekeys:
            self.live.rekey(fn, old_key)
        if self.new_objects:
            self.live.walk(self.new_objects)


def _made_by_its_holder(plan: Plan, e: SemanticEdit) -> None:
    """Nothing to do: a lambda is made by the statement or the function that holds it, whose
    own edit (a statement, or the function's new code) makes the new one."""


_CODE_TARGETS = (EditTarget.FUNCTION, EditTarget.LAMBDA)
_K, _T = EditKind, EditTarget
# Every pair of edit kind and target the delta engine produces, and what the plan does for it.
# A pair missing here is refused (a relive bug), never silently skipped.
_HANDLERS: dict[tuple[EditKind, EditTarget], Callable[[Plan, SemanticEdit], None]] = {
    (_K.UPDATE, _T.FUNCTION): Plan._update_function,
    (_K.UPDATE, _T.LAMBDA): Plan._update_function,
    (_K.UPDATE, _T.CLASS): Plan._update_class,
    (_K.UPDATE, _T.VARIABLE): Plan._statement,
    (_K.UPDATE, _T.ATTRIBUTE): Plan._statement,
    (_K.UPDATE, _T.IMPORT): Plan._statement,
    (_K.UPDATE, _T.DOCSTRING): Plan._update_docstring,
    (_K.INSERT, _T.FUNCTION): Plan._insert_function,
    (_K.INSERT, _T.CLASS): Plan._insert_function,
    (_K.INSERT, _T.LAMBDA): _made_by_its_holder,
    (_K.INSERT, _T.VARIABLE): Plan._statement,
    (_K.INSERT, _T.ATTRIBUTE): Plan._statement,
    (_K.INSERT, _T.IMPORT): Plan._statement,
    (_K.DELETE, _T.FUNCTION): Plan._delete_function,
    (_K.DELETE, _T.LAMBDA): Plan._delete_function,
    (_K.DELETE, _T.CLASS): Plan._delete_class,
    (_K.DELETE, _T.VARIABLE): Plan._delete_names,
    (_K.DELETE, _T.ATTRIBUTE): Plan._delete_names,
    (_K.DELETE, _T.IMPORT): Plan._delete_names,
    (_K.REPLACE, _T.FUNCTION): Plan._replace_function,
    (_K.REPLACE, _T.CLASS): Plan._replace_function,
    (_K.LINE_SHIFT, _T.CLASS): Plan._line_shift_class,
    # line shifts of functions and lambdas are done together, in one pass over the live code
}


def _set_names(owner: type, bound: dict[str, Any]) -> Callable[[], None]:
    """An action that calls ``__set_name__`` of the new values of a live class's attributes,
    as creating the class calls it for every value of its body (an assignment does not)."""
    def set_names() -> None:
        for name, value in bound.items():
            set_name = getattr(type(value), "__set_name__", None)
            if set_name is not None and name not in scope_annotations.SCOPE_NAMES:
                set_name(value, owner, name)
    return set_names


def _migrator(cls: type) -> Callable[[], None]:
    def migrate() -> None:
        migrate_plain_instances(cls)
    return migrate


def _is(value: object) -> Callable[[object], bool]:
    def is_it(obj: object) -> bool:
        return obj is value
    return is_it

