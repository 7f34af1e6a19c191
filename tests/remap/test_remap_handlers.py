"""Frames inside `except` bodies, and inside `finally` bodies run for an exception, move to
the new code: the continuation handles the same exception again (same object, traceback and
`sys.exception()`), then runs the new `finally` and what follows, as if it had run all along."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import pytest

from .conftest import Program
from .test_remap_loops import _once

# a move by jump must not show the program CPython's warning about the frame's unbound locals
pytestmark = pytest.mark.filterwarnings("error")


def test_a_frame_in_an_except_body_moves_and_still_handles_the_exception() -> None:
    source = """
    import sys

    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError as exc:
            hook()
            log.append(("old", exc, sys.exception()))
        log.append(("after", sys.exception()))
        return "exc" in dir()
    """
    new = source.replace('("old"', '("new"').replace('("after"', '("AFTER"')
    prog = Program(source)
    log: list[Any] = []
    still_bound = prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    (tag, bound, current), after = log
    assert tag == "new"
    assert isinstance(bound, KeyError) and current is bound
    assert after == ("AFTER", None)  # handled: the exception is no longer the current one
    assert still_bound is False  # `except ... as exc` unbinds exc at the end, as always
    assert prog.remapped() == [(9, 9)]


def test_a_bare_raise_after_the_move_reraises_with_the_original_traceback() -> None:
    source = """
    def fail():
        raise ValueError("deep")

    def run(hook, log):
        try:
            fail()
        except ValueError:
            hook()
            log.append("old")
            raise
    """
    new = source.replace('"old"', '"new"')
    prog = Program(source)
    log: list[Any] = []
    with pytest.raises(ValueError) as caught:
        prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["new"]
    frames = [(f.name, f.lineno) for f in traceback.extract_tb(caught.value.__traceback__)]
    # pytest's frame, then run at the call that failed (not a relive line), then fail
    assert frames[-2:] == [("run", 7), ("fail", 3)]
    assert all(name in ("run", "fail") for name, _line in frames[1:])


def test_an_exception_raised_by_the_new_handler_chains_to_the_handled_one() -> None:
    source = """
    def run(hook, log):
        try:
            raise KeyError("first")
        except KeyError:
            hook()
            log.append("old")
    """
    new = source.replace('log.append("old")', 'raise RuntimeError("second")')
    prog = Program(source)
    with pytest.raises(RuntimeError) as caught:
        prog.function("run")(_once(lambda: prog.edit(new, "run")), [])
    context = caught.value.__context__
    assert isinstance(context, KeyError) and context.args == ("first",)


def test_a_retry_loop_inside_an_except_body_keeps_its_counter() -> None:
    source = """
    def main(step, log):
        try:
            raise ConnectionError("down")
        except ConnectionError:
            attempts = 0
            while attempts < 4:
                attempts += 1
                step(attempts)
                log.append(("old", attempts))
        log.append("done")
    """
    new = source.replace('("old", attempts)', '("new", attempts * 10)')
    prog = Program(source)
    log: list[Any] = []

    def step(count: int) -> None:
        if count == 2:
            prog.edit(new, "main")

    prog.function("main")(step, log)
    assert log == [("old", 1), ("new", 20), ("new", 30), ("new", 40), "done"]


def test_break_and_continue_in_a_moved_handler_act_on_the_loop_around_it() -> None:
    source = """
    def run(hook, log):
        for i in range(5):
            try:
                raise KeyError(i)
            except KeyError:
                hook(i)
                if i == 1:
                    continue
                if i == 3:
                    break
                log.append(("old", i))
        log.append("after")
    """
    new = source.replace('("old", i)', '("new", i)')
    prog = Program(source)
    log: list[Any] = []
    edit = _once(lambda: prog.edit(new, "run"))
    prog.function("run")(lambda i: edit(), log)
    assert log == [("new", 0), ("new", 2), "after"]
    assert prog.remapped() == [(8, 8)]


def test_the_finally_of_the_try_runs_after_the_moved_handler_even_when_it_raises() -> None:
    source = """
    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError:
            hook()
            log.append("handler")
        finally:
            log.append("finally")
        log.append("after")
    """
    new = source.replace('log.append("handler")', 'raise OSError("from the new handler")'
                         ).replace('"finally"', '"FINALLY"')
    prog = Program(source)
    log: list[Any] = []
    with pytest.raises(OSError):
        prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["FINALLY"]


def test_a_frame_in_a_finally_body_run_for_an_exception_moves_and_the_exception_goes_on() -> None:
    source = """
    import sys

    def run(hook, log):
        try:
            raise KeyError("k")
        finally:
            hook()
            log.append(("old", sys.exception()))
        log.append("never")
    """
    new = source.replace('("old"', '("new"')
    prog = Program(source)
    log: list[Any] = []
    with pytest.raises(KeyError) as caught:
        prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [("new", caught.value)]
    assert [f.lineno for f in traceback.extract_tb(caught.value.__traceback__)][-1] == 6


def test_a_moved_finally_body_in_a_loop_hands_its_exception_to_the_handler_outside() -> None:
    source = """
    def run(hook, log):
        for attempt in range(3):
            try:
                try:
                    raise KeyError(attempt)
                finally:
                    hook()
                    log.append(("old", attempt))
            except KeyError as exc:
                log.append(("caught", exc.args[0]))
        return "left"
    """
    new = source.replace('("old", attempt)', '("new", attempt)')
    prog = Program(source)
    log: list[Any] = []
    result = prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert result == "left"
    assert log == [("new", 0), ("caught", 0), ("new", 1), ("caught", 1), ("new", 2),
                   ("caught", 2)]


def test_a_frame_in_a_finally_body_left_normally_moves_and_goes_on_after_the_try() -> None:
    source = """
    def run(hook, log):
        try:
            log.append("body")
        finally:
            hook()
            log.append("finally")
        log.append("after")
    """
    new = source.replace('"finally"', '"FINALLY"').replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["body", "FINALLY", "AFTER"]
    assert prog.remapped() == [(7, 7)]


def test_a_finally_body_run_before_a_break_waits_until_the_loop_is_left() -> None:
    source = """
    def run(hook, log):
        for i in range(3):
            try:
                if i == 1:
                    break
                log.append(("body", i))
            finally:
                hook(i)
                log.append(("finally", i))
        log.append("after")
    """
    new = source.replace('("finally", i)', '("FINALLY", i)').replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []

    def hook(i: int) -> None:
        if i == 1:
            prog.edit(new, "run")

    prog.function("run")(hook, log)
    # the copy before the break would have to break afterwards: it runs the old code
    assert log == [("body", 0), ("finally", 0), ("finally", 1), "AFTER"]
    assert prog.remapped() == [(11, 11)]


@pytest.mark.parametrize("fail", [False, True], ids=["left-normally", "for-an-exception"])
def test_a_with_inside_each_copy_of_a_finally_body_is_left_once(fail: bool) -> None:
    source = """
    def run(cm, hook, fail, log):
        try:
            if fail:
                raise KeyError("k")
        finally:
            with cm:
                hook()
                log.append("old")
        log.append("after")
    """
    new = source.replace('"old"', '"new"').replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []

    class Recording:
        def __enter__(self) -> None:
            log.append("enter")

        def __exit__(self, *exc: Any) -> None:
            log.append("exit")

    try:
        prog.function("run")(Recording(), _once(lambda: prog.edit(new, "run")), fail, log)
    except KeyError:
        log.append("raised")
    assert log == ["enter", "new", "exit", "raised" if fail else "AFTER"]
    assert prog.remapped() == [(9, 9)]


def test_nested_handlers_each_handle_their_own_exception_again() -> None:
    source = """
    import sys

    def run(hook, log):
        try:
            raise KeyError("outer")
        except KeyError:
            try:
                raise ValueError("inner")
            except ValueError as inner:
                hook()
                log.append(("old", inner.args, inner.__context__.args))
            log.append(("outer handler", sys.exception().args))
        log.append(("after", sys.exception()))
    """
    new = source.replace('("old"', '("new"').replace('"outer handler"', '"OUTER HANDLER"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [("new", ("inner",), ("outer",)), ("OUTER HANDLER", ("outer",)),
                   ("after", None)]


def test_a_handler_inside_a_loop_and_a_with_keeps_both() -> None:
    source = """
    def run(cm, hook, log):
        with cm:
            for i in range(3):
                try:
                    raise KeyError(i)
                except KeyError as exc:
                    hook(i)
                    log.append(("old", exc.args[0]))
        log.append("after")
    """
    new = source.replace('("old"', '("new"')
    prog = Program(source)
    log: list[Any] = []

    class Recording:
        def __enter__(self) -> None:
            log.append("enter")

        def __exit__(self, *exc: Any) -> None:
            log.append("exit")

    def hook(i: int) -> None:
        if i == 1:
            prog.edit(new, "run")

    prog.function("run")(Recording(), hook, log)
    assert log == ["enter", ("old", 0), ("new", 1), ("new", 2), "exit", "after"]


def test_a_generator_suspended_in_an_except_body_moves_when_resumed() -> None:
    source = """
    import sys

    def numbers(log):
        try:
            raise KeyError("k")
        except KeyError:
            yield 1
            log.append(("old", sys.exception()))
            yield 2
        log.append(("after", sys.exception()))
    """
    new = source.replace('("old"', '("new"')
    prog = Program(source)
    log: list[Any] = []
    gen = prog.function("numbers")(log)
    assert next(gen) == 1
    prog.edit(new, "numbers")
    assert list(gen) == [2]
    assert isinstance(log[0][1], KeyError) and log[0][0] == "new"
    assert log[1] == ("after", None)
    assert sys.exception() is None


def test_an_except_in_a_coroutine_moves() -> None:
    import asyncio

    source = """
    import asyncio

    async def work(hook, log):
        try:
            raise KeyError("k")
        except KeyError as exc:
            await asyncio.sleep(0)
            hook()
            log.append(("old", exc.args))
        return log
    """
    new = source.replace('("old"', '("new"')
    prog = Program(source)
    log: list[Any] = []
    asyncio.run(prog.function("work")(_once(lambda: prog.edit(new, "work")), log))
    assert log == [("new", ("k",))]


def _waits(source: str, new: str, reason: str, expected: list[Any],
           line_map: dict[int, int | None] | None = None) -> Program:
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run", line_map=line_map)), log)
    assert any(reason in r for r in prog.deferred()), prog.deferred()
    assert log == expected
    return prog


def test_a_changed_except_clause_makes_the_frame_wait_until_it_leaves_the_handler() -> None:
    source = """
    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError:
            hook()
            log.append("handler")
        log.append("after")
    """
    new = source.replace("except KeyError:", "except (KeyError, ValueError):").replace(
        '"handler"', '"HANDLER"').replace('"after"', '"AFTER"')
    _waits(source, new, "the `except` at line 5 changed", ["handler", "AFTER"])


def test_a_target_outside_the_handler_makes_the_frame_wait() -> None:
    source = """
    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError:
            hook()
            log.append("a")
            log.append("b")
        log.append("after")
    """
    new = """
    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError:
            hook()
        log.append("A")
        log.append("B")
        log.append("AFTER")
    """
    line_map: dict[int, int | None] = {2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9}
    _waits(source, new, "the frame is in the except block of the try at line 3",
           ["a", "b", "AFTER"], line_map)


def test_an_except_star_body_offers_no_point() -> None:
    source = """
    def run(hook, log):
        try:
            raise ExceptionGroup("g", [KeyError("k")])
        except* KeyError:
            hook()
            log.append("handler")
        log.append("after")
    """
    new = source.replace('"handler"', '"HANDLER"').replace('"after"', '"AFTER"')
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["handler", "AFTER"]
    assert prog.remapped() == [(8, 8)]


def test_a_second_edit_moves_a_frame_already_in_a_moved_handler() -> None:
    source = """
    def run(hook, log):
        try:
            raise KeyError("k")
        except KeyError as exc:
            for i in range(3):
                hook(i)
                log.append(("v1", i, exc.args))
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

    prog.function("run")(hook, log)
    assert log == [("v2", 0, ("k",)), ("v3", 1, ("k",)), ("v3", 2, ("k",)), "after"]
    assert len(prog.remapped()) == 2



def test_a_finally_body_run_only_on_the_way_to_a_return_waits() -> None:
    # the try always returns: its only copy of the finally body (besides the one for an
    # exception) is run on the way to the return, and must return afterwards
    source = """
    def run(cm, hook, log):
        try:
            with cm:
                return "returned"
        finally:
            hook()
            log.append("finally")
        log.append("never")
    """
    new = source.replace('"finally"', '"FINALLY"')
    prog = Program(source)
    log: list[Any] = []

    class Plain:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: Any) -> None:
            return None

    result = prog.function("run")(Plain(), _once(lambda: prog.edit(new, "run")), log)
    assert (result, log) == ("returned", ["finally"])
    assert prog.remapped() == []


def test_a_finally_body_run_after_an_inner_finally_on_the_way_to_a_return_waits() -> None:
    source = """
    def run(hook, log):
        try:
            try:
                return "returned"
            finally:
                log.append("inner")
        finally:
            hook()
            log.append("outer")
        log.append("never")
    """
    new = source.replace('"outer"', '"OUTER"')
    prog = Program(source)
    log: list[Any] = []
    result = prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert (result, log) == ("returned", ["inner", "outer"])


def test_a_finally_body_run_on_the_way_to_a_break_on_an_if_line_waits() -> None:
    # the try never ends normally: its copies run before the break (whose jump shares the
    # `if` line) and before the continue; neither may go on as the end of the try would
    source = """
    def run(hook, log):
        count = 0
        while True:
            try:
                count += 1
                if count == 2: break
                continue
            finally:
                hook(count)
                log.append(("finally", count))
        log.append("after")
    """
    new = source.replace('("finally", count)', '("FINALLY", count)')
    prog = Program(source)
    log: list[Any] = []
    edit = _once(lambda: prog.edit(new, "run"))
    prog.function("run")(lambda count: edit() if count == 2 else None, log)
    assert log == [("finally", 1), ("finally", 2), "after"]
