"""Remapping frames that are inside `for` and `while` loops."""

from __future__ import annotations

from typing import Any

from .conftest import Program


def _once(action: Any) -> Any:
    """A hook that performs ``action`` the first time it is called only."""
    done: list[bool] = []

    def hook() -> None:
        if not done:
            done.append(True)
            action()

    return hook


WHILE_OLD = """
def run(n, hook, log):
    i = 0
    while i < n:
        i += 1
        if i == 3:
            hook()
        log.append(("old", i))
    return ("old", i)
"""


def test_while_body_edited_at_the_next_statement_runs_new_code_in_the_same_iteration() -> None:
    prog = Program(WHILE_OLD)
    new = WHILE_OLD.replace('log.append(("old", i))', 'log.append(("new", i))')
    log: list[Any] = []
    result = prog.function("run")(5, _once(lambda: prog.edit(new, "run")), log)
    assert log == [("old", 1), ("old", 2), ("new", 3), ("new", 4), ("new", 5)]
    assert result == ("old", 5)  # the return statement was not edited
    assert prog.remapped() == [(8, 8)]


def test_while_body_edited_before_the_current_statement_takes_effect_next_iteration() -> None:
    prog = Program(WHILE_OLD)
    new = WHILE_OLD.replace("i += 1", "i += 2")
    log: list[Any] = []
    result = prog.function("run")(7, _once(lambda: prog.edit(new, "run")), log)
    # i was 3 when the edit landed; from the next iteration on it grows by 2
    assert [i for _tag, i in log] == [1, 2, 3, 5, 7]
    assert result == ("old", 7)


def test_while_loop_edited_after_the_loop_runs_the_new_code_when_the_loop_ends() -> None:
    prog = Program(WHILE_OLD)
    new = WHILE_OLD.replace('return ("old", i)', 'return ("new", i * 100)')
    log: list[Any] = []
    assert prog.function("run")(4, _once(lambda: prog.edit(new, "run")), log) == ("new", 400)
    assert log == [("old", 1), ("old", 2), ("old", 3), ("old", 4)]


def test_while_loop_condition_edited_is_evaluated_from_the_new_source() -> None:
    prog = Program(WHILE_OLD)
    new = WHILE_OLD.replace("while i < n:", "while i < n + 2:")
    log: list[Any] = []
    assert prog.function("run")(4, _once(lambda: prog.edit(new, "run")), log) == ("old", 6)


def test_while_else_and_break_keep_their_meaning_in_the_partial_iteration() -> None:
    source = """
    def run(hook, log):
        i = 0
        while i < 10:
            i += 1
            if i == 2:
                hook()
            if i == 4:
                break
            log.append(i)
        else:
            log.append("else")
        log.append("end")
    """
    prog = Program(source)
    new = source.replace("log.append(i)", "log.append(-i)")
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [1, -2, -3, "end"]


FOR_OLD = """
def run(items, hook, log):
    for x in items:
        if x == "c":
            hook()
        log.append(x)
    else:
        log.append("else")
    return len(log)
"""


def test_for_loop_carries_on_with_its_live_iterator() -> None:
    prog = Program(FOR_OLD)
    new = FOR_OLD.replace("log.append(x)", "log.append(x.upper())").replace(
        'log.append("else")', 'log.append("ELSE")'
    )
    log: list[Any] = []
    consumed: list[str] = []

    def items() -> Any:  # a one-shot iterator: restarting it would be visible
        for letter in "abcde":
            consumed.append(letter)
            yield letter

    result = prog.function("run")(items(), _once(lambda: prog.edit(new, "run")), log)
    assert log == ["a", "b", "C", "D", "E", "ELSE"]
    assert consumed == list("abcde")
    assert result == 6


def test_for_loop_remapped_at_its_head_fetches_the_next_item_from_the_same_iterator() -> None:
    source = """
    def run(hook, log):
        for i in range(6):
            log.append(i)
            if i == 2:
                hook()
        return log
    """
    prog = Program(source)
    new = source.replace("log.append(i)", "log.append(i * 10)")
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    # after hook() the next boundary is the loop head: no item is skipped or repeated
    assert log == [0, 1, 2, 30, 40, 50]
    assert prog.remapped() == [(3, 3)]


def test_nested_for_loops_with_else_resume_in_both_loops() -> None:
    source = """
    def run(hook, log):
        for i in range(3):
            for j in range(3):
                if (i, j) == (1, 1):
                    hook()
                log.append((i, j))
            else:
                log.append(("inner-else", i))
        else:
            log.append("outer-else")
    """
    prog = Program(source)
    new = (
        source.replace("log.append((i, j))", "log.append((i, j, 'new'))")
        .replace('log.append(("inner-else", i))', 'log.append(("INNER", i))')
        .replace('log.append("outer-else")', 'log.append("OUTER")')
    )
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [
        (0, 0), (0, 1), (0, 2), ("inner-else", 0),
        (1, 0), (1, 1, "new"), (1, 2, "new"), ("INNER", 1),
        (2, 0, "new"), (2, 1, "new"), (2, 2, "new"), ("INNER", 2),
        "OUTER",
    ]


def test_continue_and_break_in_the_partial_iteration_act_on_the_resumed_loop() -> None:
    source = """
    def run(hook, log):
        for i in range(10):
            if i == 2:
                hook()
            if i == 2:
                continue
            if i == 5:
                break
            log.append(i)
        else:
            log.append("else")
        log.append("end")
    """
    prog = Program(source)
    new = source.replace("log.append(i)", "log.append(i * 10)")
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [0, 1, 30, 40, "end"]


def test_a_loop_the_edit_puts_around_the_current_statement_makes_the_frame_wait() -> None:
    source = """
    def run(hook, log):
        hook()
        log.append("a")
        log.append("b")
    """
    new = """
    def run(hook, log):
        hook()
        for _ in range(2):
            log.append("a")
        log.append("B")
    """
    prog = Program(source)
    log: list[Any] = []
    prog.function("run")(
        _once(lambda: prog.edit(new, "run", line_map={2: 2, 3: 3, 4: 5, 5: 6})), log
    )
    assert log == ["a", "B"]
    assert any("no running counterpart" in r for r in prog.deferred())


def test_multi_line_statements_are_not_remapped_in_the_middle() -> None:
    source = """
    def run(hook, log):
        x = (hook() or
             log.append("mid") or
             1)
        log.append(("old", x))
    """
    prog = Program(source)
    new = source.replace('log.append(("old", x))', 'log.append(("new", x))').replace(
        'log.append("mid")', 'log.append("MID")'
    )
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == ["mid", ("new", 1)]


def test_a_frame_in_the_second_of_two_loops_sharing_a_slot_keeps_its_iterator() -> None:
    source = """
    def run(hook, log):
        for i in range(2):
            log.append(("first", i))
        for j in "abcd":
            if j == "b":
                hook()
            log.append(("old", j))
    """
    prog = Program(source)
    new = source.replace('("old", j)', '("new", j)')
    log: list[Any] = []
    prog.function("run")(_once(lambda: prog.edit(new, "run")), log)
    assert log == [("first", 0), ("first", 1), ("old", "a"), ("new", "b"), ("new", "c"),
                   ("new", "d")]
