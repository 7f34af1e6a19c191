"""The live test session behind ``pytest --relive``: run, wait for saves, apply, re-run.

Which tests a save affects (:mod:`relive.testloop.affected`): those whose own code changed,
those that ran a changed definition in their last run (:mod:`relive.testloop.record`), those
that use a fixture whose code changed, and new tests of an edited test module. They run
again in this process through pytest's own run protocol; the session's ``SetupState`` is
never torn down between runs (the last item of a run is torn down up to its parent only), so
session- and module-scoped fixtures keep their values. A changed fixture is finalized, so
that its next use sets it up again with the new code.

Test modules and conftests are imported by pytest's assertion rewriter, not by relive's
import hook (which tracks only modules the standard source loader would load): they are
tracked here, right after their import, from the bytes of their file, and given pytest's
assertion rewriting as the source transform of their new code
(:attr:`relive.runtime.registry.TrackedModule.transform`), so that an edited test reports a
failing ``assert`` as pytest does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator, Sequence
from types import ModuleType
from typing import Any, cast

import pytest

from relive.runtime.files import normalize
from relive.runtime.registry import REGISTRY, TrackedModule
from relive.testloop.affected import Affected, Change
from relive.testloop.record import Ran, Recorder
from relive.testloop.waiting import Waiter, ignored

_installed = False


def install_tracking(config: pytest.Config) -> None:
    """Track the project's modules from their import on, in EnC mode (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    from relive.runtime.importhook import install

    for tracked in install(None, True):
        tracked.take_file_now()


def _rewritten(module: ModuleType) -> bool:
    try:
        from _pytest.assertion.rewrite import AssertionRewritingHook
    except ImportError:  # pragma: no cover - pytest without its rewriter
        return False
    spec = getattr(module, "__spec__", None)
    return isinstance(getattr(spec, "loader", None), AssertionRewritingHook)


def _rewriter(filename: str, config: pytest.Config) -> Any:
    """pytest's assertion rewriting, as a source transform of new code (see the module's
    docstring)."""
    from _pytest.assertion.rewrite import rewrite_asserts

    def transform(tree: Any, source: str) -> Any:
        rewrite_asserts(tree, source.encode("utf-8", "surrogatepass"), filename, config)
        return tree

    return transform


def _warm_up() -> None:
    """Import what the first apply needs while nothing else happens, so that the first
    save is as quick as the next ones."""
    import relive.agent.records
    import relive.cli.report
    import relive.runtime.api
    import relive.runtime.apply.plan
    import relive.runtime.enc
    import relive.runtime.remap.tracker  # noqa: F401


def session_errors(session: pytest.Session | None) -> str:
    n = session.testsfailed if session is not None else 0
    return "1 error" if n == 1 else f"{n} errors"


def _newline(tr: Any) -> None:
    """End the terminal reporter's line of progress, if it has one."""
    tr.ensure_newline()
    if getattr(tr._tw, "width_of_current_line", 0):  # -q: dots with no file name before
        tr._tw.line()


class LiveSession:
    """The plugin object registered for a ``--relive`` session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.root = str(config.rootpath)
        self.gate = bool(config.getoption("relive_gate"))
        self.recorder = Recorder(self.root)
        self.ran: dict[str, Ran] = {}
        self.outcomes: dict[str, str] = {}  # last outcome by node id
        self.run_outcomes: dict[str, str] = {}
        self.failures: list[pytest.TestReport] = []
        self.session: pytest.Session | None = None
        self.waiter = Waiter(self.root)

    # -- tracking test modules and conftests ----------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[
            None, pytest.CollectReport, pytest.CollectReport]:
        if not isinstance(collector, pytest.Module):
            return (yield)
        try:
            before: bytes | None = collector.path.read_bytes()
        except OSError:
            before = None
        report = yield
        module = collector.__dict__.get("_obj")
        if isinstance(module, ModuleType):
            self._track(module, str(collector.path), before)
        return report

    def _track(self, module: ModuleType, filename: str, source: bytes | None) -> None:
        if REGISTRY.get(module) is not None:
            return  # imported through relive's hook (assertion rewriting is off)
        if source is None:
            try:
                with open(filename, "rb") as f:
                    source = f.read()
            except OSError:
                return
        tracked = REGISTRY.register(module, filename, source)
        if _rewritten(module):
            tracked.transform = _rewriter(filename, self.config)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.session = session
        for plugin in self.config.pluginmanager.get_plugins():
            filename = getattr(plugin, "__file__", None)
            if (isinstance(plugin, ModuleType) and isinstance(filename, str)
                    and os.path.basename(filename) == "conftest.py"):
                self._track(plugin, filename, None)

    # -- recording and reporting each test ------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        self.recorder.start()
        try:
            return (yield)
        finally:
            self.ran[item.nodeid] = self.recorder.stop()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            outcome = "failed"
            self.failures.append(report)
        elif report.when == "call" or (report.when == "setup" and report.skipped):
            outcome = report.outcome
        else:
            return
        if self.run_outcomes.get(report.nodeid) != "failed":
            self.run_outcomes[report.nodeid] = outcome
            self.outcomes[report.nodeid] = outcome

    # -- the loop ---------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        self.session = session
        self.waiter.start()  # saves made during the first run count too
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            self._collection_errors()
            return True
        self._run(list(session.items), "the whole session")
        _warm_up()
        try:
            self._loop(session)
        finally:
            self.waiter.stop()
            self.recorder.close()
        return True

    def _loop(self, session: pytest.Session) -> None:
        prompt = True
        while True:
            self._release_stdin()
            try:
                kind, value = self.waiter.next(self._prompt if prompt else None)
            except KeyboardInterrupt:  # Ctrl-C while waiting: as q
                return
            prompt = True
            if kind == "files":
                # a save of nothing the session follows (or with no change) says nothing
                prompt = self._saved(session, value)
            elif value == "q":
                return
            elif value == "a":
                self._run(list(session.items), "all tests")
            elif value == "f":
                failed = [i for i in session.items if self.outcomes.get(i.nodeid) == "failed"]
                self._run(failed, "the failed tests")
            else:
                prompt = False

    def _collection_errors(self) -> None:
        """Collection failed: show why, then wait for a save (or q) and start afresh."""
        tr = self._reporter()
        if tr is not None:
            _newline(tr)
            for report in tr.stats.get("error", []):
                tr.write_sep("_", f"ERROR collecting {report.nodeid or report.fspath}",
                             red=True)
                report.toterminal(tr._tw)
        self._say(f"{session_errors(self.session)} during collection; a save starts a "
                  f"fresh test session (q: quit)")
        try:
            while True:
                self._release_stdin()
                kind, value = self.waiter.next()
                if kind == "key" and value == "q":
                    return
                if kind == "files" and any(not ignored(p) for p in value):
                    self._restart("the fix needs")
        except KeyboardInterrupt:
            return
        finally:
            self.waiter.stop()
            self.recorder.close()

    def _prompt(self) -> None:
        self._say("waiting for changes (a: run all, f: run failed, q: quit)")

    def _saved(self, session: pytest.Session, paths: list[str]) -> bool:
        """Apply the saved files and re-run what they affect; False when nothing was told
        (no tracked module changed)."""
        import relive
        from relive.agent.records import result_record
        from relive.cli.report import apply_lines, needs_restart

        paths = sorted(set(paths + self.waiter.pending_files()))
        applied: list[tuple[TrackedModule, Any, str]] = []
        told = False
        for path in paths:
            if ignored(path):
                continue
            tracked = REGISTRY.by_file(path)
            if tracked is None:
                if self._new_test_file(path):
                    from relive.display import display_path

                    self._say(f"{display_path(path)}: a new test file")
                    self._restart("collecting it needs")
                continue
            old = tracked.baseline.source
            result = relive.reload(tracked.module)
            if result.applied and not result.changed and not result.rude_edits:
                continue
            told = True
            record = result_record(result)
            for _style, text in apply_lines(record):
                self._say(text)
            if needs_restart(record):
                self._restart()
            if result.applied:
                applied.append((tracked, result, old))
        if not applied:
            return told
        affected = Affected(session, self.ran)
        items = affected.absorb([Change.of(t, r) for t, r, _ in applied])
        total = len(session.items)
        self._run(items, f"{len(items)} of {total} tests")
        if self.gate:
            self._gate(session, applied, items)
        return True

    def _gate(self, session: pytest.Session, applied: list[tuple[TrackedModule, Any, str]],
              items: Sequence[pytest.Item]) -> None:
        import relive
        from relive.display import display_path

        failed = [i for i in items if self.run_outcomes.get(i.nodeid) == "failed"]
        if not failed:
            return
        back = []
        for tracked, _result, old in reversed(applied):
            result = relive.reload(tracked.module, source=old)
            where = display_path(tracked.filename)
            if result.applied:
                back.append(Change.of(tracked, result))
                self._say(f"{where}: rolled back: {len(failed)} affected test(s) failed with "
                          f"this edit; the session runs the previous code (the file keeps "
                          f"the edit)")
            else:
                self._say(f"{where}: could not roll back: {result.describe()}")
        Affected(session, self.ran).absorb(back)

    def _release_stdin(self) -> None:
        """Give descriptor 0 back: pytest's capture leaves stdin on /dev/null between tests
        (it only suspends stdout and stderr), and keys are read, and a fresh session
        inherits it, from there."""
        capman = self.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            capman.suspend_global_capture(in_=True)

    def _new_test_file(self, path: str) -> bool:
        """Is ``path`` a test file the session would collect, that it has not imported?"""
        import fnmatch

        if not os.path.isfile(path) or not any(
                fnmatch.fnmatch(os.path.basename(path), pattern)
                for pattern in self.config.getini("python_files")):
            return False
        where = normalize(path)
        base = str(self.config.invocation_params.dir)
        for arg in self.config.args:
            target = normalize(os.path.join(base, arg.split("::")[0]))
            if where == target or where.startswith(target + os.sep):
                return True
        return False

    def _restart(self, what: str = "this edit needs") -> None:
        self._say(f"{what} a restart: starting a fresh test session in a new process")
        self._release_stdin()
        self.waiter.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        argv = [sys.executable, *sys.orig_argv[1:]]
        os.execv(sys.executable, argv)

    # -- running items again ----------------------------------------------------------------

    def _run(self, items: list[pytest.Item], what: str) -> None:
        session = self.session
        assert session is not None
        session.shouldfail = False
        session.shouldstop = False
        session.testsfailed = 0
        self.run_outcomes = {}
        self.failures = []
        tr = self._reporter()
        if tr is not None:
            _newline(tr)
            tr.currentfspath = None
        start = time.perf_counter()
        state = session._setupstate
        if items:
            # what the last run kept set up and these items do not need goes now
            state.teardown_exact(items[0])
        for i, item in enumerate(items):
            # the last item is torn down up to its parent only: session- and module-scoped
            # fixtures stay set up for the next run
            nextitem = items[i + 1] if i + 1 < len(items) else item.parent
            item.ihook.pytest_runtest_protocol(item=item, nextitem=cast(Any, nextitem))
            if session.shouldfail or session.shouldstop:
                break
        took = time.perf_counter() - start
        if tr is not None:
            _newline(tr)
            for report in self.failures:
                tr.write_sep("_", report.head_line or report.nodeid, red=True)
                report.toterminal(tr._tw)
            if tr._show_progress_info:  # progress is for the first run
                tr._show_progress_info = False
        counts: dict[str, int] = {}
        for outcome in self.run_outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        parts = [f"{counts[o]} {o}" for o in ("failed", "passed", "skipped") if counts.get(o)]
        self._say(f"ran {what}: {', '.join(parts) or 'no tests ran'} in {took:.2f}s")

    def _reporter(self) -> Any:
        return self.config.pluginmanager.getplugin("terminalreporter")

    def _say(self, text: str) -> None:
        tr = self._reporter()
        if tr is not None:
            _newline(tr)
            tr.write_line(f"relive: {text}")
            tr._tw.flush()
        else:
            print(f"relive: {text}", flush=True)
        sys.stdout.flush()
