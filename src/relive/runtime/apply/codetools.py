"""Small operations on code objects that applies need."""

from __future__ import annotations

from types import CodeType

from relive._cpython.code import is_function_code
from relive.delta.units import code_docstring

# the hidden keyword-only parameter through which a continuation (the code a remapped frame
# resumes in, :mod:`relive.runtime.remap.continuation`) receives the frame's locals
CONTINUATION_VALUES = "__relive_v__"


def is_continuation(code: CodeType) -> bool:
    """Is ``code`` a continuation? A function running one only starts a remapped frame: it is
    no live object of the definition, and an apply leaves it alone."""
    start = code.co_argcount
    return CONTINUATION_VALUES in code.co_varnames[start:start + code.co_kwonlyargcount]


def shift_code(code: CodeType, by: int) -> CodeType:
    """``code`` (and the code nested in it) moved ``by`` lines.

    Since CPython 3.11 every line of the line table and every position is stored relative to
    ``co_firstlineno``, so moving a function is a new first line — except a class body, which
    also stores its first line as a constant for ``__firstlineno__`` (3.13).
    """
    if not by:
        return code
    first = code.co_firstlineno
    consts = code.co_consts
    if CodeType in map(type, consts) or not is_function_code(code):
        consts = tuple(_shift_const(c, by, first, not is_function_code(code))
                       for c in consts)
        return code.replace(co_firstlineno=first + by, co_consts=consts)
    return code.replace(co_firstlineno=first + by)


def _shift_const(value: object, by: int, first: int, class_body: bool) -> object:
    if isinstance(value, CodeType):
        return shift_code(value, by)
    if class_body and type(value) is int and value == first:
        return value + by
    return value


def docstring_of(code: CodeType) -> str | None:
    """The docstring a function made from ``code`` gets."""
    return code_docstring(code)


_TOMBSTONE_TEMPLATE = """\
def __relive_outer__():
    {cells}
    def {name}(*args, **kwargs):
        {uses}
        raise __import__("relive.runtime.errors", fromlist=["_"]).DeletedDefinitionError(
            {path!r}, {module!r}, {generation!r})
    return {name}
"""


def tombstone_code(like: CodeType, path: str, module: str, generation: int) -> CodeType:
    """Code that raises DeletedDefinitionError, fit for a function made from ``like``.

    A function's ``__code__`` can only take code with as many free variables as its
    closure has cells, so the tombstone declares that many (unused) free variables.
    """
    n = len(like.co_freevars)
    names = [f"__relive_cell{i}" for i in range(n)]
    source = _TOMBSTONE_TEMPLATE.format(
        cells=(" = ".join(names) + " = None") if names else "pass",
        uses=("(" + ", ".join(names) + ",)") if names else "pass",
        name="__relive_tombstone__", path=path, module=module, generation=generation)
    outer = compile(source, f"<deleted {module}.{path}>", "exec")
    factory = next(c for c in outer.co_consts if isinstance(c, CodeType))
    inner = next(c for c in factory.co_consts if isinstance(c, CodeType))
    return inner.replace(co_name=like.co_name, co_qualname=like.co_qualname)
