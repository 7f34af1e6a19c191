"""The exception table codec and the narrowing of the remap handler to the remap points."""

from __future__ import annotations

import dis
import os
import random
import types

import pytest

from relive._cpython.exception_table import Entry, decode, encode
from relive.runtime.enc import (
    enc_compile_with_trees,
    is_enc_code,
    iter_code_objects,
    remap_handler_offset,
)
from relive.runtime.enc.handlers import narrow_handler
from relive.runtime.remap.layout import compute_layout

MODULES = ["json/decoder.py", "asyncio/tasks.py", "contextlib.py", "argparse.py"]


def _source(name: str) -> tuple[str, str]:
    path = os.path.join(os.path.dirname(os.__file__), name)
    with open(path, encoding="utf-8") as f:
        return f.read(), path


@pytest.mark.parametrize("name", MODULES)
def test_decode_agrees_with_dis_and_encode_round_trips(name: str) -> None:
    source, path = _source(name)
    for code in iter_code_objects(compile(source, path, "exec", dont_inherit=True)):
        entries = decode(code.co_exceptiontable)
        expected = [
            Entry(e.start, e.end, e.target, e.depth, e.lasti)
            for e in dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]
        ]
        assert entries == expected
        assert encode(entries) == code.co_exceptiontable


@pytest.mark.parametrize("name", MODULES)
def test_the_remap_handler_covers_every_remap_point_and_little_else(name: str) -> None:
    source, path = _source(name)
    module, trees = enc_compile_with_trees(source, path)
    checked = 0
    for code in iter_code_objects(module):
        if not is_enc_code(code):
            continue
        layout = compute_layout(code, trees[(code.co_firstlineno, code.co_name)])
        assert layout.reason is None and layout.handler is not None
        assert remap_handler_offset(code) == layout.handler  # raw scan == disassembly
        covered = {
            offset
            for entry in decode(code.co_exceptiontable)
            if entry.target == layout.handler
            for offset in range(entry.start, entry.end, 2)
        }
        # a point inside a try or with is left by a jump; every other one gets the signal
        signalled = {offset for offset, point in layout.points.items() if not point.jump}
        assert signalled <= covered, code.co_qualname
        assert not any(point.jump and point.withs for offset, point in layout.points.items()
                       if offset in covered), code.co_qualname
        instructions = len(code.co_code) // 2
        assert len(covered) < instructions / 2, code.co_qualname  # line starts, not everything
        checked += 1
    assert checked



@pytest.mark.parametrize("name", MODULES)
def test_jump_targets_are_the_labels_dis_finds(name: str) -> None:
    from relive.runtime.enc import enc_compile
    from relive.runtime.enc.bytecode import jump_targets

    source, path = _source(name)
    # long jumps need EXTENDED_ARG prefixes
    source += "\ndef _long(x):\n    if x:\n" + "        x += 1\n" * 400 + "    return x\n"
    for code in (compile(source, path, "exec"), enc_compile(source, path)):
        for c in iter_code_objects(code):
            assert jump_targets(c.co_code) == set(dis.findlabels(c.co_code)), c.co_name


def _narrowed_one_offset_at_a_time(code: types.CodeType, handler: int,
                                   keep: set[int]) -> list[Entry]:
    """What narrow_handler must give, the slow way: an entry per offset, then merged."""
    entries = decode(code.co_exceptiontable)

    def covering(offset: int) -> Entry | None:
        return next((e for e in entries if e.start <= offset < e.end), None)

    cleanup = covering(handler)
    outer = covering(cleanup.target) if cleanup is not None else None
    out: list[Entry] = []
    for entry in entries:
        if entry.target != handler:
            out.append(entry)
            continue
        for offset in range(entry.start, entry.end, 2):
            if offset in keep:
                out.append(Entry(offset, offset + 2, handler, entry.depth, entry.lasti))
            elif outer is not None:
                out.append(Entry(offset, offset + 2, outer.target, outer.depth, outer.lasti))
    merged: list[Entry] = []
    for entry in sorted(out, key=lambda e: e.start):
        last = merged[-1] if merged else None
        if last is not None and last.end == entry.start and (
                last.target, last.depth, last.lasti) == (entry.target, entry.depth,
                                                         entry.lasti):
            merged[-1] = Entry(last.start, entry.end, last.target, last.depth, last.lasti)
        else:
            merged.append(entry)
    return merged


@pytest.mark.parametrize("name", MODULES[:2])
def test_narrowing_gives_the_table_of_one_entry_per_offset(name: str) -> None:
    source, path = _source(name)
    module = compile(source, path, "exec")
    rnd = random.Random(name)
    checked = 0
    for code in iter_code_objects(module):
        for entry in decode(code.co_exceptiontable)[:3]:
            span = range(entry.start, entry.end, 2)
            keep = {offset for offset in span if rnd.random() < 0.3}
            narrowed = narrow_handler(code, entry.target, keep)
            assert decode(narrowed.co_exceptiontable) == _narrowed_one_offset_at_a_time(
                code, entry.target, keep), code.co_qualname
            checked += 1
    assert checked > 10
