"""What the oracle compares: every code object a module's live functions run, as plain data.

A module's functions are found the way a program reaches them: from the module's namespace
through classes defined in it, ``staticmethod``/``classmethod``/``property``, ``partial``,
``__wrapped__`` chains, closure cells, default values, containers and the attributes of
objects (a framework object holding a callback). Each function's code and every code nested in
it (methods, nested functions, lambdas, comprehensions) is printed as fields: bytecode,
constants (recursively), names, flags, defaults and the line tables. Two processes that ran
the same source print the same fields, so the fields can be compared across processes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import typing
from collections.abc import Iterator
from types import CodeType, FunctionType, ModuleType
from typing import Any

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MAX_DEPTH = 6


def normal_repr(value: object) -> str:
    """A repr that is the same in two processes (no addresses), bounded in size."""
    if isinstance(value, CodeType):
        return f"<code {value.co_qualname}>"
    if isinstance(value, tuple):
        return "(" + ", ".join(normal_repr(v) for v in value) + ")"
    if isinstance(value, frozenset):  # equal sets may iterate in another order
        return "frozenset({" + ", ".join(sorted(normal_repr(v) for v in value)) + "})"
    try:
        text = repr(value)
    except Exception as exc:  # a repr that fails is still a value to compare
        text = f"<unrepresentable {type(value).__qualname__}: {type(exc).__name__}>"
    return _ADDRESS.sub(" at 0x?", text)[:400]


def walk(module: ModuleType) -> list[tuple[str, FunctionType]]:
    """(path, function) for each function compiled from ``module``'s file that the module
    reaches, first path first."""
    filename = getattr(module, "__file__", None)
    out: list[tuple[str, FunctionType]] = []
    seen: set[int] = set()
    keep: list[object] = []  # ids stay unique while the walk holds what it saw

    def visit(obj: object, path: str, depth: int) -> None:
        if depth > _MAX_DEPTH or id(obj) in seen or isinstance(obj, ModuleType):
            return
        seen.add(id(obj))
        keep.append(obj)
        for child, sub in _children(obj, module.__name__):
            visit(child, f"{path}{sub}", depth + 1)
        if isinstance(obj, FunctionType) and obj.__code__.co_filename == filename:
            out.append((path, obj))

    for name, value in list(vars(module).items()):
        visit(value, name, 0)
    return out


def _children(obj: object, module: str) -> Iterator[tuple[object, str]]:
    if isinstance(obj, FunctionType):
        for i, cell in enumerate(obj.__closure__ or ()):
            try:
                yield cell.cell_contents, f".<cell {i}>"
            except ValueError:  # an empty cell
                pass
        for i, value in enumerate(obj.__defaults__ or ()):
            yield value, f".<default {i}>"
        for key, value in (obj.__kwdefaults__ or {}).items():
            yield value, f".<kwdefault {key}>"
        wrapped = obj.__dict__.get("__wrapped__")
        if wrapped is not None:
            yield wrapped, ".__wrapped__"
        # ``@overload`` stubs live only in typing's registry, reached through the function
        stubs = typing.get_overloads(obj)
        if obj not in stubs:  # from the implementation only, not again from each stub
            for i, stub in enumerate(stubs):
                yield stub, f".<overload {i}>"
        return
    if isinstance(obj, type):
        if obj.__module__ == module:
            for key, value in list(vars(obj).items()):
                yield value, f".{key}"
        return
    if isinstance(obj, (staticmethod, classmethod)):
        yield obj.__func__, ".__func__"
        return
    if isinstance(obj, property):
        for attr in ("fget", "fset", "fdel"):
            yield getattr(obj, attr), f".{attr}"
        return
    if isinstance(obj, functools.partial):
        yield obj.func, ".func"
        return
    if isinstance(obj, dict):
        for key, value in list(obj.items()):
            yield value, f"[{normal_repr(key)[:60]}]"
        return
    if isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield value, f"[{i}]"
        return
    if isinstance(obj, (str, bytes, int, float, complex, bool, frozenset, set)) or obj is None:
        return
    attrs = _instance_dict(obj)
    for key, value in attrs.items():
        yield value, f".{key}"


def _instance_dict(obj: object) -> dict[str, Any]:
    try:
        attrs = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        return {}
    return dict(attrs) if isinstance(attrs, dict) else {}


def code_fields(code: CodeType) -> dict[str, str]:
    """The facts of one code object that a fresh compile fixes (nested code by name)."""
    return {
        "firstlineno": str(code.co_firstlineno),
        "bytecode": code.co_code.hex(),
        "consts": normal_repr(tuple(code.co_consts)) if len(code.co_consts) < 200
        else hashlib.sha1(normal_repr(tuple(code.co_consts)).encode()).hexdigest(),
        "names": repr(code.co_names),
        "varnames": repr(code.co_varnames),
        "freevars": repr(code.co_freevars),
        "cellvars": repr(code.co_cellvars),
        "flags": hex(code.co_flags),
        "args": repr((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)),
        "exceptiontable": code.co_exceptiontable.hex(),
        "lines": repr(list(code.co_lines())),
        "positions": repr(list(code.co_positions())),
    }


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def summarize(functions: list[tuple[str, FunctionType]],
              full: bool = False) -> dict[str, dict[str, str]]:
    """Every code the functions run, keyed ``qualname@n`` (the n-th code of that qualified
    name, in the order of first lines): its fields, digested unless ``full``."""
    entries: dict[tuple[str, int, str], dict[str, str]] = {}

    def add(code: CodeType, fn: FunctionType | None) -> None:
        fields = code_fields(code)
        if fn is not None:
            fields["defaults"] = normal_repr(fn.__defaults__)
            fields["kwdefaults"] = normal_repr(
                tuple(sorted((fn.__kwdefaults__ or {}).items())))
        ident = (code.co_qualname, code.co_firstlineno, _digest(repr(sorted(fields.items()))))
        if ident in entries:
            return
        entries[ident] = fields
        for const in code.co_consts:
            if isinstance(const, CodeType):
                add(const, None)

    for _path, fn in functions:
        add(fn.__code__, fn)
    out: dict[str, dict[str, str]] = {}
    counts: dict[str, int] = {}
    for qualname, _first, _digest_ in sorted(entries):
        n = counts.get(qualname, 0)
        counts[qualname] = n + 1
        fields = entries[(qualname, _first, _digest_)]
        out[f"{qualname}@{n}"] = fields if full else {k: _digest(v) if len(v) > 40 else v
                                                      for k, v in fields.items()}
    return out

