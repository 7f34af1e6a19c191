"""Entry hooks: a function with a breakpoint tells the 3.11 backend when it starts.

On 3.11 a thread with any trace function runs every instruction through the interpreter's
slow tracing path, so tracing a whole program to catch calls to the one function that has a
breakpoint costs several times its run time. Instead, while a plain function (not a
generator or coroutine, not running) has a breakpoint, its function objects get a copy of
its code with one extra call at the start, on the ``def`` line: :func:`enter`, which turns
tracing on for that frame and its thread only. When the breakpoint goes, the original code
is put back.

The copy is compiled from the file's source, and used only if compiling that same source
without the call gives back exactly the code the function runs (so an edited file or a
generated function is never patched: it keeps the trace-everything fallback). Line numbers
of the body are unchanged; only the ``def`` line gains the call.
"""

from __future__ import annotations
import __future__

import ast
import gc
import linecache
import sys
from collections.abc import Callable
from types import CodeType, FrameType, FunctionType

from relive._cpython.code import suspends
from relive.debugger.breakpoints import walk_code
from relive.runtime.enc import enc_compile, enc_compile_with_trees, is_enc_code
from relive.runtime.remap.continuation import register_alias

_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag

_HOOK_SOURCE = '__import__("relive.debugger.backends.entry_hooks", fromlist=["enter"]).enter()'

_on_enter: Callable[[FrameType], None] | None = None
# id(hooked copy) -> (hooked copy, original): see unhooked()
_originals: dict[int, tuple[CodeType, CodeType]] = {}


def unhooked(code: CodeType) -> CodeType:
    """The code ``code`` stands for: the original when ``code`` is an entry-hooked copy
    (for the runtime, which compares a function's ``__code__`` with what it installed)."""
    entry = _originals.get(id(code))
    return entry[1] if entry is not None and entry[0] is code else code


def enter() -> None:
    """Called first thing by a hooked function (see the module docstring)."""
    callback = _on_enter
    if callback is not None:
        callback(sys._getframe(1))


class EntryHooks:
    """The functions currently running hooked copies of their code."""

    def __init__(self, on_enter: Callable[[FrameType], None]) -> None:
        global _on_enter
        _on_enter = on_enter
        # id(original code) -> (original, hooked copy, functions that got the copy)
        self._patched: dict[int, tuple[CodeType, CodeType, list[FunctionType]]] = {}
        self.hooked_ids: frozenset[int] = frozenset()

    def prepare_module(self, module: CodeType, wanted: Callable[[CodeType], bool]) -> CodeType:
        """``module``'s code, about to run, with hooked copies of the functions ``wanted``
        says have breakpoints: the functions it defines are born hooked."""
        replaced: dict[int, CodeType] = {}
        for code in walk_code(module):
            if code is module or not wanted(code) or not _plain(code):
                continue
            hooked = _hooked_copy(code)
            if hooked is not None:
                replaced[id(code)] = hooked
                self._patched[id(code)] = (code, hooked, [])
        if not replaced:
            return module
        for original, hooked, _ in self._patched.values():
            _originals[id(hooked)] = (hooked, original)
        self.hooked_ids = frozenset(id(hooked) for _, hooked, _ in self._patched.values())
        return _substitute(module, replaced)

    def sync(self, wanted: list[CodeType]) -> list[CodeType]:
        """Hook the code objects of ``wanted`` that can be hooked, unhook the others;
        returns the code objects of ``wanted`` that could not be hooked."""
        wanted_ids = {id(code) for code in wanted}
        for key in [k for k in self._patched if k not in wanted_ids]:
            _, hooked, _ = self._patched[key]
            if id(hooked) not in wanted_ids:  # the engine may list the copy itself
                self._unpatch(key)
        running = _running_codes()
        left = []
        for code in wanted:
            if id(code) in self._patched or id(code) in self.hooked_ids:
                continue
            if id(code) in running or not self._patch(code):
                left.append(code)
        self.hooked_ids = frozenset(id(hooked) for _, hooked, _ in self._patched.values())
        return left

    def restore_all(self) -> None:
        for key in list(self._patched):
            self._unpatch(key)
        self.hooked_ids = frozenset()

    def _unpatch(self, key: int) -> None:
        original, hooked, functions = self._patched.pop(key)
        _originals.pop(id(hooked), None)
        born_hooked = [f for f in gc.get_referrers(hooked) if isinstance(f, FunctionType)]
        for function in [*functions, *born_hooked]:
            if function.__code__ is hooked:  # not replaced by an edit meanwhile
                function.__code__ = original

    def _patch(self, code: CodeType) -> bool:
        if not _plain(code):
            return False
        functions = [
            f for f in gc.get_referrers(code) if isinstance(f, FunctionType) and f.__code__ is code
        ]
        if not functions:
            return False
        hooked = _hooked_copy(code)
        if hooked is None:
            return False
        for function in functions:
            function.__code__ = hooked
        self._patched[id(code)] = (code, hooked, functions)
        _originals[id(hooked)] = (hooked, code)
        return True


def _plain(code: CodeType) -> bool:
    """A function that can be hooked: not a generator or coroutine (they resume without
    passing their first line again), not a lambda or comprehension, not a closure (its
    parent makes new functions from the original code at every call)."""
    return not (
        suspends(code)
        or code.co_name.startswith("<")
        or "<locals>" in code.co_qualname
    )


def _substitute(code: CodeType, replaced: dict[int, CodeType]) -> CodeType:
    """``code`` with the nested code objects named in ``replaced`` swapped, at any depth."""
    if id(code) in replaced:
        return replaced[id(code)]
    consts = tuple(
        _substitute(c, replaced) if isinstance(c, CodeType) else c for c in code.co_consts
    )
    if all(a is b for a, b in zip(consts, code.co_consts, strict=True)):
        return code
    return code.replace(co_consts=consts)


def _running_codes() -> set[int]:
    running = set()
    for top in sys._current_frames().values():
        frame: FrameType | None = top
        while frame is not None:
            running.add(id(frame.f_code))
            frame = frame.f_back
    return running


def _find(module_code: CodeType, like: CodeType) -> CodeType | None:
    for code in walk_code(module_code):
        if code.co_qualname == like.co_qualname and code.co_firstlineno == like.co_firstlineno:
            return code
    return None


def _hooked_copy(code: CodeType) -> CodeType | None:
    """``code`` with a call of :func:`enter` first, or None when that cannot be made
    exactly (source not available or not the source of this code, closures differ)."""
    linecache.checkcache(code.co_filename)
    source = "".join(linecache.getlines(code.co_filename))
    if not source:
        return None
    flags = code.co_flags & _FUTURE_FLAGS
    if is_enc_code(code):
        return _hooked_enc_copy(code, source, flags)
    try:
        tree = ast.parse(source, code.co_filename)
        original = _find(compile(tree, code.co_filename, "exec", flags, True), code)
    except (SyntaxError, ValueError):
        return None
    if original is None or original != code:
        return None  # the file on disk is not what this function runs
    node = next(
        (
            n for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef)
            and n.name == code.co_name
            and (n.decorator_list[0].lineno if n.decorator_list else n.lineno)
            == code.co_firstlineno
        ),
        None,
    )
    if node is None:
        return None
    body = node.body
    has_docstring = (
        body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    body.insert(1 if has_docstring else 0, _hook_call(node.lineno))
    try:
        hooked = _find(compile(tree, code.co_filename, "exec", flags, True), code)
    except (SyntaxError, ValueError):
        return None
    if hooked is None or hooked.co_freevars != code.co_freevars:
        return None
    return hooked


def _hook_call(line: int) -> ast.stmt:
    """The call of :func:`enter`, on ``line`` (the ``def`` line: the first statement of the
    body still starts a new line)."""
    call = ast.parse(_HOOK_SOURCE, mode="exec").body[0]
    for sub in ast.walk(call):
        sub.lineno = sub.end_lineno = line  # type: ignore[attr-defined]
        sub.col_offset = sub.end_col_offset = 0  # type: ignore[attr-defined]
    return call


def _hooked_enc_copy(code: CodeType, source: str, flags: int) -> CodeType | None:
    """The hooked copy of a function compiled in EnC mode (a module tracked by relive): the
    call goes before the remap handler's ``try``, outside the user's body, and the copy is
    declared an alias of ``code`` so that an edit still remaps its frames."""
    key = (code.co_firstlineno, code.co_name)
    try:
        tree = ast.parse(source, code.co_filename)
        original = _find(enc_compile(tree, code.co_filename, "exec", flags, True), code)
        if original is None or original != code:
            return None  # the file on disk is not what this function runs
        module, trees = enc_compile_with_trees(
            tree, code.co_filename, flags,
            prologue={key: lambda fn: [_hook_call(fn.lineno)]})
    except (SyntaxError, ValueError):
        return None
    hooked = _find(module, code)
    fn_tree = trees.get(key)
    if hooked is None or fn_tree is None or hooked.co_freevars != code.co_freevars:
        return None
    register_alias(hooked, code, fn_tree)
    return hooked
