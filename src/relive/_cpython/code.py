"""Code object flags, and what relive reads from them.

The values are CPython's (``inspect.CO_*``); the docstring flag is 3.14's (before it, a
function's docstring is only its first constant). Everything in relive that reads
``co_flags`` reads it through these names.
"""

from __future__ import annotations

import inspect
import sys
from types import CodeType
from typing import Literal

OPTIMIZED = inspect.CO_OPTIMIZED  # a function's code (fast locals), not a module or class body
NEWLOCALS = inspect.CO_NEWLOCALS
VARARGS = inspect.CO_VARARGS
VARKEYWORDS = inspect.CO_VARKEYWORDS
GENERATOR = inspect.CO_GENERATOR
COROUTINE = inspect.CO_COROUTINE
ITERABLE_COROUTINE = inspect.CO_ITERABLE_COROUTINE
ASYNC_GENERATOR = inspect.CO_ASYNC_GENERATOR

HAS_DOCSTRING_FLAG = sys.version_info >= (3, 14)
"""3.14 flags a function whose first constant is its docstring (``CO_HAS_DOCSTRING``)."""
HAS_DOCSTRING = 0x4000000 if HAS_DOCSTRING_FLAG else 0

SUSPENDS = GENERATOR | COROUTINE | ITERABLE_COROUTINE | ASYNC_GENERATOR
"""The kinds of code whose frames suspend (``yield``, ``await``): not a plain function."""
AWAITS = COROUTINE | ITERABLE_COROUTINE | ASYNC_GENERATOR
"""The kinds of code that suspend on ``await``."""
SIGNATURE = VARARGS | VARKEYWORDS
"""The flags that are part of a function's signature (``*args``, ``**kwargs``)."""

FunctionKind = Literal["function", "generator", "coroutine", "async_generator"]


def function_kind(code: CodeType) -> FunctionKind:
    """What kind of function ``code`` is, from its flags (an iterable coroutine, made by
    ``types.coroutine``, counts as the generator it is)."""
    flags = code.co_flags
    if flags & ASYNC_GENERATOR:
        return "async_generator"
    if flags & COROUTINE:
        return "coroutine"
    if flags & GENERATOR:
        return "generator"
    return "function"


def suspends(code: CodeType) -> bool:
    """Does ``code`` suspend (a generator, a coroutine, an async generator)?"""
    return bool(code.co_flags & SUSPENDS)


def is_function_code(code: CodeType) -> bool:
    """Is ``code`` a function's (fast locals), not a module's or a class body's?"""
    return bool(code.co_flags & OPTIMIZED)
