"""Property-based tests of the delta engine over random sequences of edits.

A generated module (functions and classes with methods, blank lines and comments between
them) is edited step by step at random: constants and statements change, defaults change,
definitions and blank lines come and go. For every sequence:

* chaining the deltas (each step's ``next_baseline`` is the next step's baseline) ends on the
  same baseline, and reports the same net changes, as one delta from the first source to the
  last — the live-programming view computes the latter, a running program the former;
* each delta says exactly what changed, judged independently from the syntax trees;
* each delta round-trips through JSON, and the incremental path agrees with the whole-module
  comparison;
* each line map is ordered and lands inside the new definition.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import relive

NAMES = [f"f{i}" for i in range(8)]
CLASS_NAMES = ["Alpha", "Beta", "Gamma"]
METHOD_NAMES = ["run", "size", "reset", "step"]


@dataclass(frozen=True)
class Func:
    name: str
    default: int
    body: tuple[int, ...]
    gap: int = 1  # blank lines above it
    comment: bool = False  # a comment line above it

    def render(self, indent: str = "", method: bool = False) -> list[str]:
        lines = [""] * self.gap
        if self.comment:
            lines.append(f"{indent}# {self.name} does a little arithmetic")
        params = f"self, a={self.default}" if method else f"a={self.default}"
        lines.append(f"{indent}def {self.name}({params}):")
        lines.append(f"{indent}    r = a")
        lines += [f"{indent}    r = r + {k}" for k in self.body]
        lines.append(f"{indent}    return r")
        return lines


@dataclass(frozen=True)
class Klass:
    name: str
    methods: tuple[Func, ...]
    gap: int = 1
    label: int = 0  # a class attribute

    def render(self) -> list[str]:
        lines = [""] * self.gap
        lines.append(f"class {self.name}:")
        lines.append(f"    label = {self.label}")
        for m in self.methods:
            lines += m.render("    ", method=True)
        return lines


Unit = Func | Klass


@dataclass(frozen=True)
class Module:
    units: tuple[Unit, ...] = field(default_factory=tuple)

    def render(self) -> str:
        lines = ['"""A generated module."""']
        for unit in self.units:
            lines += unit.render()
        return "\n".join(lines) + "\n"


ints = st.integers(min_value=0, max_value=99)
bodies = st.lists(ints, min_size=1, max_size=4).map(tuple)


def funcs(name: str) -> st.SearchStrategy[Func]:
    return st.builds(Func, st.just(name), ints, bodies, st.integers(0, 2), st.booleans())


@st.composite
def modules(draw: st.DrawFn) -> Module:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    units: list[Unit] = [draw(funcs(n)) for n in names]
    for cname in draw(st.lists(st.sampled_from(CLASS_NAMES), max_size=2, unique=True)):
        mnames = draw(st.lists(st.sampled_from(METHOD_NAMES), min_size=1, max_size=3,
                               unique=True))
        klass = Klass(cname, tuple(draw(funcs(m)) for m in mnames), draw(st.integers(0, 2)))
        units.insert(draw(st.integers(0, len(units))), klass)
    return Module(tuple(units))


def _edit_func(draw: st.DrawFn, f: Func) -> Func:
    what = draw(st.sampled_from(["const", "add", "drop", "default", "gap", "comment"]))
    body = list(f.body)
    if what == "const":
        i = draw(st.integers(0, len(body) - 1))
        body[i] = draw(ints)
        return replace(f, body=tuple(body))
    if what == "add":
        body.insert(draw(st.integers(0, len(body))), draw(ints))
        return replace(f, body=tuple(body))
    if what == "drop" and len(body) > 1:
        del body[draw(st.integers(0, len(body) - 1))]
        return replace(f, body=tuple(body))
    if what == "default":
        return replace(f, default=draw(ints))
    if what == "gap":
        return replace(f, gap=draw(st.integers(0, 3)))
    return replace(f, comment=not f.comment)


@st.composite
def edited(draw: st.DrawFn, module: Module) -> Module:
    """``module`` with one random edit."""
    units = list(module.units)
    present = {u.name for u in units}
    what = draw(st.sampled_from(["func", "func", "method", "insert", "delete", "class"]))
    if what == "insert" or not units:
        free = [n for n in NAMES if n not in present]
        if free:
            units.insert(draw(st.integers(0, len(units))), draw(funcs(draw(st.sampled_from(free)))))
        return Module(tuple(units))
    i = draw(st.integers(0, len(units) - 1))
    unit = units[i]
    if what == "delete":
        del units[i]
    elif isinstance(unit, Func):
        units[i] = _edit_func(draw, unit)
    elif what == "class":
        change = draw(st.sampled_from(["label", "gap", "add", "drop"]))
        methods = list(unit.methods)
        if change == "label":
            unit = replace(unit, label=unit.label + 1)
        elif change == "gap":
            unit = replace(unit, gap=draw(st.integers(0, 3)))
        elif change == "add":
            free = [n for n in METHOD_NAMES if n not in {m.name for m in methods}]
            if free:
                methods.insert(draw(st.integers(0, len(methods))),
                               draw(funcs(draw(st.sampled_from(free)))))
        elif len(methods) > 1:
            del methods[draw(st.integers(0, len(methods) - 1))]
        units[i] = replace(unit, methods=tuple(methods))
    else:
        j = draw(st.integers(0, len(unit.methods) - 1))
        methods = list(unit.methods)
        methods[j] = _edit_func(draw, methods[j])
        units[i] = replace(unit, methods=tuple(methods))
    return Module(tuple(units))


@st.composite
def histories(draw: st.DrawFn) -> list[str]:
    """The sources of a module through 1 to 6 random edits, first to last."""
    module = draw(modules())
    sources = [module.render()]
    for _ in range(draw(st.integers(1, 6))):
        module = draw(edited(module))
        sources.append(module.render())
    return sources


# -- an independent judge: what changed, from the syntax trees ---------------------------


def _definitions(source: str) -> dict[str, tuple[str, str, int]]:
    """Definition path → (kind, tree dump without positions, first line)."""
    out: dict[str, tuple[str, str, int]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef):
                out[prefix + node.name] = ("function", ast.dump(node), node.lineno)
            elif isinstance(node, ast.ClassDef):
                out[prefix + node.name] = ("class", "", node.lineno)
                visit(node.body, f"{prefix}{node.name}.")

    visit(ast.parse(source).body, "")
    return out


def expected_edits(old: str, new: str) -> set[str]:
    """``KIND TARGET PATH`` of every definition edit the delta from ``old`` to ``new`` needs."""
    before, after = _definitions(old), _definitions(new)
    inserted = {p for p in after if p not in before}
    deleted = {p for p in before if p not in after}
    out = set()
    for path in inserted:
        if path.rpartition(".")[0] not in inserted:  # a new class brings its methods
            out.add(f"insert {after[path][0]} {path}")
    for path in deleted:
        if path.rpartition(".")[0] not in deleted:
            out.add(f"delete {before[path][0]} {path}")
    for path in before.keys() & after.keys():
        (kind, dump_old, line_old), (_, dump_new, line_new) = before[path], after[path]
        if dump_old != dump_new:
            out.add(f"update {kind} {path}")
        elif line_old != line_new:
            out.add(f"line_shift {kind} {path}")
    return out


def definition_edits(delta: relive.Delta) -> set[str]:
    return {f"{e.kind} {e.target} {e.path}" for e in delta.edits
            if e.target in ("function", "class")}


def changed_paths(delta: relive.Delta) -> set[str]:
    return {e.path for e in delta.edits if e.kind != "line_shift"}


def check_line_maps(delta: relive.Delta) -> None:
    for path, line_map in delta.line_maps.items():
        edit = delta.edit(path)
        assert edit is not None and edit.new_span is not None, path
        targets = [line_map[line] for line in sorted(line_map)]
        landed = [t for t in targets if t is not None]
        assert landed == sorted(landed), f"{path}: line map out of order {dict(line_map)}"
        assert len(set(landed)) == len(landed), f"{path}: two lines map to one"
        lo, hi = edit.new_span
        assert all(lo <= t <= hi for t in landed), f"{path}: maps outside {edit.new_span}"


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(histories())
def test_chained_deltas_agree_with_one_step(sources: list[str]) -> None:
    first = relive.Baseline.from_source(sources[0], "app.py", "app")
    baseline = first
    touched: set[str] = set()
    for source in sources[1:]:
        delta = relive.compute_delta(baseline, source)
        assert delta.ok and not delta.errors, delta.rude_edits
        assert delta.base_generation == baseline.generation
        assert delta.generation == baseline.generation + 1
        touched |= changed_paths(delta)
        assert delta.next_baseline is not None
        baseline = delta.next_baseline
    one = relive.compute_delta(first, sources[-1])
    assert one.next_baseline is not None
    assert one.next_baseline.source == baseline.source
    assert one.next_baseline.index == baseline.index
    assert list(one.next_baseline.index) == list(baseline.index)
    assert baseline.generation == len(sources) - 1
    assert one.next_baseline.generation == 1
    # every net change of the one-step delta was made by some step of the chain
    assert changed_paths(one) <= touched
    assert definition_edits(one) == expected_edits(sources[0], sources[-1])


@SETTINGS
@given(histories())
def test_each_step_says_exactly_what_changed(sources: list[str]) -> None:
    baseline = relive.Baseline.from_source(sources[0], "app.py", "app")
    for old, new in itertools.pairwise(sources):
        delta = relive.compute_delta(baseline, new)
        assert definition_edits(delta) == expected_edits(old, new)
        check_line_maps(delta)
        whole = relive.compute_delta(baseline, new, incremental=False)
        assert sorted(map(str, delta.edits)) == sorted(map(str, whole.edits))
        assert dict(delta.line_maps) == dict(whole.line_maps)
        again = relive.Delta.from_json(delta.to_json())
        assert again == delta and again.to_json() == delta.to_json()
        assert delta.next_baseline is not None
        baseline = delta.next_baseline


@SETTINGS
@given(histories())
def test_a_delta_fits_only_its_own_baseline(sources: list[str]) -> None:
    first = relive.Baseline.from_source(sources[0], "app.py", "app")
    delta = relive.compute_delta(first, sources[-1])
    assert delta.next_baseline is not None
    assert delta.apply_to(first).source == delta.next_baseline.source
    later = delta.next_baseline
    try:
        delta.apply_to(later)
    except relive.GenerationMismatchError as exc:
        assert "generation" in str(exc)
    else:
        raise AssertionError("a delta was accepted by a baseline of another generation")
