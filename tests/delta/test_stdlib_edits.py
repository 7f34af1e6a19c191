"""Random line edits of real modules: the narrow path agrees with the whole-module path.

The incremental engine re-reads only the function or run of statements an edit touches; the
whole-module comparison is the reference. Real modules of the standard library give the
variety (decorators, nested functions, conditional definitions, duplicate names, lambdas,
classes in functions) that hand-written cases miss.
"""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest

import relive
from relive.delta.units import compile_definition, deep_key, iter_codes, pick_codes

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = ["textwrap.py", "fractions.py", "dataclasses.py", "argparse.py", "inspect.py",
           "shutil.py"]


def _mutate(lines: list[str], rnd: random.Random) -> list[str]:
    lines = list(lines)
    i = rnd.randrange(len(lines))
    op = rnd.choice(["delete", "duplicate", "blank", "tweak", "dedent", "indent", "decorate",
                     "replace_block", "lambda"])
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "blank":
        lines.insert(i, "")
    elif op == "tweak":
        lines[i] = lines[i].replace("1", "2", 1) if "1" in lines[i] else lines[i] + "  # x"
    elif op == "dedent":
        lines[i] = lines[i].lstrip()
    elif op == "indent":
        lines[i] = "    " + lines[i]
    elif op == "decorate":
        for k in range(i, len(lines)):
            if lines[k].lstrip().startswith(("def ", "class ")):
                indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
                lines.insert(k, indent + "@staticmethod")
                break
    elif op == "replace_block":
        del lines[i:i + rnd.randrange(1, 6)]
        lines[i:i] = ["    value = 3", "", "other = 1"][: rnd.randrange(1, 4)]
    else:
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines.insert(i, indent + "_h = lambda q: q + 1")
    return lines


def _key(delta: relive.Delta) -> object:
    return (sorted(map(str, delta.edits)), sorted(map(str, delta.rude_edits)),
            [str(e) for e in delta.errors], dict(delta.line_maps))


@pytest.mark.parametrize("name", MODULES)
def test_random_edits_give_the_same_delta_both_ways(name: str) -> None:
    source = (STDLIB / name).read_text(encoding="utf-8")
    base = relive.Baseline.from_source(source, name, "m")
    lines = source.split("\n")
    rnd = random.Random(name)
    for _ in range(12):
        new = "\n".join(_mutate(lines, rnd))
        narrow = relive.compute_delta(base, new)
        whole = relive.compute_delta(base, new, incremental=False)
        assert _key(narrow) == _key(whole)
        if narrow.next_baseline is not None:
            fresh = relive.Baseline.from_source(new, name, "m")
            assert narrow.next_baseline.index == fresh.index
            assert list(narrow.next_baseline.index) == list(fresh.index)


@pytest.mark.parametrize("name", MODULES[:3])
def test_compile_units_give_the_code_the_whole_module_compiles(name: str) -> None:
    base = relive.Baseline.from_source((STDLIB / name).read_bytes(), name, "m")
    whole = compile(base.source, name, "exec", flags=base.future_flags, dont_inherit=True)
    defs = [d for d in base.index.values() if d.kind != "module"]
    codes = pick_codes(whole, defs)
    assert len(codes) > 10
    for d in defs:
        if d.path not in codes:
            continue
        unit = compile_definition(base.lines, base.index, d.path, name, base.future_flags)
        expected = codes[d.path]
        assert deep_key(unit) == deep_key(expected), d.path
        for a, b in zip(iter_codes(unit), iter_codes(expected), strict=True):
            assert a.co_firstlineno == b.co_firstlineno, d.path
            assert list(a.co_positions()) == list(b.co_positions()), d.path


@pytest.mark.parametrize("name", MODULES[:4])
def test_chained_edits_with_kept_codes_give_the_deltas_of_fresh_baselines(name: str) -> None:
    """Each baseline keeps code from earlier generations for comparison (the old side of an
    edit is then not compiled again); a delta from it equals one from a fresh baseline."""
    source = (STDLIB / name).read_text(encoding="utf-8")
    base = relive.Baseline.from_source(source, name, "m")
    rnd = random.Random(f"chained {name}")
    reused = 0
    for _ in range(16):
        new = "\n".join(_mutate(base.source.split("\n"), rnd))
        chained = relive.compute_delta(base, new)
        fresh = relive.Baseline.from_source(base.source, name, "m", base.generation)
        assert _key(chained) == _key(relive.compute_delta(fresh, new, incremental=False))
        if chained.next_baseline is not None:
            kept = [d.path for d in base.index.values()
                    if base.compare_code(d.path) is not None]
            reused += len(kept)
            base = chained.next_baseline
    assert reused > 0
