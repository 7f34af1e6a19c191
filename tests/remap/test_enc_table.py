"""The exception table codec and the narrowing of the remap handler to the remap points."""

from __future__ import annotations

import dis
import os

import pytest

from relive.runtime.enc import (
    enc_compile_with_trees,
    is_enc_code,
    iter_code_objects,
    remap_handler_offset,
)
from relive.runtime.enc_table import Entry, decode, encode
from relive.runtime.remap_layout import compute_layout

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
        assert set(layout.points) <= covered, code.co_qualname
        instructions = len(code.co_code) // 2
        assert len(covered) < instructions / 2, code.co_qualname  # line starts, not everything
        checked += 1
    assert checked



@pytest.mark.parametrize("name", MODULES)
def test_jump_targets_are_the_labels_dis_finds(name: str) -> None:
    from relive.runtime.enc import enc_compile, jump_targets

    source, path = _source(name)
    # long jumps need EXTENDED_ARG prefixes
    source += "\ndef _long(x):\n    if x:\n" + "        x += 1\n" * 400 + "    return x\n"
    for code in (compile(source, path, "exec"), enc_compile(source, path)):
        for c in iter_code_objects(code):
            assert jump_targets(c.co_code) == set(dis.findlabels(c.co_code)), c.co_name
