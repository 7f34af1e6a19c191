"""Real projects' own test suites, run under ``python -m pytest`` and ``relive run -m pytest``.

A program must run under relive exactly as it runs under ``python``. This check takes real
pure-Python projects, downloads their sdists from the package index with pip (cached under
``${XDG_CACHE_HOME:-~/.cache}/relive/suites``), and runs each project's own suite twice from the
unpacked sdist: plainly, then under ``relive run --paths <the project's packages>``, so that the
project's modules are tracked and compiled in EnC mode while the tests, pytest and the extra
test dependencies are not. Both runs must give the same outcome for every test id.

A pytest plugin (``probe/relive_suite_probe.py``) writes each run's outcomes and, under relive,
what relive holds for each of the project's imported modules; the check fails unless those
modules really are tracked and compiled in EnC mode, so it cannot pass vacuously.

    python tests/realcode/suites.py              # every project; prints the table
    python tests/realcode/suites.py click six    # some of them
    python tests/realcode/suites.py --jobs 2     # two projects at a time
    python tests/realcode/suites.py --pytest-arg=-Wignore::pytest.PytestAssertRewriteWarning
                                                 # look past one known difference

Both runs get the same environment (``PYTHONHASHSEED=0``; the caller's ``PYTHON*``,
``PYTEST_*`` and ``RELIVE_*`` variables left out) and the same directory. Outcomes are compared
per test id; warnings that only the relive run reported are listed but do not fail the check
(some are not deterministic). Logs and the probe's files are kept under ``runs/``.

The exit status is 1 when any project differs. ``tests/realcode/test_real_suites.py`` runs the
same check as a test (``RELIVE_REALCODE=1``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBE_DIR = Path(__file__).resolve().parent / "probe"
RUN_TIMEOUT = 600.0  # seconds for one run of one suite; a hang must not eat CI's time
# What pytest counts as a test's outcome (the probe also reports subtests' categories).
MAIN_OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")


@dataclass(frozen=True)
class Suite:
    """One project: its sdist, where its importable code is, and how its suite is run."""

    name: str
    dist: str  # distribution name on the package index
    version: str  # pinned: a new release must not change the check behind its back
    root: str  # the directory inside the sdist that goes on sys.path ("src" or ".")
    packages: tuple[str, ...]  # its top-level packages or modules under root: tracked
    args: tuple[str, ...] = ("tests",)  # pytest arguments, after the project's own config
    deps: tuple[str, ...] = ()  # pinned test requirements from the index; never tracked
    with_suites: tuple[str, ...] = ()  # other projects here whose code it imports (tracked)


# Pure Python, few extra requirements, and quick: both runs of all of them take a few minutes.
SUITES: tuple[Suite, ...] = (
    # 10.7.0 is the last release with `def consecutive_groups(iterable, ordering=lambda x: x):`
    # (a lambda on the line of a def whose body has cells). test_primes alone takes longer
    # than all of markupsafe, itsdangerous and six together.
    Suite("more-itertools", "more-itertools", "10.7.0", ".", ("more_itertools",),
          ("tests", "--deselect", "tests/test_recipes.py::PrimeFunctionTests::test_primes")),
    Suite("click", "click", "8.5.1", "src", ("click",)),
    Suite("jinja2", "jinja2", "3.1.6", "src", ("jinja2",), deps=("trio==0.35.0",),
          with_suites=("markupsafe",)),
    Suite("markupsafe", "markupsafe", "3.0.4", "src", ("markupsafe",)),
    Suite("itsdangerous", "itsdangerous", "2.2.0", "src", ("itsdangerous",),
          deps=("freezegun==1.5.5",)),
    Suite("toolz", "toolz", "1.2.0", ".", ("toolz", "tlz"), ("toolz",)),
    Suite("boltons", "boltons", "26.2.0", ".", ("boltons",)),
    Suite("six", "six", "1.17.0", ".", ("six.py",), ("test_six.py",)),
    Suite("attrs", "attrs", "26.1.0", "src", ("attr", "attrs")),
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "relive" / "suites"


def python_tag() -> str:
    return f"{sys.implementation.cache_tag}"


# ----------------------------------------------------------------------------- fetching


def _pip(args: Sequence[str]) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{tail}")


def _sdist_file(suite: Suite, directory: Path) -> Path | None:
    prefix = re.sub(r"[-_.]+", "_", suite.dist).lower() + "-" + suite.version
    for path in directory.glob("*.tar.gz"):
        stem = path.name[: -len(".tar.gz")]
        if re.sub(r"[-_.]+", "_", stem.rsplit("-", 1)[0]).lower() + "-" + stem.rsplit(
                "-", 1)[-1] == prefix:
            return path
    return None


def fetch(suites: Iterable[Suite]) -> None:
    """Download (once) every suite's sdist, unpack it, and install its extra requirements."""
    suites = list(suites)
    sdists = cache_dir() / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    missing = [s for s in suites if _sdist_file(s, sdists) is None]
    if missing:
        # pip prepares each sdist's metadata, so it fetches their build back ends too
        _pip(["download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest",
              str(sdists), *(f"{s.dist}=={s.version}" for s in missing)])
    for suite in suites:
        unpack(suite)
        if suite.deps:
            deps_dir(suite)


def source_dir(suite: Suite) -> Path:
    return cache_dir() / "src" / f"{suite.name}-{suite.version}"


def unpack(suite: Suite) -> Path:
    """The unpacked sdist, with an installed-metadata directory beside its code so that
    ``importlib.metadata`` finds the project as it would once installed."""
    target = source_dir(suite)
    stamp = target / ".relive-unpacked"
    if stamp.exists():
        return target
    archive = _sdist_file(suite, cache_dir() / "sdists")
    if archive is None:
        raise RuntimeError(f"no sdist of {suite.dist} {suite.version} in {cache_dir()}")
    if target.exists():
        shutil.rmtree(target)
    staging = target.with_name(target.name + ".tmp")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    (top,) = list(staging.iterdir())
    top.rename(target)
    staging.rmdir()
    pkg_info = target / "PKG-INFO"
    metadata = target / suite.root / f"{suite.dist.replace('-', '_')}-{suite.version}.dist-info"
    metadata.mkdir(exist_ok=True)
    shutil.copyfile(pkg_info, metadata / "METADATA")
    stamp.write_text("ok\n")
    return target


def deps_dir(suite: Suite) -> Path:
    """A directory (``pip install --target``) holding the suite's extra test requirements."""
    key = hashlib.sha256("\n".join(sorted(suite.deps)).encode()).hexdigest()[:12]
    target = cache_dir() / "deps" / f"{python_tag()}-{key}"
    stamp = target / ".relive-installed"
    if not stamp.exists():
        if target.exists():
            shutil.rmtree(target)
        _pip(["install", "--quiet", "--no-compile", "--target", str(target), *suite.deps])
        stamp.write_text("\n".join(suite.deps) + "\n")
    return target


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    """One run of one suite: how it ended and what the probe saw."""

    mode: str  # "python" or "relive"
    exit_code: int | None  # None: it hung and was killed
    seconds: float  # wall time
    cpu_seconds: float  # user + system time of the run's process and its children
    log: Path
    outcomes: dict[str, dict[str, int]] | None  # None: pytest never reached its end
    warnings: tuple[str, ...]
    tracking: dict[str, Any] | None

    def counts(self) -> dict[str, int]:
        if self.outcomes is None:
            return {}
        return {k: sum(v.values()) for k, v in self.outcomes.items() if sum(v.values())}

    def summary(self) -> str:
        if self.outcomes is None:
            return f"no result (exit {self.exit_code})"
        counts = self.counts()
        order = [*MAIN_OUTCOMES, *sorted(set(counts) - set(MAIN_OUTCOMES))]
        text = ", ".join(f"{counts[k]} {k}" for k in order if k in counts) or "no tests"
        return text + (f" (exit {self.exit_code})" if self.exit_code not in (0, None) else "")

    def first_error(self) -> str:
        """The line that best says why the run went wrong, for the report."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        for pattern in (r"^E\s+\S", r"^INTERNALERROR> \w+(Error|Exception)",
                        r"^relive", r"(Error|Exception|Warning)\b.*:"):
            for line in lines:
                if re.search(pattern, line):
                    return line.removeprefix("INTERNALERROR> ").strip()
        return lines[-1].strip() if lines else ""


def tracked_paths(suite: Suite) -> list[Path]:
    paths = []
    for s in (suite, *(by_name(n) for n in suite.with_suites)):
        root = source_dir(s) / s.root
        paths.extend(root / p for p in s.packages)
    return paths


def by_name(name: str) -> Suite:
    for suite in SUITES:
        if suite.name == name:
            return suite
    raise KeyError(f"no suite named {name!r} (known: {', '.join(s.name for s in SUITES)})")


def _environment(suite: Suite, probe_out: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "RELIVE_", "PYTHON")) and k != "COVERAGE_PROCESS_START"}
    path = [str(source_dir(s) / s.root) for s in (suite, *map(by_name, suite.with_suites))]
    if suite.deps:
        path.append(str(deps_dir(suite)))
    path.append(str(PROBE_DIR))
    env.update(PYTHONPATH=os.pathsep.join(path), PYTHONHASHSEED="0", PYTHONUTF8="1",
               NO_COLOR="1", COLUMNS="120",
               RELIVE_SUITE_PROBE=str(probe_out),
               RELIVE_SUITE_TRACK=os.pathsep.join(str(p) for p in tracked_paths(suite)))
    return env


def run(suite: Suite, mode: str, extra: Sequence[str] = (),
        relive_options: Sequence[str] = ()) -> Run:
    """Run the suite once, plainly (``python``) or under ``relive run`` (``relive``), with
    ``extra`` pytest arguments and ``relive_options`` for ``relive run``."""
    out_dir = cache_dir() / "runs" / python_tag() / suite.name
    out_dir.mkdir(parents=True, exist_ok=True)
    log, probe_out = out_dir / f"{mode}.log", out_dir / f"{mode}.json"
    probe_out.unlink(missing_ok=True)
    pytest_args = ["-m", "pytest", "-p", "relive_suite_probe", "-p", "no:cacheprovider",
                   *extra, *suite.args]
    if mode == "python":
        cmd = [sys.executable, *pytest_args]
    else:
        paths = [a for p in tracked_paths(suite) for a in ("--paths", str(p))]
        cmd = [sys.executable, "-m", "relive", "run", "--on-rude=ignore", *paths,
               *relive_options, *pytest_args]
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        process = subprocess.Popen(cmd, cwd=source_dir(suite), env=_environment(suite, probe_out),
                                   stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
        timer = threading.Timer(RUN_TIMEOUT, process.kill)
        timer.start()
        try:
            # wait4, not wait: the CPU time of this run alone says more than the wall time
            # on a busy machine (and other runs may go on in parallel)
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    killed = process.returncode == -signal.SIGKILL and seconds >= RUN_TIMEOUT
    data: dict[str, Any] = {}
    if probe_out.exists():
        data = json.loads(probe_out.read_text())
    return Run(mode, None if killed else process.returncode, seconds,
               usage.ru_utime + usage.ru_stime, log, data.get("outcomes"),
               tuple(data.get("warnings", ())), data.get("tracking"))


# ----------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Comparison:
    suite: Suite
    plain: Run
    relive: Run
    problems: tuple[str, ...] = field(default=())

    @property
    def same_counts(self) -> bool:
        return self.plain.outcomes is not None and self.plain.counts() == self.relive.counts()

    @property
    def ok(self) -> bool:
        return not self.problems


def _own(module: dict[str, Any]) -> bool:
    """Whether a module under the project's paths is its code, loaded from its own file: not
    a test module that pytest loads and rewrites itself (some projects keep their tests inside
    the package), nor an alias of another module."""
    return bool(module["own_file"]) and not module["loader"].startswith("_pytest.")


def tracking_problems(suite: Suite, result: Run) -> list[str]:
    """Why the relive run did not really run the project's code tracked in EnC mode."""
    if result.outcomes is None:
        return []  # the run itself failed; that is the problem to report
    tracking = result.tracking
    if tracking is None:
        return ["relive's runtime is not in the program's process: nothing was tracked"]
    modules: dict[str, dict[str, Any]] = tracking["modules"]
    problems = []
    own = {n: m for n, m in modules.items() if _own(m)}
    if not own:
        problems.append("none of the project's modules was imported")
    untracked = sorted(n for n, m in own.items() if not m["tracked"])
    if untracked:
        problems.append(f"not tracked: {', '.join(untracked[:5])}"
                        + (f" (+{len(untracked) - 5})" if len(untracked) > 5 else ""))
    plain = sorted(n for n, m in own.items() if m["tracked"] and not m["enc"])
    if plain:
        problems.append(f"tracked but not in EnC mode: {', '.join(plain[:5])}")
    moved = sorted(n for n, m in own.items() if m.get("code_names_another_file"))
    if moved:
        problems.append(f"code of functions names another file than their module's: "
                        f"{', '.join(moved[:5])}" + (f" (+{len(moved) - 5})" if len(moved) > 5
                                                     else ""))
    if own and not sum(m["enc_functions"] for m in own.values()):
        problems.append("no function of the project has EnC code")
    return problems


def compare(suite: Suite, plain: Run, relive: Run) -> Comparison:
    problems: list[str] = []
    if plain.outcomes is None:
        problems.append(f"the plain run gave no result: {plain.first_error()}")
    elif relive.outcomes is None:
        problems.append(f"the relive run gave no result: {relive.first_error()}")
    else:
        if plain.counts() != relive.counts():
            problems.append(f"counts differ: python {plain.summary()}; relive {relive.summary()}"
                            f"; first error under relive: {relive.first_error()}")
        moved = moved_ids(plain, relive)
        if moved:
            problems.append("outcomes differ: " + "; ".join(moved[:5])
                            + (f" (+{len(moved) - 5})" if len(moved) > 5 else ""))
        if not plain.counts():
            problems.append("the suite ran no test")
    problems.extend(tracking_problems(suite, relive))
    return Comparison(suite, plain, relive, tuple(problems))


def moved_ids(plain: Run, relive: Run) -> list[str]:
    """Test ids whose outcome differs between the two runs, as 'id: python → relive'."""
    def by_id(result: Run) -> dict[str, str]:
        found: dict[str, list[str]] = {}
        for category, ids in (result.outcomes or {}).items():
            for test_id, times in ids.items():
                found.setdefault(test_id, []).extend([category] * times)
        return {k: "+".join(sorted(v)) for k, v in found.items()}

    a, b = by_id(plain), by_id(relive)
    return [f"{k}: {a.get(k, '-')} → {b.get(k, '-')}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def check(suite: Suite, extra: Sequence[str] = ()) -> Comparison:
    return compare(suite, run(suite, "python", extra), run(suite, "relive", extra))


def check_all(suites: Sequence[Suite], jobs: int = 1,
              extra: Sequence[str] = ()) -> list[Comparison]:
    """Fetch what is missing, then check each suite; ``extra``: pytest arguments for both
    runs of every suite (to look past one known difference at the next ones)."""
    fetch({s.name: s for s in (*suites, *(by_name(n) for s in suites
                                          for n in s.with_suites))}.values())
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda suite: check(suite, extra), suites))


# ----------------------------------------------------------------------------- reporting


def _tracked_summary(result: Run) -> str:
    if result.tracking is None:
        return "-"
    own = [m for m in result.tracking["modules"].values() if _own(m)]
    tracked = sum(1 for m in own if m["tracked"] and m["enc"])
    enc = sum(m["enc_functions"] for m in own)
    plain = sum(m["plain_functions"] for m in own)
    return f"{tracked}/{len(own)} mod, {enc}/{enc + plain} fn"


def table(comparisons: Sequence[Comparison]) -> str:
    rows = [("project", "python", "relive", "same?", "EnC (modules, defs)",
             "wall s py/relive", "cpu s py/relive")]
    for c in comparisons:
        rows.append((f"{c.suite.name} {c.suite.version}", c.plain.summary(), c.relive.summary(),
                     "yes" if c.ok else "NO", _tracked_summary(c.relive),
                     f"{c.plain.seconds:.1f}/{c.relive.seconds:.1f}",
                     f"{c.plain.cpu_seconds:.1f}/{c.relive.cpu_seconds:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for c in comparisons:
        for problem in c.problems:
            lines.append(f"{c.suite.name}: {problem}")
        if c.relive.warnings != c.plain.warnings:
            extra = sorted(set(c.relive.warnings) - set(c.plain.warnings))
            if extra:
                lines.append(f"{c.suite.name}: warnings only under relive: {extra[0]}"
                             + (f" (+{len(extra) - 1})" if len(extra) > 1 else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="projects to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="projects run at the same time")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="an extra pytest argument for both runs (repeatable), e.g. "
                             "--pytest-arg=-Wignore::pytest.PytestAssertRewriteWarning")
    ns = parser.parse_args(argv)
    suites = [by_name(n) for n in ns.names] if ns.names else list(SUITES)
    started = time.monotonic()
    comparisons = check_all(suites, ns.jobs, ns.pytest_arg)
    print(table(comparisons))
    cpu = sum(c.plain.cpu_seconds + c.relive.cpu_seconds for c in comparisons)
    print(f"({time.monotonic() - started:.0f} s wall, {cpu:.0f} s cpu in the suites' runs; "
          f"logs under {cache_dir() / 'runs' / python_tag()})")
    return 0 if all(c.ok for c in comparisons) else 1


if __name__ == "__main__":
    sys.exit(main())
