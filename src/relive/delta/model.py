"""The values of the delta engine: baselines, semantic edits, line maps and deltas.

All are immutable. A :class:`Delta` is plain data: it round-trips through JSON without loss
(``Delta.from_json(d.to_json()) == d``), so the compiler side and the live process can be in
different processes.
"""

from __future__ import annotations

import ast
import enum
import functools
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import CodeType
from typing import Any, Literal

from relive.delta.index import Definition, build_index
from relive.delta.rude import RudeEdit, RudeEditKind
from relive.delta.source import SourceError, decode_source, split_lines

FORMAT_VERSION = 1



class EditKind(enum.StrEnum):
    """What a :class:`SemanticEdit` does (its JSON form is the value)."""

    UPDATE = "update"  # new code or value, same object
    INSERT = "insert"
    DELETE = "delete"
    REPLACE = "replace"  # the object must be rebuilt: decorators or class header changed
    LINE_SHIFT = "line_shift"  # code unchanged, its lines moved


class EditTarget(enum.StrEnum):
    """What a :class:`SemanticEdit` changes (its JSON form is the value)."""

    FUNCTION = "function"
    CLASS = "class"
    LAMBDA = "lambda"
    VARIABLE = "variable"  # a module-level name bound by a statement
    ATTRIBUTE = "attribute"  # a class-level name bound by a statement
    IMPORT = "import"  # names bound by an import statement
    DOCSTRING = "docstring"  # a module's or class's docstring


class BaselineError(ValueError):
    """The source given for a baseline cannot be parsed or decoded."""

    def __init__(self, error: SourceError) -> None:
        super().__init__(str(error))
        self.error = error


class GenerationMismatchError(ValueError):
    """A delta was offered to a baseline it was not computed from."""


def digest(text: str) -> str:
    """A cheap fingerprint of a source text: it tells baselines apart, it is no security."""
    data = text.encode("utf-8", "surrogatepass")
    return f"{zlib.crc32(data):08x}{len(data):x}"


def future_flags(names: Iterator[str] | tuple[str, ...]) -> int:
    """The compiler flags that ``from __future__ import`` of ``names`` gives a module.

    Only what a whole-module compile gives: most features are mandatory by now, and their
    import sets no flag on the code (passed to ``compile()`` as flags, they would).
    """
    flags = 0
    for name in names:
        flags |= _future_flag(name)
    return flags


@functools.cache
def _future_flag(name: str) -> int:
    # asked of the compiler itself, so that the answer is the running version's
    import __future__

    feature = getattr(__future__, name, None)
    if feature is None or not feature.compiler_flag:
        return 0
    try:
        code = compile(f"from __future__ import {name}\n", "<future>", "exec",
                       dont_inherit=True)
    except SyntaxError:  # a feature this version's compiler does not know
        return 0
    flag: int = code.co_flags & feature.compiler_flag
    return flag


CodeKind = Literal["plain", "recompiled", "compare"]


class _Derived:
    """What a :class:`Baseline` computes from its source on first use, and the code objects
    kept with it: plain (compiled by the delta engine), recompiled (the way the live process
    runs it) and compare (good for comparison only; see :meth:`Baseline.inherit_codes`)."""

    __slots__ = ("codes", "digest", "future", "index", "lines")

    def __init__(self) -> None:
        self.lines: list[str] | None = None
        self.index: dict[str, Definition] | None = None
        self.future: int | None = None
        self.digest: str | None = None
        self.codes: dict[CodeKind, dict[str, CodeType]] = {}


@dataclass(frozen=True)
class Baseline:
    """What the live process holds for one module: its source, its index, its generation.

    ``source`` is the normalised text (see :mod:`relive.delta.source`). The definition index
    and the line list are computed on first use and cached; they are not part of equality.
    """

    source: str
    filename: str = "<unknown>"
    module_name: str = "__main__"
    generation: int = 0
    _derived: _Derived = field(default_factory=_Derived, compare=False, repr=False, hash=False)

    @classmethod
    def from_source(cls, source: str | bytes, filename: str = "<unknown>",
                    module_name: str = "__main__", generation: int = 0) -> Baseline:
        """A baseline at generation 0 (or the one given) for source that must be valid.

        Raises :class:`BaselineError` when the source does not decode or parse.
        """
        text, error = decode_source(source, filename)
        if error is not None:
            raise BaselineError(error)
        baseline = cls(text, filename, module_name, generation)
        baseline.index  # noqa: B018 -- parse now, so that bad source fails here
        return baseline

    # -- derived data, cached -----------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        lines = self._derived.lines
        if lines is None:
            lines = self._derived.lines = split_lines(self.source)
        return lines

    @property
    def index(self) -> dict[str, Definition]:
        """Definition path → :class:`Definition`, in source order; ``<module>`` first."""
        derived = self._derived
        index = derived.index
        if index is None:
            tree = self.parse()
            index = derived.index = build_index(tree, self.lines)
            if derived.future is None:
                derived.future = module_future(tree)
        return index

    @property
    def future_flags(self) -> int:
        if self._derived.future is None:
            self.index  # noqa: B018 -- reads the future imports too
        flags = self._derived.future
        assert flags is not None
        return flags

    @property
    def digest(self) -> str:
        value = self._derived.digest
        if value is None:
            value = self._derived.digest = digest(self.source)
        return value

    def parse(self) -> ast.Module:
        try:
            return ast.parse(self.source, self.filename)
        except (SyntaxError, ValueError) as exc:
            raise BaselineError(SourceError.from_exception(exc, self.filename, "syntax")) from exc

    def definition(self, path: str) -> Definition:
        try:
            return self.index[path]
        except KeyError:
            raise KeyError(f"{self.filename}: no definition {path!r} "
                           f"(generation {self.generation})") from None

    def text_of(self, first: int, last: int) -> str:
        """Lines ``first..last`` (1-based, inclusive) joined with newlines."""
        return "\n".join(self.lines[first - 1:last])

    def seed(self, lines: list[str], index: dict[str, Definition], future: int) -> None:
        """Install derived data computed incrementally (it equals what would be computed)."""
        derived = self._derived
        derived.lines, derived.index, derived.future = lines, index, future

    def cache_codes(self, codes: Mapping[str, CodeType], kind: CodeKind = "plain") -> None:
        """Keep code objects compiled for this baseline (path → code), for the runtime;
        ``kind`` tells how they were compiled (``plain``, ``recompiled``)."""
        self._derived.codes.setdefault(kind, {}).update(codes)

    def cached_code(self, path: str, kind: CodeKind = "plain") -> CodeType | None:
        """A code object compiled (``kind``) for ``path`` of this baseline, if one was kept."""
        return self._derived.codes.get(kind, {}).get(path)

    # Code objects kept for comparison only (kind ``compare``): the delta engine compares
    # code without its line numbers, so a definition's code stays good for that while the
    # definition only moves. They are carried from one generation to the next, so that an
    # edit need not compile the old side again.

    def inherit_codes(self, base: Baseline, dropped: Iterable[str] = ()) -> None:
        """Carry ``base``'s comparison codes over, except those of ``dropped`` paths (the
        definitions the edit re-read), then add this baseline's own new plain codes."""
        carried = dict(base._derived.codes.get("compare", {}))
        for path in dropped:
            carried.pop(path, None)
        carried.update(self._derived.codes.get("plain", {}))
        self._derived.codes["compare"] = carried

    def compare_code(self, path: str) -> CodeType | None:
        """Code of ``path`` good for comparison (its lines may be those of an earlier
        generation: only their offsets from its first line are meaningful), if one is kept."""
        return self._derived.codes.get("compare", {}).get(path) or self.cached_code(path)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "filename": self.filename,
                "module_name": self.module_name, "generation": self.generation}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        return cls(str(data["source"]), str(data["filename"]), str(data["module_name"]),
                   int(data["generation"]))


def module_future(tree: ast.Module) -> int:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            names.extend(a.name for a in node.names)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    return future_flags(tuple(names))


class LineMap(Mapping[int, "int | None"]):
    """Old line → new line (or None where the line was deleted), immutable and hashable."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Mapping[int, int | None] | tuple[tuple[int, int | None], ...]
                 = ()) -> None:
        pairs = tuple(sorted(items.items() if isinstance(items, Mapping) else items))
        self._items: tuple[tuple[int, int | None], ...] = pairs
        self._map = dict(pairs)

    def __getitem__(self, line: int) -> int | None:
        return self._map[line]

    def __iter__(self) -> Iterator[int]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LineMap):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._map) == dict(other)

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"LineMap({dict(self._items)!r})"

    def to_json(self) -> list[list[int | None]]:
        return [[a, b] for a, b in self._items]

    @classmethod
    def from_json(cls, data: list[list[int | None]]) -> LineMap:
        return cls(tuple((int(a), None if b is None else int(b)) for a, b in data))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SemanticEdit:
    """One change the runtime has to make.

    - ``kind``: ``update`` (new code or value, same object), ``insert``, ``delete``,
      ``replace`` (the object must be rebuilt: decorators or class header changed) or
      ``line_shift`` (code unchanged, its lines moved);
    - ``path``: the definition path in the new source (the old one for ``delete``), or for
      names bound by statements (``target`` ``variable``, ``attribute``, ``import``) the scope
      prefix and the names (``Cart.TAX``, ``os``, ``a,b``); ``old_path`` is the path in the old
      source when it differs (a ``#n`` suffix renumbered);
    - ``target``: ``function``, ``class``, ``lambda``, ``variable`` (module-level name),
      ``attribute`` (class-level name), ``import``, ``docstring``;
    - ``old_span``/``new_span``: first and last line, inclusive;
    - ``reasons``: for updates, what changed: ``body``, ``signature``, ``defaults``,
      ``annotations``, ``docstring``, ``kind`` (plain / generator / coroutine), ``lines``
      (only line numbers inside it moved), ``columns`` (only the columns of its code
      changed), ``nested`` (code nested in it changed), ``value``, ``fields``,
      ``decorators``, ``header``;
    - ``scope``: path of the definition whose namespace holds it (``<module>``, a class);
    - ``names``: the names a statement binds.
    """

    kind: EditKind
    path: str
    target: EditTarget
    old_span: tuple[int, int] | None
    new_span: tuple[int, int] | None
    reasons: tuple[str, ...] = ()
    scope: str = "<module>"
    names: tuple[str, ...] = ()
    old_path: str = ""

    def __post_init__(self) -> None:
        # the kind and target as enums, from their values too (raises ValueError on others)
        if type(self.kind) is not EditKind:
            _EDIT_SLOTS[0](self, EditKind(self.kind))
        if type(self.target) is not EditTarget:
            _EDIT_SLOTS[2](self, EditTarget(self.target))

    def __str__(self) -> str:
        span = self.new_span or self.old_span
        where = f" lines {span[0]}-{span[1]}" if span else ""
        why = f" ({', '.join(self.reasons)})" if self.reasons else ""
        return f"{self.kind} {self.target} {self.path}{where}{why}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "path": self.path, "target": self.target.value,
                "old_span": list(self.old_span) if self.old_span else None,
                "new_span": list(self.new_span) if self.new_span else None,
                "reasons": list(self.reasons), "scope": self.scope, "names": list(self.names),
                "old_path": self.old_path}

    @classmethod
    def line_shift(cls, path: str, target: EditTarget, old_span: tuple[int, int],
                   new_span: tuple[int, int], scope: str, name: str) -> SemanticEdit:
        """A ``line_shift`` edit, made without the dataclass ``__init__``: a delta holds one
        per definition below the edit, and this is most of what it costs to make them."""
        edit = _new_edit(cls)
        kind_, path_, target_, old_, new_, reasons_, scope_, names_, old_path_ = _EDIT_SLOTS
        kind_(edit, EditKind.LINE_SHIFT)
        path_(edit, path)
        target_(edit, _TARGETS[target])
        old_(edit, old_span)
        new_(edit, new_span)
        reasons_(edit, ())
        scope_(edit, scope)
        names_(edit, (name,))
        old_path_(edit, path)
        return edit

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SemanticEdit:
        def span(value: Any) -> tuple[int, int] | None:
            return None if value is None else (int(value[0]), int(value[1]))

        try:
            kind, target = EditKind(data["kind"]), EditTarget(data["target"])
        except ValueError:
            raise ValueError(f"unknown semantic edit kind or target: {data['kind']!r}, "
                             f"{data['target']!r}") from None
        return cls(kind, str(data["path"]), target, span(data["old_span"]),
                   span(data["new_span"]), tuple(map(str, data["reasons"])),
                   str(data["scope"]), tuple(map(str, data["names"])),
                   str(data.get("old_path", "")))


_TARGETS = {target.value: target for target in EditTarget}
_new_edit = object.__new__
# the slots' own setters, in field order (a frozen dataclass refuses setattr, they do not)
_EDIT_SLOTS = tuple(getattr(SemanticEdit, f.name).__set__ for f in fields(SemanticEdit))


def _rude_to_json(r: RudeEdit) -> dict[str, Any]:
    return {"code": r.code, "kind": r.kind.name, "severity": r.severity, "message": r.message,
            "lineno": r.lineno, "path": r.path}


def _rude_from_json(d: Mapping[str, Any]) -> RudeEdit:
    kind = RudeEditKind[str(d["kind"])]
    return RudeEdit(str(d["code"]), kind, str(d["severity"]), str(d["message"]),
                    int(d["lineno"]), str(d["path"]))


def _error_to_json(e: SourceError) -> dict[str, Any]:
    return {"kind": e.kind, "message": e.message, "lineno": e.lineno, "col": e.col,
            "filename": e.filename}


def _error_from_json(d: Mapping[str, Any]) -> SourceError:
    return SourceError(str(d["kind"]), str(d["message"]), int(d["lineno"]), int(d["col"]),
                       str(d["filename"]))


@dataclass(frozen=True)
class Delta:
    """The difference between a baseline and a new source of the same module.

    ``ok`` is True when the delta can be applied: no source errors and no error-severity
    rude edits. ``next_baseline`` is the baseline for the next delta (None when the new source
    has errors). ``line_maps`` has, for each updated or replaced definition, every old line of
    it mapped to its new line or None; :meth:`map_line` maps any line of the file.
    """

    filename: str
    module_name: str
    base_generation: int
    base_digest: str
    edits: tuple[SemanticEdit, ...] = ()
    rude_edits: tuple[RudeEdit, ...] = ()
    errors: tuple[SourceError, ...] = ()
    line_maps: Mapping[str, LineMap] = field(default_factory=dict)
    changed: tuple[int, int, int] | None = None
    block_map: LineMap = field(default_factory=LineMap)
    next_baseline: Baseline | None = None

    @property
    def generation(self) -> int:
        """The generation this delta produces (its base's generation + 1)."""
        return self.base_generation + 1

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.is_error for r in self.rude_edits)

    @property
    def is_empty(self) -> bool:
        return not self.edits and not self.rude_edits and not self.errors

    def edit(self, path: str) -> SemanticEdit | None:
        for e in self.edits:
            if e.path == path:
                return e
        return None

    def map_line(self, line: int) -> int | None:
        """Where an old line of the file is in the new source (None: deleted)."""
        if self.changed is None:
            return line
        first, old_last, new_last = self.changed
        if line < first:
            return line
        if line > old_last:
            return line + new_last - old_last
        return self.block_map.get(line)

    def check_base(self, baseline: Baseline) -> None:
        """Raise :class:`GenerationMismatchError` unless ``baseline`` is this delta's base."""
        if baseline.generation != self.base_generation or baseline.digest != self.base_digest:
            raise GenerationMismatchError(
                f"{self.filename}: this delta was computed from generation "
                f"{self.base_generation} (source {self.base_digest}), but the baseline is "
                f"generation {baseline.generation} (source {baseline.digest}); compute the "
                f"delta again from the current baseline")

    def apply_to(self, baseline: Baseline) -> Baseline:
        """The next baseline, after checking that ``baseline`` is this delta's base."""
        self.check_base(baseline)
        if self.next_baseline is None:
            raise ValueError(f"{self.filename}: a delta with source errors cannot be applied")
        return self.next_baseline

    # -- JSON ---------------------------------------------------------------------------

    def to_json(self) -> str:
        data = {
            "format": FORMAT_VERSION,
            "filename": self.filename,
            "module_name": self.module_name,
            "base_generation": self.base_generation,
            "base_digest": self.base_digest,
            "edits": [e.to_json() for e in self.edits],
            "rude_edits": [_rude_to_json(r) for r in self.rude_edits],
            "errors": [_error_to_json(e) for e in self.errors],
            "line_maps": {p: m.to_json() for p, m in self.line_maps.items()},
            "changed": list(self.changed) if self.changed else None,
            "block_map": self.block_map.to_json(),
            "next_baseline": self.next_baseline.to_dict() if self.next_baseline else None,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Delta:
        """Rebuild a delta from :meth:`to_json`; raises ValueError on malformed input."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("a delta is a JSON object")
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported delta format {data.get('format')!r}")
            changed = data["changed"]
            next_baseline = data["next_baseline"]
            return cls(
                filename=str(data["filename"]),
                module_name=str(data["module_name"]),
                base_generation=int(data["base_generation"]),
                base_digest=str(data["base_digest"]),
                edits=tuple(SemanticEdit.from_json(e) for e in data["edits"]),
                rude_edits=tuple(_rude_from_json(r) for r in data["rude_edits"]),
                errors=tuple(_error_from_json(e) for e in data["errors"]),
                line_maps={str(p): LineMap.from_json(m) for p, m in data["line_maps"].items()},
                changed=None if changed is None else (int(changed[0]), int(changed[1]),
                                                       int(changed[2])),
                block_map=LineMap.from_json(data["block_map"]),
                next_baseline=None if next_baseline is None else Baseline.from_dict(
                    next_baseline),
            )
        except (KeyError, TypeError, IndexError, AttributeError, RecursionError,
                OverflowError) as exc:
            raise ValueError(f"malformed delta JSON: {type(exc).__name__}: {exc}") from None
