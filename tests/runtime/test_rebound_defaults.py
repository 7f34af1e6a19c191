"""Defaults that read a name the edit rebinds take the new value, as a fresh import gives."""

from __future__ import annotations

from collections.abc import Callable

from tests.runtime.conftest import LiveModule

Live = Callable[[str], LiveModule]


def test_default_reading_a_changed_module_name_takes_the_new_value(live: Live) -> None:
    m = live("""\
        __version__ = '1.0'


        def get_parser(version=__version__, *, prog=__version__ + '!'):
            return version, prog
        """)
    fn = m.module.get_parser
    result = m.replace("'1.0'", "'1.1'")
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.get_parser is fn  # updated in place
    assert fn() == ("1.1", "1.1!")


def test_method_default_reading_a_changed_class_attribute_takes_the_new_value(
        live: Live) -> None:
    m = live("""\
        class Retry:
            HEADERS = frozenset({'a'})

            def __init__(self, headers=HEADERS):
                self.headers = headers
        """)
    cls = m.module.Retry
    result = m.replace("frozenset({'a'})", "frozenset({'a', 'b'})")
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.Retry is cls
    assert cls().headers == frozenset({"a", "b"})


def test_moved_function_with_a_rebound_default_is_moved_and_takes_the_new_value(
        live: Live) -> None:
    m = live("""\
        LIMIT = 10


        def fetch(*, limit=LIMIT):
            return limit
        """)
    result = m.replace("LIMIT = 10\n", "LIMIT = 20\n# raised\n")
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.fetch() == 20
    assert m.module.fetch.__code__.co_firstlineno == 5


def test_default_read_before_a_later_rebinding_keeps_its_value(live: Live) -> None:
    m = live("""\
        MODE = 'a'


        def run(mode=MODE):
            return mode


        MODE = 'b'
        """)
    result = m.replace("MODE = 'b'", "MODE = 'c'")
    assert result.applied, (result.errors, result.rude_edits)
    assert m.module.run() == "a"
    assert m.module.MODE == "c"
