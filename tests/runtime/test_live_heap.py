"""The process-wide index of function objects: what each scan looks at, what it keeps."""

from __future__ import annotations

import gc
from pathlib import Path
from types import FunctionType

import pytest

from relive.runtime.apply import heap
from relive.runtime.apply.heap import HeapScan
from relive.runtime.files import normalize
from relive.runtime.registry import REGISTRY


def _functions_from(path: Path, source: str) -> dict[str, FunctionType]:
    scope: dict[str, FunctionType] = {}
    exec(compile(source, str(path), "exec"), scope)  # type: ignore[arg-type]
    return scope


@pytest.fixture
def program_file(tmp_path: Path) -> Path:
    path = tmp_path / "prog.py"
    assert REGISTRY.filter.accepts(str(path)), "tmp files are the program's by default"
    return path


def test_the_first_scan_finds_functions_held_anywhere(program_file: Path) -> None:
    fn = _functions_from(program_file, "def job():\n    return 1\n")["job"]
    holder = {"deep": [(fn,)]}
    gc.collect()  # old: only a pass over the whole heap sees it
    heap = HeapScan()
    heap.scan()
    assert heap.functions(normalize(str(program_file)), ("job", 1)) == [holder["deep"][0][0]]


@pytest.mark.skipif(heap._young_generations() is None,
                    reason="3.14's incremental collector: every scan looks at the whole heap")
def test_later_scans_look_at_the_young_generations_only(program_file: Path) -> None:
    heap = HeapScan()
    heap.scan()
    file = normalize(str(program_file))
    young = _functions_from(program_file, "def young():\n    return 1\n")["young"]
    heap.scan()
    assert heap.functions(file, ("young", 1)) == [young]
    old = _functions_from(program_file, "\ndef old():\n    return 1\n")["old"]
    gc.collect()
    heap.scan()  # the file's module was not imported after the first pass: young only
    assert heap.functions(file, ("old", 2)) == []
    assert old is not None


def test_a_file_not_covered_by_the_last_pass_gets_a_whole_pass(program_file: Path) -> None:
    heap = HeapScan()
    heap.scan()
    old = _functions_from(program_file, "def old():\n    return 1\n")["old"]
    gc.collect()
    heap.scan(normalize(str(program_file)))  # as for a module imported after the first pass
    assert heap.functions(normalize(str(program_file)), ("old", 1)) == [old]


def test_functions_of_other_files_are_not_indexed(program_file: Path) -> None:
    heap = HeapScan()
    elsewhere = _functions_from(Path("<elsewhere>"), "def job():\n    return 1\n")["job"]
    heap.add(elsewhere)
    assert heap.file_of("<elsewhere>") is None
    assert heap.file_of(gc.__name__) is None
    assert heap.file_of(pytest.__file__) is None  # site-packages is not the program's
    heap.scan()
    assert heap.functions(normalize(str(program_file)), ("job", 1)) == []


def test_closures_that_died_are_forgotten(program_file: Path) -> None:
    make = _functions_from(program_file, "def make(i):\n    return lambda: i\n")["make"]
    heap = HeapScan()
    heap.scan()
    file = normalize(str(program_file))
    for _ in range(20):
        gc.collect()  # the scans below see only what is made now, and young
        batch = [make(i) for i in range(200)]
        heap.scan()
        assert len(heap.functions(file, ("make.<locals>.<lambda>", 2))) == len(batch)
        del batch
    entries = heap._by_file[file]["make.<locals>.<lambda>"]
    assert len(entries) <= 1024 + 200  # dead ones go as new ones come, not all kept


def test_the_first_scan_for_closures_searches_the_whole_heap_again(program_file: Path) -> None:
    make = _functions_from(program_file, "def make(i):\n    return lambda: i\n")["make"]
    heap = HeapScan()
    heap.scan()  # an apply that updates no closure
    early = make(1)
    gc.collect()  # old before any apply needed closures: a pass still finds it
    file = normalize(str(program_file))
    heap.scan(closures=True)
    assert heap.functions(file, ("make.<locals>.<lambda>", 2)) == [early]


def test_a_tracked_file_the_filter_does_not_accept_is_searched_once_covered() -> None:
    import _pytest.fixtures as library  # site-packages: not the program's by default

    fn = library.getfixturemarker
    key = (fn.__code__.co_qualname, fn.__code__.co_firstlineno)
    heap = HeapScan()
    heap.scan()
    assert heap.file_of(library.__file__) is None
    file = heap.cover(library.__file__)  # as when relive.runtime.tracked() names it
    heap.scan(file)
    assert heap.functions(file, key) == [fn]
