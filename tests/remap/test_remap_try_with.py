"""Frames inside `try` and `with` bodies move to the new code: the blocks are re-entered by the
continuation (a `with`'s exit goes along), and the new code's handlers apply from then on."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .conftest import Program
from .test_remap_loops import _once

# a move by jump must not show the program CPython's warning about the frame's unbound locals
pytestmark = pytest.mark.filterwarnings("error")


def _recording_cm(log: list[Any]) -> Any:
    @contextlib.contextmanager
    def cm() -> Iterator[None]:
        log.append("enter")
        try:
            yield
        except BaseException as exc:
            log.append(("exit", type(exc).__name__))
            raise
        log.append("exit")

    return cm()


def test_a_frame_in_a_try_body_moves_and_the_new_finally_runs() -> None:
    source = """
    def run(hook, log):
        try:
            hook()
            log.append("in-try")
        finally:
            log.append("finally")
        log.append("after")
    """
    new = source.replace('"in-try"', '"IN-TRY"').replace('"finally"', '"FINALLY"').replace(
        '"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["IN-TRY", "FINALLY", "AFTER"]
    assert prog.remapped() == [(5, 5)]


def test_an_exception_after_the_move_is_handled_by_the_new_handlers() -> None:
    source = """
    def run(hook, log):
        try:
            hook()
            log.append("before")
            raise KeyError("k")
        except KeyError:
            log.append("old handler")
        else:
            log.append("old else")
        log.append("after")
    """
    new = source.replace('"before"', '"BEFORE"').replace('"old handler"', '"new handler"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["BEFORE", "new handler", "after"]


def test_a_frame_in_a_try_else_block_keeps_its_finally() -> None:
    source = """
    def run(hook, log):
        try:
            log.append("body")
        except KeyError:
            log.append("handler")
        else:
            hook()
            log.append("else")
            raise ValueError("from else")
        finally:
            log.append("finally")
    """
    new = source.replace('"else"', '"ELSE"').replace('"finally"', '"FINALLY"')
    prog = Program(source)
    log: list[Any] = []
    try:
        prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    except ValueError:
        log.append("raised")
    assert log == ["body", "ELSE", "FINALLY", "raised"]  # the KeyError handler does not apply


def test_a_frame_in_a_with_body_moves_and_the_context_manager_is_left_once() -> None:
    source = """
    def run(cm, hook, log):
        with cm as entered:
            hook()
            log.append(("inside", entered))
        log.append("after")
    """
    new = source.replace('"inside"', '"INSIDE"').replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_recording_cm(log), _once(lambda: prog.edit(new, "run")), log)
    assert log == ["enter", ("INSIDE", None), "exit", "AFTER"]
    assert prog.remapped() == [(5, 5)]


def test_an_exception_in_the_new_with_body_reaches_the_old_exit_which_may_suppress_it() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            hook()
            log.append("inside")
        log.append("after")
    """
    new = source.replace('log.append("inside")', 'raise KeyError("new")')
    prog = Program(source)
    log: list[Any] = []
    calls: list[Any] = []

    class Suppress:
        def __enter__(self) -> None:
            calls.append("enter")

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
            calls.append(("exit", kind))
            return kind is KeyError

    prog.function("run")(Suppress(), _once(lambda: prog.edit(new, "run")), log)
    assert calls == ["enter", ("exit", KeyError)]
    assert log == ["after"]


def test_a_lock_stays_held_through_the_move_and_is_released_once() -> None:
    source = """
    def run(lock, hook, log):
        with lock:
            hook()
            log.append(("old", lock.locked()))
        log.append(("after", lock.locked()))
    """
    new = source.replace('("old"', '("new"')
    prog = Program(source)
    log: list[Any] = []
    lock = threading.Lock()
    prog.function("run")(lock, _once(lambda: prog.edit(new, "run")), log)
    assert log == [("new", True), ("after", False)]
    assert lock.acquire(blocking=False)  # released exactly once: acquirable, not broken


def test_the_main_loop_inside_try_takes_the_edit_and_keeps_its_counter() -> None:
    source = """
    def main(step, log):
        count = 0
        try:
            while True:
                count += 1
                step(count)
                log.append(("old", count))
        except StopIteration:
            log.append(("stopped", count))
    """
    new = source.replace('("old", count)', '("new", count * 10)')
    prog = Program(source)
    log: list[Any] = []

    def step(count: int) -> None:
        if count == 2:
            prog.edit(new, "main")
        if count == 4:
            raise StopIteration

    prog.function("main")(step, log)
    assert log == [("old", 1), ("new", 20), ("new", 30), ("stopped", 4)]


def test_nested_try_with_and_for_blocks_all_carry_on() -> None:
    source = """
    def run(cm, hook, log):
        try:
            with cm, cm:
                for i in range(3):
                    hook(i)
                    log.append(("old", i))
                log.append("loop done")
        except KeyError:
            log.append("keyerror")
        finally:
            log.append("finally")
        log.append("end")
    """
    new = source.replace('("old", i)', '("new", i)').replace('"end"', '"END"')
    prog = Program(source)
    log: list[Any] = []
    cms = [_recording_cm(log), _recording_cm(log)]

    class Both:
        index = 0

        def __enter__(self) -> None:
            cms[self.index].__enter__()
            self.index += 1

        def __exit__(self, *exc: Any) -> None:
            self.index -= 1
            cms[self.index].__exit__(*exc)

    def hook(i: int) -> None:
        if i == 1:
            prog.edit(new, "run")

    prog.function("run")(Both(), hook, log)
    assert log == ["enter", "enter", ("old", 0), ("new", 1), ("new", 2), "loop done", "exit",
                   "exit", "finally", "END"]


def test_a_frame_moved_twice_inside_a_with_leaves_it_once() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            for i in range(3):
                hook(i)
                log.append(("v1", i))
        log.append("after")
    """
    v2 = source.replace('"v1"', '"v2"')
    v3 = source.replace('"v1"', '"v3"')
    prog = Program(source)
    log: list[Any] = []

    def hook(i: int) -> None:
        if i == 0:
            prog.edit(v2, "run")
        elif i == 1:
            prog.edit(v3, "run")

    prog.function("run")(_recording_cm(log), hook, log)
    assert log == ["enter", ("v2", 0), ("v3", 1), ("v3", 2), "exit", "after"]
    assert len(prog.remapped()) == 2


def test_an_async_with_body_in_a_coroutine_moves_and_exits_once() -> None:
    source = """
    async def work(cm, hook, log):
        async with cm as value:
            await hook()
            log.append(("old", value))
        log.append("after")
        return len(log)
    """
    new = source.replace('("old", value)', '("new", value)')
    prog = Program(source)
    log: list[Any] = []

    @contextlib.asynccontextmanager
    async def cm() -> AsyncIterator[str]:
        log.append("enter")
        yield "v"
        log.append("exit")

    async def hook() -> None:
        await asyncio.sleep(0)
        if not prog.remapped() and not any(e == "edited" for e in log):
            log.append("edited")
            prog.edit(new, "work")

    assert asyncio.run(prog.function("work")(cm(), hook, log)) == 5
    assert log == ["enter", "edited", ("new", "v"), "exit", "after"]


def test_a_generator_suspended_inside_a_with_moves_when_resumed() -> None:
    source = """
    def numbers(cm, log):
        with cm:
            for i in range(4):
                yield i
                log.append(("old", i))
        log.append("done")
    """
    new = source.replace('("old", i)', '("new", i)')
    prog = Program(source)
    log: list[Any] = []
    gen = prog.function("numbers")(_recording_cm(log), log)
    assert next(gen) == 0
    prog.edit(new, "numbers")
    assert list(gen) == [1, 2, 3]
    assert log == ["enter", ("new", 0), ("new", 1), ("new", 2), ("new", 3), "exit", "done"]


def test_closing_a_moved_generator_inside_a_with_exits_the_context_manager() -> None:
    source = """
    def numbers(cm, log):
        with cm:
            for i in range(4):
                yield i
                log.append(("old", i))
    """
    new = source.replace('("old", i)', '("new", i)')
    prog = Program(source)
    log: list[Any] = []
    gen = prog.function("numbers")(_recording_cm(log), log)
    next(gen)
    prog.edit(new, "numbers")
    assert next(gen) == 1
    gen.close()
    assert log == ["enter", ("new", 0), ("exit", "GeneratorExit")]


# --- refusals: the frame waits, with the reason ------------------------------------------


def _waits(source: str, new: str, reason: str, expected: list[Any],
           line_map: dict[int, int | None] | None = None) -> Program:
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_recording_cm(log), _once(
        lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert any(reason in r for r in prog.deferred()), prog.deferred()
    assert log == expected
    return prog


def test_a_removed_with_makes_the_frame_wait_until_it_leaves_the_block() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            hook()
            log.append("inside")
        log.append("after")
    """
    new = """
    def run(cm, hook, log):
        hook()
        log.append("INSIDE")
        log.append("AFTER")
    """
    prog = _waits(source, new, "the `with` around line 3 was removed",
                  ["enter", "inside", "exit", "AFTER"], {2: 2, 3: None, 4: 3, 5: 4, 6: 5})
    assert prog.remapped() == [(6, 5)]


def test_a_new_with_around_the_target_makes_the_frame_wait() -> None:
    source = """
    def run(cm, hook, log):
        hook()
        log.append("a")
        log.append("b")
    """
    new = """
    def run(cm, hook, log):
        hook()
        with cm:
            log.append("A")
        log.append("B")
    """
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: 5, 5: 6}
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_recording_cm(log), _once(
        lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert any("the `with` at line 4 of the new version is not entered" in r
               for r in prog.deferred())
    assert log == ["a", "B"]


def test_a_changed_with_header_makes_the_frame_wait() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            hook()
            log.append("inside")
        log.append("after")
    """
    new = source.replace("with cm:", "with cm, cm:").replace('"inside"', '"INSIDE"').replace(
        '"after"', '"AFTER"')
    _waits(source, new, "the `with` around line 3 changed", ["enter", "inside", "exit", "AFTER"])


def test_a_target_inside_a_finally_block_makes_the_frame_wait() -> None:
    source = """
    def run(cm, hook, log):
        hook()
        log.append("a")
        log.append("b")
    """
    new = """
    def run(cm, hook, log):
        hook()
        try:
            pass
        finally:
            log.append("A")
        log.append("B")
    """
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: 7, 5: 8}
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(None, _once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert any("inside the finally block of the try at line 4" in r for r in prog.deferred())
    assert log == ["a", "B"]


def test_restarting_from_inside_a_with_waits_until_the_frame_leaves_it() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            hook()
            log.append("inside")
        log.append("after")
    """
    new = source.replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []
    done: list[bool] = []

    class Reusable:
        def __enter__(self) -> None:
            log.append("enter")

        def __exit__(self, *exc: Any) -> None:
            log.append("exit")

    def hook() -> None:
        if not done:
            done.append(True)
            prog.edit(new, "run", policy="restart")

    prog.function("run")(Reusable(), hook, log)
    assert any("restarting would leave the `with`" in r for r in prog.deferred())
    # it restarts at the first point outside the with, and the new body runs from the top
    assert log == ["enter", "inside", "exit", "enter", "inside", "exit", "AFTER"]


def test_a_frame_in_a_try_star_body_moves_and_the_new_except_star_handles() -> None:
    source = """
    def run(hook, log):
        try:
            hook()
            log.append("before")
            raise ExceptionGroup("g", [KeyError("k")])
        except* KeyError:
            log.append("old handler")
    """
    new = source.replace('"before"', '"BEFORE"').replace('"old handler"', '"new handler"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["BEFORE", "new handler"]


def test_an_async_generator_inside_async_with_moves_and_exits_once() -> None:
    source = """
    async def ticks(cm, log):
        async with cm:
            for i in range(3):
                yield i
                log.append(("old", i))
        log.append("done")
    """
    new = source.replace('("old", i)', '("new", i)')
    prog = Program(source)
    log: list[Any] = []

    @contextlib.asynccontextmanager
    async def cm() -> AsyncIterator[None]:
        log.append("enter")
        yield
        log.append("exit")

    async def main() -> list[int]:
        agen = prog.function("ticks")(cm(), log)
        got = [await agen.__anext__()]
        prog.edit(new, "ticks")
        got += [i async for i in agen]
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    assert log == ["enter", ("new", 0), ("new", 1), ("new", 2), "exit", "done"]
