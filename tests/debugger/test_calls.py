"""The calls of a statement, in the order they run: what step into can choose from."""

from __future__ import annotations

import textwrap

from relive.debugger.calls import call_targets, runs_target


def _labels(source: str, line: int) -> list[str]:
    return [t.label for t in call_targets(textwrap.dedent(source), line)]


def test_arguments_are_called_before_the_call_they_are_given_to() -> None:
    assert _labels("total = price(items) + tax(region(user))\n", 1) == [
        "price", "region", "tax"]


def test_methods_are_named_by_their_attribute_and_labelled_as_written() -> None:
    targets = call_targets("self.cart.total(rate=self.rate())\n", 1)
    assert [(t.label, t.name) for t in targets] == [("self.rate", "rate"),
                                                     ("self.cart.total", "total")]
    assert (targets[1].line, targets[1].column, targets[1].end_column) == (1, 1, 34)


def test_a_compound_statement_offers_its_header_only() -> None:
    source = """\
        if ready(x):
            go(x)
        for item in load():
            use(item)
        with open_db() as db, lock():
            db.save()
    """
    assert _labels(source, 1) == ["ready"]
    assert _labels(source, 2) == ["go"]
    assert _labels(source, 3) == ["load"]
    assert _labels(source, 5) == ["open_db", "lock"]


def test_a_statement_over_several_lines_is_one_statement() -> None:
    source = """\
        result = combine(
            first(),
            second(),
        )
    """
    assert _labels(source, 2) == ["first", "second", "combine"]


def test_lambdas_and_definitions_do_not_run_their_bodies_now() -> None:
    source = """\
        handler = register(lambda event: handle(event))
        @route("/")
        def index(page=default_page()):
            return render(page)
    """
    assert _labels(source, 1) == ["register"]
    assert _labels(source, 2) == ["route", "default_page"]


def test_nothing_to_offer() -> None:
    assert _labels("x = 1\n", 1) == []
    assert _labels("x = (\n", 1) == []  # does not compile
    assert _labels("handlers[kind](event)\nmake()()\n", 1) == []
    assert _labels("make()()\n", 1) == ["make"]
    assert _labels("x = 1\n\ny = f()\n", 2) == []  # a blank line


def test_a_class_called_is_entered_in_its_init() -> None:
    assert runs_target("total", "Cart.total", "total")
    assert runs_target("__init__", "Cart.__init__", "Cart")
    assert runs_target("__init__", "shop.<locals>.Cart.__init__", "Cart")
    assert not runs_target("__init__", "Basket.__init__", "Cart")
    assert not runs_target("totals", "Cart.totals", "total")
