"""Compile units: the smallest source that compiles a definition exactly as the module does.

A function's code object depends on more than its own text: on the class it is in (name
mangling, the ``__class__`` cell that ``super()`` needs, its ``__qualname__``), on the
functions around it (which names are free variables, which are cells) and on the module's
``from __future__`` imports. A compile unit keeps all of that and nothing else:

- every enclosing class becomes a one-line skeleton ``class Name:`` at its real line;
- every enclosing ``if``/``try``/loop/``with`` block becomes ``if 1:`` (keeps indentation);
- the outermost enclosing *function* is taken whole, because its locals decide the free
  variables of everything nested in it;
- all other lines are blank, so every line number — and so the line table, tracebacks and
  ``co_firstlineno`` — is the one of the real module.

The code object of a definition is then picked out of the unit's constants by name and first
line. This is how the delta engine checks the code it reports, and how the runtime gets the
new code it installs, at a cost that grows with the edit, not with the module.
"""

from __future__ import annotations

import ast
import dis
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import CodeType

from relive._cpython import code as code_flags
from relive.delta.index import MODULE_PATH, Definition, Stmt, facts_line

# compiles a unit (source or tree, file name, __future__ flags) to a module code object; the
# runtime passes one to compile in EnC mode, None means the built-in compile()
Compiler = Callable[[str | ast.Module, str, int], CodeType]
# compiles a unit again in another mode, given its tree and its plain code (which it may use,
# e.g. for the compiler's symbol analysis); it may transform the tree in place
Recompiler = Callable[[ast.Module, CodeType, str, int], CodeType]

FUNCTION_KINDS = ("function", "lambda")


class UnitError(Exception):
    """A compile unit could not be built or compiled (the caller reports or falls back)."""


def _indent_of(lines: Sequence[str], line: int, col: int) -> str:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    indent = text[:col]
    if len(indent) != col or indent.strip():
        # the column counts bytes: a non-ASCII prefix cannot be indentation; fall back
        return " " * col
    return indent


def wrappers(d: Definition) -> list[tuple[int, str]]:
    """``if 1:`` lines reproducing the blocks between ``d``'s scope and ``d``, on the lines
    just above ``d`` (each enclosing block's header has a line of its own before it)."""
    n = len(d.blocks)
    return [(d.first - n + k, indent + "if 1:") for k, indent in enumerate(d.blocks)]


def skeleton(lines: Sequence[str], index: Mapping[str, Definition],
             scope: Definition) -> list[tuple[int, str]]:
    """Lines that reopen ``scope`` (the module or a class, and the classes around it)."""
    out: list[tuple[int, str]] = []
    d: Definition | None = scope
    chain = []
    while d is not None and d.kind != "module":
        if d.kind != "class":
            raise UnitError(f"{scope.path}: a skeleton can only reopen classes")
        chain.append(d)
        d = index[d.parent] if d.parent is not None else None
    for cls in reversed(chain):
        out.extend(wrappers(cls))
        params = f"[{cls.type_params}]" if cls.type_params else ""
        out.append((cls.header_line, _indent_of(lines, cls.header_line, cls.col)
                    + f"class {cls.name}{params}:"))
    return out


def assemble(lines: Sequence[str], heads: list[tuple[int, str]], first: int,
             last: int, tail: str = "") -> str:
    """Blank text with ``heads`` at their lines, lines ``first..last`` verbatim, then
    ``tail`` (the module-wide facts, see :func:`relive.delta.index.facts_line`)."""
    out = [""] * last
    previous = 0
    for line, text in heads:
        if not previous < line < first:
            raise UnitError(f"cannot place a wrapper at line {line} before line {first}")
        out[line - 1] = text
        previous = line
    out[first - 1:last] = lines[first - 1:last]
    if tail:
        out.append(tail)
    return "\n".join(out) + "\n"


def outermost_function(index: Mapping[str, Definition], d: Definition) -> Definition | None:
    """The outermost function or lambda that encloses ``d`` (or ``d`` itself), if any."""
    found = d if d.kind in FUNCTION_KINDS else None
    p = d.parent
    while p is not None:
        a = index[p]
        if a.kind in FUNCTION_KINDS:
            found = a
        p = a.parent
    return found


def statement_at(scope: Definition, line: int) -> Stmt | None:
    """The statement of ``scope``'s body that contains ``line`` (absolute), if any."""
    for s in scope.body:
        if scope.first + s.first <= line <= scope.first + s.last:
            return s
    return None


def statement_span(scope: Definition, line: int) -> tuple[int, int]:
    """Absolute span of the statement of ``scope``'s body that contains ``line``."""
    s = statement_at(scope, line)
    if s is None:
        raise UnitError(f"line {line} is in no statement of {scope.path}")
    return scope.first + s.first, scope.first + s.last


def definition_unit(lines: Sequence[str], index: Mapping[str, Definition],
                    d: Definition) -> tuple[str, Definition]:
    """The compile unit of ``d``, and the definition that it holds whole."""
    if d.kind == "module":
        return "\n".join(lines) + "\n", d
    root = outermost_function(index, d) or d
    parent = index[root.parent] if root.parent is not None else index[MODULE_PATH]
    heads = skeleton(lines, index, parent)
    if root.kind == "lambda":
        first, last = statement_span(parent, root.first)
    else:
        heads += wrappers(root)
        first, last = root.span
    return assemble(lines, heads, first, last, facts_line(index[MODULE_PATH])), root


def statement_unit(lines: Sequence[str], index: Mapping[str, Definition],
                   d: Definition) -> str:
    """The unit that runs ``d``'s own statement (decorators included) in its scope."""
    parent = index[d.parent] if d.parent is not None else index[MODULE_PATH]
    heads = skeleton(lines, index, parent) + wrappers(d)
    return assemble(lines, heads, d.first, d.last_line, facts_line(index[MODULE_PATH]))


def region_unit(lines: Sequence[str], index: Mapping[str, Definition], scope: Definition,
                first: int, last: int) -> str:
    """The compile unit of lines ``first..last``: whole statements of the body of ``scope``."""
    return assemble(lines, skeleton(lines, index, scope), first, last,
                    facts_line(index[MODULE_PATH]))


def compile_unit(text: str | ast.Module, filename: str, flags: int,
                 compiler: Compiler | None = None) -> CodeType:
    """Compile a unit (source or an already parsed tree); raises SyntaxError/ValueError."""
    if compiler is not None:
        return compiler(text, filename, flags)
    code: CodeType = compile(text, filename, "exec", flags=flags, dont_inherit=True)
    return code


def iter_codes(code: CodeType) -> Iterator[CodeType]:
    """``code`` and every code object nested in its constants, depth first, in order."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from iter_codes(const)


def find_code(unit: CodeType, d: Definition) -> CodeType:
    """The code object of ``d`` inside a compiled unit."""
    name = d.name
    rank = d.ordinal if d.kind == "lambda" else 0
    for code in iter_codes(unit):
        if code.co_firstlineno == d.first and code.co_name == name:
            if rank == 0:
                return code
            rank -= 1
    raise UnitError(f"no code object for {d.path} (line {d.first}) in its compile unit")


def pick_codes(unit: CodeType, defs: Iterable[Definition]) -> dict[str, CodeType]:
    """The code object of each definition found in a compiled unit.

    Definitions the compiler left out as unreachable (after a ``return``, under ``if False:``)
    have no code object and no entry.
    """
    table: dict[tuple[str, int], list[CodeType]] = {}
    for code in iter_codes(unit):
        table.setdefault((code.co_name, code.co_firstlineno), []).append(code)
    out: dict[str, CodeType] = {}
    for d in defs:
        found = table.get((d.name, d.first), [])
        rank = d.ordinal if d.kind == "lambda" else 0
        if rank < len(found):
            out[d.path] = found[rank]
    return out


def compile_definition(lines: Sequence[str], index: Mapping[str, Definition], path: str,
                       filename: str, flags: int,
                       compiler: Compiler | None = None) -> CodeType:
    """Compile the code object of the definition ``path`` as the whole module would."""
    d = index[path]
    text, _root = definition_unit(lines, index, d)
    unit = compile_unit(text, filename, flags, compiler)
    return unit if d.kind == "module" else find_code(unit, d)


# -- comparing code objects without their line numbers ------------------------------------

def _const_key(value: object) -> object:
    """A key that tells apart constants ``==`` confuses (1, 1.0, True; 0.0 and -0.0)."""
    if isinstance(value, CodeType):
        return ("code", value.co_name, value.co_qualname)
    if isinstance(value, (tuple, frozenset)):
        items = [_const_key(v) for v in value]
        if isinstance(value, frozenset):
            items.sort(key=repr)
        return (type(value).__name__, tuple(items))
    if isinstance(value, (float, complex)):
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)




def own_key(code: CodeType, skip_first_const: bool = False) -> tuple[object, ...]:
    """What makes ``code`` behave as it does, except line numbers and nested code bodies."""
    consts = code.co_consts[1:] if skip_first_const else code.co_consts
    keys = [_const_key(c) for c in consts]
    if not code.co_flags & code_flags.OPTIMIZED:
        # a class body stores its own first line (``__firstlineno__``, 3.13+) as a constant
        first = code.co_firstlineno
        keys = [("firstlineno",) if k == ("int", first) else k for k in keys]
    return (code.co_code, tuple(keys), code.co_names,
            code.co_varnames, code.co_freevars, code.co_cellvars, code.co_flags,
            code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_exceptiontable, code.co_name, code.co_qualname)


def deep_key(code: CodeType) -> tuple[object, ...]:
    """:func:`own_key` of ``code`` and of every code nested in it."""
    nested = tuple(deep_key(c) for c in code.co_consts if isinstance(c, CodeType))
    return (own_key(code), nested)


_COMPREHENSIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})


def _nested(code: CodeType) -> tuple[list[CodeType], list[CodeType]]:
    """The code nested in ``code``: (comprehensions, definitions).

    A comprehension is part of the body that holds it (3.12 inlines most of them), so it is
    compared with that body; the lambdas and functions inside it are definitions of their own.
    """
    comps: list[CodeType] = []
    defs: list[CodeType] = []
    todo = [c for c in code.co_consts if isinstance(c, CodeType)]
    while todo:
        c = todo.pop(0)
        if c.co_name in _COMPREHENSIONS:
            comps.append(c)
            todo += [k for k in c.co_consts if isinstance(k, CodeType)]
        else:
            defs.append(c)
    return comps, defs


def body_key(code: CodeType,
             skip_first_const: bool = False) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """:func:`own_key` of ``code`` with its comprehensions: what its own body does."""
    return (own_key(code, skip_first_const), tuple(own_key(c) for c in _nested(code)[0]))


def nested_key(code: CodeType) -> tuple[object, ...]:
    """:func:`deep_key` of every definition nested in ``code``."""
    return tuple(deep_key(c) for c in _nested(code)[1])


def body_lines(code: CodeType) -> tuple[object, ...]:
    """The line tables of ``code`` and its comprehensions, relative to its first line."""
    base = code.co_firstlineno
    return (_lines_of(code, base), tuple(_lines_of(c, base) for c in _nested(code)[0]))


def _lines_of(code: CodeType, base: int) -> tuple[int | None, ...]:
    return tuple(None if line is None else line - base for _s, _e, line in code.co_lines())


def own_lines(code: CodeType) -> tuple[int | None, ...]:
    """The line table of ``code`` relative to its first line."""
    return _lines_of(code, code.co_firstlineno)


def deep_lines(code: CodeType, base: int | None = None) -> tuple[object, ...]:
    """Line tables of ``code`` and nested code, all relative to ``code``'s first line."""
    if base is None:
        base = code.co_firstlineno
    nested = tuple(deep_lines(c, base) for c in code.co_consts if isinstance(c, CodeType))
    return (code.co_firstlineno - base, _lines_of(code, base), nested)


def _positions_of(code: CodeType, base: int) -> tuple[object, ...]:
    return tuple((None if line is None else line - base,
                  None if end is None else end - base, col, end_col)
                 for line, end, col, end_col in code.co_positions())


def body_positions(code: CodeType) -> tuple[object, ...]:
    """The positions (lines relative to its first line, and columns) of each instruction of
    ``code`` and its comprehensions: what tracebacks point at (the carets of 3.11+) and
    debuggers read. An edit can change columns alone (``for (a, b) in xs`` → ``for a, b in
    xs``), which the line tables do not show."""
    base = code.co_firstlineno
    return (_positions_of(code, base),
            tuple(_positions_of(c, base) for c in _nested(code)[0]))


def deep_positions(code: CodeType, base: int | None = None) -> tuple[object, ...]:
    """:func:`body_positions` of ``code`` and all nested code, relative to ``code``'s first
    line."""
    if base is None:
        base = code.co_firstlineno
    nested = tuple(deep_positions(c, base) for c in code.co_consts if isinstance(c, CodeType))
    return (code.co_firstlineno - base, _positions_of(code, base), nested)


_LOAD_CONST = dis.opmap["LOAD_CONST"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


def code_docstring(code: CodeType) -> str | None:
    """The docstring of a function compiled to ``code`` (None for lambdas and class bodies).

    CPython 3.11-3.13 keep a function's docstring, or None, as its first constant; 3.14
    keeps it first only when ``CO_HAS_DOCSTRING`` says there is one: otherwise the first
    constant is whatever the body put there first (a string the function returns, say).
    """
    if not code.co_flags & code_flags.OPTIMIZED or code.co_name == "<lambda>" or not code.co_consts:
        return None
    if code_flags.HAS_DOCSTRING_FLAG and not code.co_flags & code_flags.HAS_DOCSTRING:
        return None
    first = code.co_consts[0]
    return first if isinstance(first, str) else None


BodyKey = tuple[tuple[object, ...], tuple[object, ...]]


def docless_body_keys(old: CodeType, new: CodeType) -> tuple[BodyKey, BodyKey]:
    """:func:`body_key` of two versions of a function's code, blind to their docstrings.

    The docstring is compared on its own (:func:`code_docstring`). On 3.11-3.13 it takes the
    first constant, which is None when there is none, so skipping that slot is enough. On
    3.14 only a function with a docstring has that slot (``CO_HAS_DOCSTRING``): when one side
    has a docstring and the other not, every constant is shifted by one and the first one is
    kept even when nothing uses it, so both keys then name each constant the bytecode loads by
    its value instead of its index (slower, hence only then).
    """
    if not code_flags.HAS_DOCSTRING_FLAG:
        return body_key(old, _has_slot(old)), body_key(new, _has_slot(new))
    has_old = old.co_flags & code_flags.HAS_DOCSTRING
    has_new = new.co_flags & code_flags.HAS_DOCSTRING
    if has_old == has_new:
        return body_key(old, bool(has_old)), body_key(new, bool(has_new))
    return _by_value_key(old), _by_value_key(new)


def _has_slot(code: CodeType) -> bool:
    return (bool(code.co_flags & code_flags.OPTIMIZED) and code.co_name != "<lambda>"
            and bool(code.co_consts))


def _by_value_key(code: CodeType) -> BodyKey:
    own, comps = body_key(code)
    return ((_consts_by_value(code), (), *own[2:6], code.co_flags & ~code_flags.HAS_DOCSTRING,
             *own[7:]), comps)


def _consts_by_value(code: CodeType) -> tuple[object, ...]:
    """``code``'s bytecode with every constant it loads named by value, not index."""
    raw, consts = code.co_code, code.co_consts
    out: list[object] = []
    ext = 0
    for i in range(0, len(raw), 2):
        op, arg = raw[i], raw[i + 1] | ext
        ext = arg << 8 if op == _EXTENDED_ARG else 0
        if not ext:
            out.append(_const_key(consts[arg]) if op == _LOAD_CONST else (op, arg))
    return tuple(out)




def signature_key(code: CodeType) -> tuple[object, ...]:
    nargs = (code.co_argcount + code.co_kwonlyargcount
             + bool(code.co_flags & code_flags.VARARGS)
             + bool(code.co_flags & code_flags.VARKEYWORDS))
    return (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_varnames[:nargs], code.co_flags & code_flags.SIGNATURE)


# instructions that push a local or a cell variable, and which of their names is pushed last
# (3.13 fuses two loads into one LOAD_FAST_LOAD_FAST, whose argument is a pair of names;
# 3.14 adds borrowing variants)
_LOADS = {"LOAD_FAST": False, "LOAD_DEREF": False, "LOAD_CLOSURE": False,
          "LOAD_FAST_CHECK": False, "LOAD_FAST_LOAD_FAST": True, "LOAD_FAST_BORROW": False,
          "LOAD_FAST_BORROW_LOAD_FAST_BORROW": True}


def self_attribute_stores(code: CodeType) -> frozenset[str]:
    """The attributes a method's own code assigns on its first argument (``self.x = ...``,
    ``self.a, self.b = ...``, ``for self.i in ...``): each ``STORE_ATTR`` whose object was
    pushed just before by a load of the first argument. Nested functions are not read."""
    import dis

    if code.co_argcount == 0:  # (it counts positional-only parameters too)
        return frozenset()
    first = code.co_varnames[0]
    found: set[str] = set()
    pushed: str | None = None
    for ins in dis.get_instructions(code):
        if ins.opname == "STORE_ATTR" and pushed == first:
            found.add(ins.argval)
        if ins.opname in _LOADS:
            value = ins.argval
            pushed = value[-1] if _LOADS[ins.opname] and isinstance(value, tuple) else value
        elif ins.opname not in ("CACHE", "EXTENDED_ARG"):
            pushed = None
    return frozenset(found)
