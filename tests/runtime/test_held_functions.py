"""Functions held by framework objects take the edit: they are found by their code.

A program's functions are often held where no name leads to them: a click command's
``callback``, a router's routes, a task registry, ``atexit`` and ``signal`` state, a thread's
target, a weak reference. Each test edits the body of such a function and checks that the
object the program holds runs the new code and is still the same object.
"""

from __future__ import annotations

import gc
import inspect
import signal
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def test_click_command_runs_the_edited_body_and_keeps_its_callback(live: Live) -> None:
    m = live("""
        import click

        @click.command()
        @click.option("--n", default=1)
        def main(n):
            click.echo(f"old {n}")
    """)
    command = m.module.main
    callback = command.callback
    assert CliRunner().invoke(command, ["--n", "2"]).output == "old 2\n"
    result = m.replace('f"old {n}"', 'f"new {n * 10}"')
    assert result.applied and result.updated == ("main",), result
    assert not result.warnings
    assert m.module.main is command and command.callback is callback
    assert CliRunner().invoke(command, ["--n", "2"]).output == "new 20\n"


def test_click_group_subcommands_take_the_edit(live: Live) -> None:
    m = live("""
        import click

        @click.group()
        def cli():
            pass

        @cli.command()
        def hello():
            click.echo("hello")

        @cli.command()
        def bye():
            click.echo("bye")
    """)
    result = m.replace('click.echo("bye")', 'click.echo("goodbye")')
    assert result.applied and result.updated == ("bye",), result
    assert CliRunner().invoke(m.module.cli, ["bye"]).output == "goodbye\n"
    assert CliRunner().invoke(m.module.cli, ["hello"]).output == "hello\n"


def test_route_endpoints_in_a_router_list_take_the_edit(live: Live) -> None:
    m = live("""
        class Route:
            def __init__(self, path, endpoint):
                self.path = path
                self.endpoint = endpoint

        class Router:
            def __init__(self):
                self.routes = []

            def get(self, path):
                def register(fn):
                    self.routes.append(Route(path, fn))
                    return None  # the name is bound to nothing that leads to the function
                return register

        app = Router()

        @app.get("/items")
        def items():
            return ["a"]
    """)
    endpoint = m.module.app.routes[0].endpoint
    assert m.module.items is None
    result = m.replace('return ["a"]', 'return ["a", "b"]')
    assert result.applied and result.updated == ("items",), result
    assert not result.warnings
    assert m.module.app.routes[0].endpoint is endpoint
    assert endpoint() == ["a", "b"]


def test_functions_in_instance_dicts_slots_and_wrapped_chains_take_the_edit(
        live: Live) -> None:
    m = live("""
        import functools

        class Task:
            def __init__(self, fn):
                self.run = fn

        class Slotted:
            __slots__ = ("fn",)

            def __init__(self, fn):
                self.fn = fn

        class Wrapper:
            def __init__(self, fn):
                self.__wrapped__ = fn

            def __call__(self, *args):
                return self.__wrapped__(*args)

        tasks = {}

        def task(fn):
            tasks[fn.__name__] = Task(fn)
            return Slotted(fn)

        @task
        def add(a, b):
            return a + b

        @Wrapper
        def mul(a, b):
            return a * b

        def _scale(k, x):
            return k * x

        jobs = Task(functools.partial(_scale, 10))
        del _scale
    """)
    run, slotted = m.module.tasks["add"].run, m.module.add
    wrapped = m.module.mul.__wrapped__
    partial = m.module.jobs.run
    m.edit(m.source.replace("a + b", "a + b + 100").replace("a * b", "a * b * 2")
           .replace("k * x", "k * x + 1"))
    assert m.module.tasks["add"].run is run and slotted.fn is run
    assert run(1, 2) == 103
    assert m.module.mul.__wrapped__ is wrapped and m.module.mul(3, 4) == 24
    assert m.module.jobs.run is partial and partial(2) == 21


def test_a_cache_held_by_a_registry_is_cleared_when_its_function_takes_the_edit(
        live: Live) -> None:
    m = live("""
        import functools

        class Registry:
            def __init__(self):
                self.handlers = {}

        registry = Registry()

        def cached(fn):
            registry.handlers[fn.__name__] = functools.lru_cache(fn)

        @cached
        def price(n):
            return n * 2
    """)
    handler = m.module.registry.handlers["price"]
    assert handler(3) == 6
    result = m.replace("n * 2", "n * 3")
    assert result.applied and result.updated == ("price",), result
    assert m.module.registry.handlers["price"] is handler
    assert handler(3) == 9, "the cached result of the old code is gone"


def test_a_pytest_fixture_function_takes_the_edit(live: Live) -> None:
    m = live("""
        import pytest

        @pytest.fixture
        def account():
            return {"balance": 0}
    """)
    definition = m.module.account  # a fixture definition object holds the function
    function = _fixture_function(definition)
    result = m.replace('{"balance": 0}', '{"balance": 100}')
    assert result.applied and result.updated == ("account",), result
    assert m.module.account is definition
    assert _fixture_function(definition) is function
    assert function() == {"balance": 100}


def _fixture_function(definition: object) -> Callable[[], object]:
    # pytest 8.4 and later keep it in a definition object, earlier ones behind a wrapper
    get = getattr(definition, "_get_wrapped_function", None)
    return get() if get is not None else inspect.unwrap(definition)  # type: ignore[arg-type]


def test_atexit_handler_and_weak_reference_take_the_edit(live: Live) -> None:
    import atexit

    m = live("""
        import atexit
        import weakref

        def _bye():
            return "old"

        atexit.register(_bye)
        handle = weakref.ref(_bye)  # only atexit holds it after the del
        del _bye
    """)
    bye = m.module.handle()
    try:
        assert bye is not None
        result = m.replace('return "old"', 'return "new"')
        assert result.applied and result.updated == ("_bye",), result
        assert m.module.handle() is bye
        assert bye() == "new"
    finally:
        atexit.unregister(bye)


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_signal_handler_takes_the_edit(live: Live) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        m = live("""
            import signal

            calls = []

            def _on_usr1(signum, frame):
                calls.append("old")

            signal.signal(signal.SIGUSR1, _on_usr1)
            del _on_usr1
        """)
        handler = signal.getsignal(signal.SIGUSR1)
        result = m.replace('calls.append("old")', 'calls.append("new")')
        assert result.applied and result.updated == ("_on_usr1",), result
        assert signal.getsignal(signal.SIGUSR1) is handler
        signal.raise_signal(signal.SIGUSR1)
        assert m.module.calls == ["new"]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_thread_target_takes_the_edit_before_the_thread_starts(live: Live) -> None:
    m = live("""
        import threading

        box = []

        def _work(n):
            box.append(n)

        worker = threading.Thread(target=_work, args=(5,))
        del _work
    """)
    result = m.replace("box.append(n)", "box.append(n * 100)")
    assert result.applied and result.updated == ("_work",), result
    m.module.worker.start()
    m.module.worker.join()
    assert m.module.box == [500]


def test_bound_and_weak_methods_held_by_objects_take_the_edit(live: Live) -> None:
    m = live("""
        import weakref

        class Service:
            def handle(self):
                return "old"

        class Bus:
            def __init__(self):
                self.handlers = []

        service = Service()
        bus = Bus()
        bus.handlers.append(service.handle)
        weak = weakref.WeakMethod(service.handle)
    """)
    bound = m.module.bus.handlers[0]
    result = m.replace('return "old"', 'return "new"')
    assert result.applied and result.updated == ("Service.handle",), result
    assert m.module.bus.handlers[0] is bound and bound() == "new"
    assert m.module.weak()() == "new"


def test_a_module_imported_after_the_first_apply_is_searched_too(
        live: Live, tmp_path: Path) -> None:
    first = live("""
        def f():
            return 1
    """)
    assert first.replace("return 1", "return 2").applied  # the first pass over the heap
    m = live("""
        class Registry:
            def __init__(self):
                self.jobs = []

            def register(self, fn):
                self.jobs.append(fn)

        registry = Registry()

        @registry.register
        def job():
            return "old"
    """)
    job = m.module.registry.jobs[0]
    gc.collect()  # the import's functions are old by the time of the edit
    result = m.replace('return "old"', 'return "new"')
    assert result.applied and result.updated == ("job",), result
    assert m.module.registry.jobs[0] is job and job() == "new"


def test_same_names_in_other_modules_and_other_code_are_not_touched(
        live: Live, tmp_path: Path) -> None:
    source = """
        import click

        @click.command()
        def main():
            click.echo("A")

        def helper():
            return "A"
    """
    edited = live(source)
    twin = live(source)  # the same definitions, from another file
    scope: dict[str, object] = {}
    exec(compile(textwrap.dedent(source), "<elsewhere>", "exec"), scope)
    result = edited.edit(textwrap.dedent(source).replace('"A"', '"B"'))
    assert result.applied and set(result.updated) == {"main", "helper"}, result
    runner = CliRunner()
    assert runner.invoke(edited.module.main).output == "B\n"
    assert edited.module.helper() == "B"
    assert runner.invoke(twin.module.main).output == "A\n"
    assert twin.module.helper() == "A"
    other = scope["main"]
    assert isinstance(other, click.Command)
    assert runner.invoke(other).output == "A\n"
    assert scope["helper"]() == "A"  # type: ignore[operator]


def test_a_definition_no_object_holds_is_reported_as_such(live: Live) -> None:
    m = live("""
        def count_args(fn):
            return fn.__code__.co_argcount  # keeps a number, not the function

        @count_args
        def f(a, b):
            return a + b
    """)
    result = m.replace("return a + b", "return a - b")
    assert result.applied
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("f: nothing to update: no function object in the "
                                         "process runs this definition's code")



def test_a_frame_moved_by_one_edit_takes_the_next_edit_in_place(live: Live) -> None:
    # the function made to resume the moved frame runs relive's continuation code: it is
    # not a live object of `run`, and must not make the next edit rebuild `run`
    m = live("""
        import time

        def run(state, stop):
            total = 0
            def peek():
                return total
            while not stop.is_set():
                total += 1
                state.append(("old", peek()))
                time.sleep(0.005)
    """)
    run = m.module.run
    state: list[tuple[str, int]] = []
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(state, stop), daemon=True)
    thread.start()

    def seen(kind: str) -> None:
        deadline = time.monotonic() + 20
        while not any(k == kind for k, _ in state[-3:]) and time.monotonic() < deadline:
            stop.wait(0.01)
        assert any(k == kind for k, _ in state[-3:]), state[-3:]

    try:
        seen("old")
        first = m.replace('("old", peek())', '("new", peek())')
        assert first.applied, first.errors
        seen("new")
        second = m.replace('("new", peek())', '("newer", peek())')
        assert second.applied and second.updated == ("run",), second
        assert second.replaced == () and not second.warnings, second
        assert m.module.run is run
        seen("newer")
    finally:
        stop.set()
        thread.join(10)
