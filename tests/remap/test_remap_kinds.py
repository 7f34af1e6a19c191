"""Remapping generators, coroutines, async generators, other threads, recursion, closures."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from .conftest import TIMEOUT, Program
from .test_remap_loops import _once

GEN = """
def numbers(log):
    total = 0
    for i in range(5):
        sent = yield i
        total += i
        log.append(("old", i, sent, total))
    return ("old-done", total)
"""


def test_a_suspended_generator_remaps_when_it_resumes_and_keeps_its_state() -> None:
    prog = Program(GEN)
    log: list[Any] = []
    gen = prog.function("numbers")(log)
    assert next(gen) == 0
    assert gen.send("a") == 1
    prog.edit(GEN.replace('("old", i, sent, total)', '("new", i, sent, total)').replace(
        '("old-done", total)', '("new-done", total)'), "numbers")
    assert gen.send("b") == 2
    assert [gen.send(x) for x in "cd"] == [3, 4]
    with pytest.raises(StopIteration) as stop:
        gen.send("e")
    assert stop.value.value == ("new-done", 10)
    assert log == [
        ("old", 0, "a", 0), ("new", 1, "b", 1), ("new", 2, "c", 3), ("new", 3, "d", 6),
        ("new", 4, "e", 10),
    ]
    assert prog.remapped() == [(6, 6)]  # the statement after the yield


def test_a_remapped_generator_forwards_throw_and_close_to_the_new_code() -> None:
    source = """
    def worker(log):
        try:
            pass
        finally:
            pass
        while True:
            try:
                item = yield
            except ValueError as exc:
                log.append(("old-caught", str(exc)))
                continue
            log.append(("old", item))
    """
    prog = Program(source)
    log: list[Any] = []
    gen = prog.function("worker")(log)
    next(gen)
    new = source.replace('"old-caught"', '"new-caught"').replace('("old", item)', '("new", item)')
    prog.edit(new, "worker")
    gen.send(1)  # resumes inside the try: no point there; moves at `log.append` after it
    gen.send(2)
    gen.throw(ValueError("boom"))
    gen.close()
    assert log == [("new", 1), ("new", 2), ("new-caught", "boom")]
    assert gen.gi_frame is None


COROUTINE = """
async def work(event, log):
    log.append("start")
    await event.wait()
    log.append("old-after-await")
    return "old"
"""


def test_a_coroutine_awaiting_remaps_after_the_await_completes() -> None:
    prog = Program(COROUTINE)
    log: list[Any] = []
    new = COROUTINE.replace('"old-after-await"', '"new-after-await"').replace(
        'return "old"', 'return "new" + str(len(log))'
    )

    async def main() -> Any:
        event = asyncio.Event()
        task = asyncio.ensure_future(prog.function("work")(event, log))
        await asyncio.sleep(0)
        assert log == ["start"]
        prog.edit(new, "work")
        event.set()
        return await task

    assert asyncio.run(main()) == "new2"
    assert log == ["start", "new-after-await"]


ASYNC_GEN = """
async def ticks(log):
    for i in range(4):
        log.append(("old", i))
        yield i
"""


def test_an_async_generator_remaps_and_its_consumer_sees_one_stream() -> None:
    prog = Program(ASYNC_GEN)
    log: list[Any] = []
    new = ASYNC_GEN.replace('("old", i)', '("new", i)').replace("yield i", "yield i * 10")

    async def main() -> list[int]:
        seen = []
        async for value in prog.function("ticks")(log):
            seen.append(value)
            if value == 1:
                prog.edit(new, "ticks")
        return seen

    assert asyncio.run(main()) == [0, 1, 20, 30]
    assert log == [("old", 0), ("old", 1), ("new", 2), ("new", 3)]


def test_a_remapped_async_generator_forwards_asend_athrow_and_aclose() -> None:
    source = """
    async def echo(log):
        while True:
            try:
                value = yield
            except KeyError:
                log.append("old-key")
                continue
            log.append(("old", value))
    """
    prog = Program(source)
    log: list[Any] = []
    new = source.replace('"old-key"', '"new-key"').replace('("old", value)', '("new", value)')

    async def main() -> None:
        agen = prog.function("echo")(log)
        await agen.asend(None)
        prog.edit(new, "echo")
        await agen.asend(1)
        await agen.athrow(KeyError("k"))
        await agen.asend(2)
        await agen.aclose()

    asyncio.run(main())
    assert log == [("new", 1), "new-key", ("new", 2)]


def test_a_frame_in_another_thread_remaps_while_this_thread_applies() -> None:
    source = """
    def worker(ready, go, log):
        count = 0
        while True:
            count += 1
            log.append(("old", count))
            if count == 3:
                ready.set()
                go.wait()
            if count == 6:
                return count
    """
    prog = Program(source)
    log: list[Any] = []
    ready, go = threading.Event(), threading.Event()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(
        prog.function("worker")(ready, go, log)))
    thread.start()
    try:
        assert ready.wait(TIMEOUT)
        schedule = prog.edit(source.replace('("old", count)', '("new", count)'), "worker")
        assert [f.thread_id for f in schedule.frames] == [thread.ident]
    finally:
        go.set()
        thread.join(TIMEOUT)
    assert schedule.wait(TIMEOUT)
    assert results == [6]
    assert log == [("old", 1), ("old", 2), ("old", 3), ("new", 4), ("new", 5), ("new", 6)]


def test_a_non_leaf_frame_waiting_on_a_slow_callee_remaps_when_the_callee_returns() -> None:
    source = """
    def handler(slow, log):
        log.append("before")
        reply = slow()
        log.append(("old", reply))
        return reply
    """
    prog = Program(source)
    log: list[Any] = []
    entered, release = threading.Event(), threading.Event()

    def slow() -> str:
        entered.set()
        release.wait(TIMEOUT)
        return "reply"

    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(prog.function("handler")(slow, log)))
    thread.start()
    try:
        assert entered.wait(TIMEOUT)
        schedule = prog.edit(source.replace('("old", reply)', '("new", reply)'), "handler")
        assert len(schedule.frames) == 1
    finally:
        release.set()
        thread.join(TIMEOUT)
    assert schedule.wait(TIMEOUT)
    assert log == ["before", ("new", "reply")]


def test_every_level_of_a_recursion_remaps() -> None:
    source = """
    def fact(n, hook, log):
        if n == 0:
            hook()
            return n + 1
        r = fact(n - 1, hook, log)
        log.append(("old", n))
        return n * r
    """
    prog = Program(source)
    log: list[Any] = []
    new = source.replace('("old", n)', '("new", n)')
    assert prog.function("fact")(4, _once(lambda: prog.edit(new, "fact")), log) == 24
    assert log == [("new", 1), ("new", 2), ("new", 3), ("new", 4)]
    assert len(prog.remapped()) == 5


def test_closures_created_before_the_remap_share_cells_with_the_remapped_frame() -> None:
    source = """
    def run(hook, log):
        count = 0
        def bump():
            nonlocal count
            count += 1
        for i in range(4):
            bump()
            if i == 1:
                hook()
            log.append(("old", count))
        count += 100
        return bump
    """
    prog = Program(source)
    log: list[Any] = []
    bump = prog.function("run")(
        _once(lambda: prog.edit(source.replace('("old", count)', '("new", count)'), "run")), log
    )
    assert log == [("old", 1), ("new", 2), ("new", 3), ("new", 4)]
    assert bump.__closure__ is not None
    assert bump.__closure__[0].cell_contents == 104  # the continuation wrote the same cell


def test_a_method_using_zero_argument_super_remaps() -> None:
    source = """
    class Base:
        def step(self):
            return "base"

    class Child(Base):
        def run(self, hook, log):
            for i in range(3):
                if i == 1:
                    hook()
                log.append(super().step() + "-old")
            return self
    """
    prog = Program(source)
    log: list[Any] = []
    child = prog.ns["Child"]()
    new = source.replace('"-old"', '"-new"')
    assert child.run(_once(lambda: prog.edit(new, "Child.run")), log) is child
    assert log == ["base-old", "base-new", "base-new"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11 finds suspended generators by scan")
def test_suspended_generators_need_no_search_on_3_12() -> None:
    prog = Program(GEN)
    gen = prog.function("numbers")([])
    next(gen)
    schedule = prog.edit(GEN.replace('"old"', '"new"'), "numbers")
    assert schedule.frames == ()  # not running: it moves when it resumes
    gen.send(None)
    assert prog.remapped() == [(6, 6)]
    gen.close()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 only")
def test_suspended_generators_are_found_and_traced_on_3_11() -> None:
    prog = Program(GEN)
    gen = prog.function("numbers")([])
    next(gen)
    prog.edit(GEN.replace('"old"', '"new"'), "numbers")
    from relive.runtime.remap import tracker

    assert gen.gi_frame in tracker._TRACKER.frames
    gen.send(None)
    assert prog.remapped() == [(6, 6)]
    gen.close()


def test_private_names_in_a_method_are_mangled_the_same_after_the_remap() -> None:
    source = """
    class Account:
        def __init__(self):
            self.__balance = 10

        def spend(self, hook, log):
            __fee = 1
            for amount in (1, 2, 3):
                if amount == 2:
                    hook()
                self.__balance -= amount + __fee
                log.append(("old", self.__balance))
            return self.__balance
    """
    prog = Program(source)
    log: list[Any] = []
    account = prog.ns["Account"]()
    new = source.replace('("old", self.__balance)', '("new", self.__balance)')
    assert account.spend(_once(lambda: prog.edit(new, "Account.spend")), log) == 1
    assert log == [("old", 8), ("new", 5), ("new", 1)]
    assert account._Account__balance == 1


def test_an_async_for_loop_carries_on_with_its_live_async_iterator() -> None:
    source = """
    async def consume(source, hook, log):
        async for item in source:
            if item == 1:
                hook()
            log.append(("old", item))
        return len(log)
    """
    prog = Program(source)
    log: list[Any] = []
    produced: list[int] = []

    async def numbers() -> Any:
        for i in range(4):
            produced.append(i)
            yield i

    new = source.replace('("old", item)', '("new", item)')
    result = asyncio.run(
        prog.function("consume")(numbers(), _once(lambda: prog.edit(new, "consume")), log))
    assert log == [("old", 0), ("new", 1), ("new", 2), ("new", 3)]
    assert produced == [0, 1, 2, 3] and result == 4


def test_a_nested_function_frame_remaps_and_keeps_its_free_variables() -> None:
    source = """
    def outer(hook, log):
        scale = 10
        def inner(n):
            total = 0
            for i in range(n):
                if i == 1:
                    hook()
                total += i * scale
                log.append(("old", total))
            return total
        return inner
    """
    prog = Program(source)
    log: list[Any] = []
    holder: list[Any] = []
    inner = prog.function("outer")(lambda: holder[0](), log)
    new = source.replace('("old", total)', '("new", total)')
    holder.append(_once(lambda: prog.edit_nested(new, "outer.<locals>.inner", inner)))
    assert inner(3) == 30
    assert log == [("old", 0), ("new", 10), ("new", 30)]


def test_a_frame_spinning_in_another_thread_remaps_without_any_cooperation() -> None:
    source = """
    def spin(box):
        count = 0
        while not box["stop"]:
            count += 1
        return ("old", count)
    """
    prog = Program(source)
    box: dict[str, Any] = {"stop": False}
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(prog.function("spin")(box)))
    thread.start()
    new = """
    def spin(box):
        count = 0
        while not box["stop"]:
            count += 1
            box["seen"].set()
        return ("new", count)
    """
    try:
        box["seen"] = threading.Event()
        line_map = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7}
        schedule = prog.edit(new, "spin", line_map=line_map)
        assert len(schedule.frames) == 1
        assert box["seen"].wait(TIMEOUT)
        assert schedule.wait(TIMEOUT)
    finally:
        box["stop"] = True
        thread.join(TIMEOUT)
    assert results and results[0][0] == "new"
