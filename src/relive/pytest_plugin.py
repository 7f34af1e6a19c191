"""``pytest --relive``: a test session that stays alive and re-runs what each save affects.

Registered through the ``pytest11`` entry point, so every pytest run loads this module; it
does nothing (and imports nothing of relive's runtime) unless ``--relive`` is given.

With ``--relive`` the session runs as usual once, then waits for saves under the rootdir.
Each save is applied to the live modules by relive's runtime (identities kept, rude edits
refused with a reason), and only the tests the change can affect run again, in the same
process: session- and module-scoped fixtures keep their values, except fixtures whose own
code changed, which are set up again. An edit that needs a restart (an error rude edit)
starts a fresh session in a new process. ``--relive-gate`` keeps an edit only if the tests it
affects pass; otherwise the previous code is applied back. The work is done by
:mod:`relive.testloop`.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("relive", "relive: tests that re-run as you save")
    group.addoption("--relive", action="store_true", default=False,
                    help="after the run, keep the session alive: apply each save to the live "
                         "modules and re-run the tests it affects")
    group.addoption("--relive-gate", action="store_true", default=False,
                    help="with --relive: keep an edit only if the tests it affects pass, "
                         "else apply the previous code back")


def _wanted(config: pytest.Config) -> bool:
    ns = getattr(config, "known_args_namespace", None)
    return bool(getattr(ns, "relive", False) or getattr(config.option, "relive", False))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    # The import hook goes in before any conftest or test module is imported (pytest imports
    # the initial conftests right after this hook's first implementations), so that the
    # project's modules are tracked from their import, in EnC mode.
    if _wanted(early_config):
        from relive.testloop.session import install_tracking

        install_tracking(early_config)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _wanted(config):
        return
    if config.getoption("collectonly") or hasattr(config, "workerinput"):
        return  # nothing runs (--collect-only), or an xdist worker: no loop there
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") \
            not in ("no", None):
        raise pytest.UsageError("--relive runs the tests in the session's own process, where "
                                "edits are applied; it does not combine with pytest-xdist's "
                                "-n/--dist (drop them, or pass -p no:xdist)")
    from relive.testloop.session import LiveSession, install_tracking

    install_tracking(config)  # idempotent: when the early hook did not see --relive
    config.pluginmanager.register(LiveSession(config), "relive-live-session")


def pytest_report_header(config: pytest.Config) -> Any:
    if _wanted(config):
        gate = " (gate: an edit stays only if its tests pass)" if config.getoption(
            "relive_gate") else ""
        return f"relive: the session stays alive and re-runs what each save affects{gate}"
    return None
