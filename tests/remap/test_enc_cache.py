"""The EnC code cache and loader."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relive.runtime.enc import cache as enc_cache
from relive.runtime.enc import is_enc_code
from relive.runtime.enc.cache import EncLoader, cache_path, load_enc_code

SOURCE = "def double(x):\n    for _ in range(1):\n        x *= 2\n    return x\n"


def _import(path: Path, name: str) -> types.ModuleType:
    loader = EncLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture
def source_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the environment may say PYTHONDONTWRITEBYTECODE; these tests are about writing
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = tmp_path / "sample_module.py"
    path.write_text(SOURCE)
    return path


@pytest.fixture
def count_compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    compiled: list[str] = []
    original = enc_cache.compile_both

    def counting(source: Any, filename: str) -> Any:
        compiled.append(filename)
        return original(source, filename)

    monkeypatch.setattr(enc_cache, "compile_both", counting)
    yield compiled


def test_the_loader_imports_a_module_in_enc_mode(source_file: Path) -> None:
    module = _import(source_file, "sample_module")
    assert module.double(21) == 42
    assert is_enc_code(module.double.__code__)


def test_a_warm_load_reads_the_cache_instead_of_compiling(
    source_file: Path, count_compiles: list[str]
) -> None:
    first = load_enc_code(str(source_file))
    assert os.path.exists(cache_path(str(source_file)))
    second = load_enc_code(str(source_file))
    assert count_compiles == [str(source_file)]
    assert second == first


def test_the_cache_is_apart_from_the_interpreters_own_bytecode(source_file: Path) -> None:
    load_enc_code(str(source_file))
    assert cache_path(str(source_file)) != importlib.util.cache_from_source(str(source_file))


def test_an_edited_source_is_compiled_again_even_with_the_same_time_stamp(
    source_file: Path, count_compiles: list[str]
) -> None:
    load_enc_code(str(source_file))
    stat = source_file.stat()
    source_file.write_text(SOURCE.replace("x *= 2", "x *= 3"))
    os.utime(source_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    namespace: dict[str, Any] = {}
    exec(load_enc_code(str(source_file)), namespace)
    assert namespace["double"](1) == 3
    assert len(count_compiles) == 2


def test_a_different_relive_version_does_not_reuse_the_cache(
    source_file: Path, count_compiles: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_enc_code(str(source_file))
    monkeypatch.setattr(enc_cache, "CACHE_FORMAT", enc_cache.CACHE_FORMAT + 1)
    load_enc_code(str(source_file))
    assert len(count_compiles) == 2


def test_a_corrupt_cache_file_is_ignored_and_rewritten(
    source_file: Path, count_compiles: list[str]
) -> None:
    load_enc_code(str(source_file))
    path = cache_path(str(source_file))
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    namespace: dict[str, Any] = {}
    exec(load_enc_code(str(source_file)), namespace)
    assert namespace["double"](2) == 4
    assert Path(path).read_bytes() == data
    assert len(count_compiles) == 2


def test_nothing_is_written_when_bytecode_writing_is_off(
    source_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    load_enc_code(str(source_file))
    assert not os.path.exists(cache_path(str(source_file)))


def test_the_cache_also_keeps_the_plain_code_for_the_first_reload(source_file: Path) -> None:
    source = source_file.read_bytes()
    load_enc_code(str(source_file))
    plain = enc_cache.load_plain_code(str(source_file), source)
    assert plain is not None and not is_enc_code(plain)
    assert plain == compile(source, str(source_file), "exec", dont_inherit=True)
    # only for that very source
    assert enc_cache.load_plain_code(str(source_file), source + b"\n") is None


def test_without_a_cache_file_the_plain_code_is_kept_in_memory_until_asked(
    source_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source = source_file.read_bytes()
    load_enc_code(str(source_file))
    assert not os.path.exists(cache_path(str(source_file)))
    plain = enc_cache.load_plain_code(str(source_file), source)
    assert plain == compile(source, str(source_file), "exec", dont_inherit=True)
    # a module's first baseline asks once; the memory is then given back
    assert enc_cache.load_plain_code(str(source_file), source) is None


def test_a_written_cache_file_takes_over_from_the_memory_copy(
    source_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    load_enc_code(str(source_file))
    assert cache_path(str(source_file)) in enc_cache._KEPT
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    source_file.write_text(SOURCE.replace("x *= 2", "x *= 5"))
    load_enc_code(str(source_file))
    assert cache_path(str(source_file)) not in enc_cache._KEPT
    assert enc_cache.load_plain_code(str(source_file), source_file.read_bytes()) is not None


def test_a_cache_file_cut_short_gives_no_code(source_file: Path) -> None:
    source = source_file.read_bytes()
    load_enc_code(str(source_file))
    path = Path(cache_path(str(source_file)))
    path.write_bytes(path.read_bytes()[:-1])
    assert enc_cache.load_plain_code(str(source_file), source) is None
    assert enc_cache._read(str(path), enc_cache._header(source)) is None


def test_code_from_a_moved_folder_names_the_file_where_it_is_now(
    source_file: Path, count_compiles: list[str]
) -> None:
    load_enc_code(str(source_file))
    moved = source_file.parent.parent / "moved"
    source_file.parent.rename(moved)
    path = moved / source_file.name
    code = load_enc_code(str(path))
    plain = enc_cache.load_plain_code(str(path), path.read_bytes())
    assert count_compiles == [str(source_file)]  # the second load came from the cache
    assert plain is not None
    for module_code in (code, plain):
        double = next(c for c in module_code.co_consts if isinstance(c, types.CodeType))
        assert (module_code.co_filename, double.co_filename) == (str(path), str(path))
