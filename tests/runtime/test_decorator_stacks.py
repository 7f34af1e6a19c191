"""Decorator stacks that register what they make (click commands and groups, and a small
hand-written registry that behaves like them): edits that a fresh import runs are applied,
and the live program then holds what the fresh import would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def test_a_registry_decorator_returning_an_object_already_bound_still_binds(
        live: Live) -> None:
    # like typing.overload (one dummy for every overload) or a registry that hands back the
    # entry it already holds for a name
    m = live("""
        _ENTRIES = {}


        def entry(fn):
            return _ENTRIES.setdefault(fn.__name__, object())


        def command(x):
            return x
    """)
    command = m.module.command
    result = m.edit("""
        _ENTRIES = {}


        def entry(fn):
            return _ENTRIES.setdefault(fn.__name__, object())


        @entry
        def command(x: int) -> int: ...
        @entry
        def command(x: str) -> str: ...
        def command(x):
            return x
    """)
    assert result.applied, result.errors
    assert m.module.command is command


def test_a_rebuilt_registry_gets_again_what_later_decorators_registered(live: Live) -> None:
    m = live("""
        class Group:
            def __init__(self, fn, name="group"):
                self.fn, self.name, self.commands = fn, name, {}

            def command(self, fn):
                self.commands[fn.__name__] = fn
                return fn


        def group(name):
            return lambda fn: Group(fn, name)


        @group("old")
        def cli():
            pass


        @cli.command
        def a():
            return "a"
    """)
    result = m.replace('@group("old")', '@group("new")')
    assert result.applied, result.errors
    assert m.module.cli.name == "new"
    assert m.module.cli.commands == {"a": m.module.a}, "a fresh import registers a again"
    assert any("a was rebuilt" in w for w in result.warnings)


click = pytest.importorskip("click")


def _run(command: object, *args: str) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(command, list(args))  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def test_changed_click_options_and_a_new_command_of_a_group(live: Live) -> None:
    m = live("""
        import click


        @click.group()
        def cli():
            pass


        @cli.command()
        @click.option("--n", default=1)
        def command(n):
            click.echo(f"n={n}")
    """)
    result = m.edit("""
        import click


        @click.group()
        def cli():
            pass


        @cli.command()
        @click.option("--n", default=2)
        @click.option("--m", default=3)
        def command(n, m):
            click.echo(f"n={n} m={m}")


        @cli.command()
        def other():
            click.echo("other")
    """)
    assert result.applied, result.errors
    assert _run(m.module.cli, "command") == "n=2 m=3\n"
    assert _run(m.module.cli, "other") == "other\n"
    assert m.module.cli.commands["command"] is m.module.command


def test_a_click_command_with_a_new_option_reads_a_name_the_edit_imports(
        live: Live) -> None:
    m = live("""
        import click


        @click.command()
        @click.option("--n", default=1)
        def main(n):
            click.echo(n)
    """)
    result = m.edit("""
        import click
        from os import sep


        @click.command()
        @click.option("--n", default=1)
        @click.option("--sep", default=sep)
        def main(n, sep):
            click.echo(f"{n}{sep}")
    """)
    assert result.applied, result.errors
    import os

    assert _run(m.module.main) == f"1{os.sep}\n"


def test_new_options_of_a_click_group_keep_its_commands(live: Live) -> None:
    m = live("""
        import click


        @click.group()
        def cli():
            pass


        @cli.command()
        def a():
            click.echo("a")
    """)
    result = m.edit("""
        import click


        @click.group()
        @click.option("--verbose", is_flag=True)
        def cli(verbose):
            pass


        @cli.command()
        def a():
            click.echo("a")
    """)
    assert result.applied, result.errors
    assert _run(m.module.cli, "--verbose", "a") == "a\n"
