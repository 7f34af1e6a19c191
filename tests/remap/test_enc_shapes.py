"""EnC mode pairs code objects by position, so one-line shapes compile in EnC mode exactly.

Code objects that share a name and a first line (two lambdas on a line, a lambda default and
the trailer's cell-capturing lambda, comprehensions in defaults) must each be paired with
their own counterpart in the plain compile; none of these may fall back to plain code. And
real code (a vendored package and a few stdlib packages) compiles in EnC mode without a
single fallback.
"""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path
from types import CodeType

import pytest

from relive.runtime.enc import (
    EncPredictionError,
    enc_compile_checked,
    enc_compile_with_trees,
    function_table,
    is_enc_code,
    iter_code_objects,
)
from relive.runtime.enc.safety import is_def_code, shape_problems

SHAPES = {
    "lambda_default_and_closure": (
        "def consecutive_groups(iterable, ordering=lambda x: x):\n"
        "    from itertools import groupby\n"
        "    for k, g in groupby(enumerate(iterable), key=lambda x: x[0] - ordering(x[1])):\n"
        "        yield list(map(lambda y: y[1], g))\n"
        "result = [list(g) for g in consecutive_groups([1, 2, 4])]\n"
    ),
    "two_lambdas_on_a_line": (
        "def f(a=lambda: 1, b=lambda: 2):\n"
        "    x = a() + b()\n"
        "    return (lambda: x)(), (lambda: x + 1)()\n"
        "result = f()\n"
    ),
    "one_line_def_with_closure": (
        "def f(x, g=lambda y: y * 10): return (lambda: x + g(1))()\n"
        "result = f(1)\n"
    ),
    "comprehensions_in_defaults": (
        "def f(a=[i for i in range(3)], b={i: i for i in range(2)}, c=sum(i for i in 'ab' * 0)):\n"
        "    n = len(a) + len(b) + c\n"
        "    return [(lambda: n)() for _ in a]\n"
        "result = f()\n"
    ),
    "nested_def_and_lambda_on_one_line": (
        "def outer(k=lambda: 5):\n"
        "    z = k()\n"
        "    def inner(m=lambda: z): return (lambda: m() + z)()\n"
        "    return inner()\n"
        "result = outer()\n"
    ),
    "decorators_with_lambdas": (
        "def deco(f): return f\n"
        "@(lambda f: f)\n"
        "@deco\n"
        "def g(x=lambda: 3):\n"
        "    y = x()\n"
        "    return (lambda: y)()\n"
        "@(lambda f: f)\n"
        "def h(q=lambda: 1): v = q(); return (lambda: v)()\n"
        "result = g(), h()\n"
    ),
    "methods_and_class_level_lambdas": (
        "class C:\n"
        "    def m(self, f=lambda s: s): c = 7; return (lambda: f(c))()\n"
        "    p = property(lambda self: 1); q = property(lambda self: 2)\n"
        "result = C().m(), C().p, C().q\n"
    ),
    "async_generator_with_lambda_default": (
        "import asyncio\n"
        "async def ag(x=lambda: 1):\n"
        "    y = x()\n"
        "    yield (lambda: y)()\n"
        "async def main(): return [v async for v in ag()]\n"
        "result = asyncio.run(main())\n"
    ),
    "lambdas_nested_in_lambdas": (
        "def f(a=lambda: (lambda: (lambda: 1))):\n"
        "    b = a()()()\n"
        "    return (lambda: (lambda: b))()()\n"
        "result = f()\n"
    ),
}


@pytest.mark.parametrize("source", SHAPES.values(), ids=list(SHAPES))
def test_one_line_shapes_compile_in_enc_mode_and_run_as_plain_code(source: str) -> None:
    compiled = enc_compile_checked(source, "<shape>")
    assert compiled.fallbacks == ()
    defs = [c for c in iter_code_objects(compiled.code) if is_def_code(c)]
    assert defs and all(is_enc_code(c) for c in defs)
    assert {(c.co_firstlineno, c.co_name) for c in defs} == set(compiled.trees)
    plain_ns: dict[str, object] = {}
    enc_ns: dict[str, object] = {}
    exec(compile(source, "<shape>", "exec"), plain_ns)
    exec(compiled.code, enc_ns)
    assert enc_ns["result"] == plain_ns["result"]


def test_code_objects_are_paired_by_position_not_by_name_and_line() -> None:
    source = SHAPES["lambda_default_and_closure"]
    plain = compile(source, "<shape>", "exec")
    enc = enc_compile_checked(source, "<shape>").code
    assert shape_problems(plain, enc) == {}
    # the trailer's lambda shares the lambda default's name and line, not its position
    named = [c for c in iter_code_objects(enc) if (c.co_name, c.co_firstlineno) == ("<lambda>", 1)]
    assert len(named) == 2 and {len(c.co_freevars) for c in named} == {0, 1}


def test_a_changed_shape_is_blamed_on_the_def_it_is_in() -> None:
    plain = compile("def f():\n    x = 1\n    return lambda: x\n", "<s>", "exec")
    other = compile("def f():\n    y = 1\n    return lambda: y\n", "<s>", "exec")
    assert list(shape_problems(plain, other)) == [(1, "f")]


def test_only_defs_are_in_the_function_table() -> None:
    code = compile("f = lambda: [i for i in ()]\ndef g(): pass\nclass C: pass\n", "<s>", "exec")
    assert set(function_table(code)) == {(2, "g")}


def test_a_wrong_prediction_raises_for_the_caller_to_take_the_slow_way() -> None:
    import ast

    tree = ast.parse("def f():\n    x = 1\n    return lambda: x\n")
    with pytest.raises(EncPredictionError):
        enc_compile_with_trees(tree, "<s>", functions={(1, "f"): ("function", ())})


def _package_dirs() -> list[Path]:
    dirs = [Path(sysconfig.get_paths()["stdlib"]) / name for name in ("asyncio", "json")]
    spec = importlib.util.find_spec("pip")
    if spec is not None and spec.origin is not None:
        dirs.append(Path(spec.origin).parent / "_vendor" / "rich")
    return [d for d in dirs if d.is_dir()]


def test_real_packages_compile_in_enc_mode_without_a_fallback() -> None:
    fallbacks = []
    count = 0
    for directory in _package_dirs():
        for path in sorted(directory.rglob("*.py")):
            source = path.read_bytes()
            plain = compile(source, str(path), "exec", dont_inherit=True)
            compiled = enc_compile_checked(source, str(path))
            fallbacks += [(path.name, f) for f in compiled.fallbacks]
            assert isinstance(compiled.code, CodeType) and compiled.code is not plain
            count += 1
    assert count > 50
    assert fallbacks == []


def test_a_failure_anywhere_in_enc_mode_leaves_the_plain_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from relive.runtime.enc import transform

    def broken(_fn: object) -> None:
        raise IndexError("forced")

    monkeypatch.setattr(transform, "annotate_function", broken)
    source = "def f(x):\n    return x + 1\nresult = f(1)\n"
    compiled = enc_compile_checked(source, "<s>")
    [fallback] = compiled.fallbacks
    assert fallback.qualname == "<module>" and "IndexError: forced" in fallback.detail
    assert fallback.rude_edit().message.startswith("the module could not be compiled")
    namespace: dict[str, object] = {}
    exec(compiled.code, namespace)
    assert namespace["result"] == 2


def test_source_that_plain_python_rejects_is_rejected_as_plain_python_does() -> None:
    with pytest.raises(SyntaxError):
        enc_compile_checked("def f(:\n    pass\n", "<s>")
