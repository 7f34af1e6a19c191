"""``pytest --relive`` end to end: a live session on a small project, edited file by file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pytest_plugin.project import (
    CONFTEST,
    SHOP,
    TEST_PRICE,
    LiveRun,
    make_project,
    save,
    setups,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.fixture
def live(project: Path) -> Iterator[LiveRun]:
    run = LiveRun(project)
    try:
        first = run.waiting()
        assert "relive: ran the whole session: 50 passed" in "\n".join(first)
        yield run
    finally:
        run.close()


def test_an_edit_reruns_only_the_tests_that_called_it_and_keeps_the_session_fixture(
        project: Path, live: LiveRun) -> None:
    save(project / "shop.py", SHOP.replace("return n * 10", "return n * 5 + n * 5"))
    lines = live.waiting()
    text = "\n".join(lines)
    assert "relive: shop.py: gen 1: updated price" in text
    assert "relive: ran 3 of 50 tests: 3 passed" in text
    assert "test_many.py" not in text
    assert setups(project) == 1


def test_an_edited_failing_assert_shows_pytests_rewritten_message(
        project: Path, live: LiveRun) -> None:
    save(project / "test_price.py", TEST_PRICE.replace("price(1) == 10", "price(1) == 11"))
    text = "\n".join(live.waiting())
    assert "relive: test_price.py: gen 1: updated test_one" in text
    assert "E       assert 10 == 11" in text
    assert "where 10 = price(1)" in text
    assert "relive: ran 1 of 50 tests: 1 failed" in text


def test_a_changed_fixture_is_set_up_again_for_the_tests_that_use_it(
        project: Path, live: LiveRun) -> None:
    save(project / "conftest.py", CONFTEST.format(setup_s=0.3).replace('"rows": 3',
                                                                       '"rows": 4'))
    text = "\n".join(live.waiting())
    assert "updated database" in text
    assert "where 40 = price(4)" in text
    assert "relive: ran 50 of 50 tests: 1 failed, 49 passed" in text
    assert setups(project) == 2


def test_a_new_test_is_collected_and_run(project: Path, live: LiveRun) -> None:
    save(project / "test_price.py", TEST_PRICE + "\n\ndef test_three():\n    assert 1 + 2 == 3\n")
    text = "\n".join(live.waiting())
    assert "added test_three" in text
    assert "relive: ran 1 of 51 tests: 1 passed" in text


def test_a_changed_module_constant_reruns_the_tests_whose_code_reads_it(
        project: Path) -> None:
    (project / "shop.py").write_text(SHOP + "\nRATE = 2\n\n\ndef rated(n):\n    return n * RATE\n")
    (project / "test_rate.py").write_text(
        "from shop import rated\n\n\ndef test_rated():\n    assert rated(2) == 4\n")
    run = LiveRun(project)
    try:
        run.waiting()
        save(project / "shop.py", SHOP + "\nRATE = 3\n\n\ndef rated(n):\n    return n * RATE\n")
        text = "\n".join(run.waiting())
        assert "updated RATE" in text
        assert "where 6 = rated(2)" in text
        assert "relive: ran 1 of 51 tests: 1 failed" in text
    finally:
        run.close()


def test_a_rude_edit_starts_a_fresh_session(project: Path, live: LiveRun) -> None:
    save(project / "shop.py", SHOP.replace('("items",)', '("items", "owner")'))
    text = "\n".join(live.waiting())
    assert "RL1004 error" in text
    assert "starting a fresh test session in a new process" in text
    assert "collected 50 items" in text.split("starting a fresh test session")[1]
    assert "relive: ran the whole session: 50 passed" in text
    assert setups(project) == 2


def test_the_gate_rolls_back_an_edit_that_breaks_a_test(project: Path) -> None:
    run = LiveRun(project, "--relive-gate")
    try:
        run.waiting()
        save(project / "shop.py", SHOP.replace("return n * 10", "return n * 9"))
        text = "\n".join(run.waiting())
        assert "relive: ran 3 of 50 tests: 3 failed" in text
        assert "relive: shop.py: rolled back" in text
        # the session runs the previous price again: an edit of a test that calls it passes
        save(project / "test_price.py",
             TEST_PRICE.replace("def test_two(database):\n",
                                "def test_two(database):\n    assert True\n"))
        text = "\n".join(run.waiting())
        assert "relive: ran 1 of 50 tests: 1 passed" in text
    finally:
        run.close()


def test_without_the_option_the_plugin_stays_out_of_the_way(project: Path) -> None:
    (project / "test_quiet.py").write_text(
        "import sys\n\n\ndef test_no_runtime():\n"
        "    assert 'relive.runtime' not in sys.modules\n"
        "    assert 'relive.testloop' not in sys.modules\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_quiet.py"], cwd=project, capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_keys_on_a_terminal_run_all_and_quit_and_the_terminal_mode_is_restored(
        project: Path) -> None:
    pty = pytest.importorskip("pty")
    import select
    import termios
    import time

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--relive", "-p",
                             "no:cacheprovider"], cwd=project, stdin=slave, stdout=slave,
                            stderr=slave, env=env)
    seen = b""

    def until(text: str) -> str:
        nonlocal seen
        deadline = time.monotonic() + 60
        while text.encode() not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 65536)
        at = seen.index(text.encode()) + len(text)
        out, seen = seen[:at], seen[at:]
        return out.decode(errors="replace")

    try:
        until("waiting for changes")
        os.write(master, b"a")
        assert "relive: ran all tests: 50 passed" in until("waiting for changes")
        os.write(master, b"q")
        assert proc.wait(30) == 0
        assert termios.tcgetattr(slave) == before
        assert setups(project) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


def test_a_new_test_file_starts_a_fresh_session_that_collects_it(
        project: Path, live: LiveRun) -> None:
    save(project / "test_added.py", "def test_added():\n    assert True\n")
    text = "\n".join(live.waiting())
    assert "relive: test_added.py: a new test file" in text
    assert "collecting it needs a restart: starting a fresh test session" in text
    assert "relive: ran the whole session: 51 passed" in text


def test_a_collection_error_waits_for_the_fix_then_starts_afresh(project: Path) -> None:
    (project / "test_price.py").write_text(TEST_PRICE.replace("def test_two(", "def test_two(("))
    run = LiveRun(project)
    try:
        text = "\n".join(run.wait_for(r"^relive: 1 error during collection"))
        assert "ERROR collecting test_price.py" in text
        assert "SyntaxError" in text
        save(project / "test_price.py", TEST_PRICE)
        text = "\n".join(run.waiting())
        assert "the fix needs a restart: starting a fresh test session" in text
        assert "relive: ran the whole session: 50 passed" in text
    finally:
        run.close()
