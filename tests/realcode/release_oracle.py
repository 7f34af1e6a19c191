"""The release-history oracle: real edits from real projects, applied to live modules.

For each pair of consecutive releases of the projects in :mod:`tests.realcode.releases`, and
for each module that changed between them, a live process imports release N, takes release
N+1's source with ``relive.reload`` and its code is compared with a fresh import of the new
source (see :mod:`tests.realcode.oracle_worker`). Each case is classified:

good: ``exact`` (every code object equal, identities kept), ``refused`` (an error-severity
rude edit, and nothing changed), ``warned`` (applied with a warning that names each
definition that differs), ``skipped`` (the module does not import under plain python at
release N, or the new source does not import against release N's other modules);

bad: ``different`` (applied, code differs without a warning that says so, or a function held
before the apply kept old code), ``refused-changed`` (refused, yet something changed),
``identity`` (a function object replaced instead of updated in place), ``refused-runs``
(refused without an error rude edit although a fresh import runs the new source),
``crashed`` (the reload raised, or the worker died).

Usage::

    python -m tests.realcode.release_oracle            # all cases, the table
    python -m tests.realcode.release_oracle --list     # the cases, one a line
    python -m tests.realcode.release_oracle --case 'attrs:23.1.0..23.2.0:attr/_make.py'
    python -m tests.realcode.release_oracle --project click --details
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.realcode.releases import PROJECTS, Case, all_cases, cache_root, release_dir

ROOT = Path(__file__).resolve().parents[2]
GOOD = ("exact", "refused", "warned", "skipped")
BAD = ("different", "refused-changed", "identity", "refused-runs", "crashed")
HASH_SEED = "0"


@dataclass(frozen=True)
class Verdict:
    case: Case
    kind: str
    detail: str
    seconds: float


def _warned_about(qualname: str, live: dict[str, Any], first: int | None = None,
                  spans: list[list[int]] | None = None) -> bool:
    """Does a warning of the apply explain a difference in ``qualname``: does it name the
    definition (or one around it), or is it about module-level code around its first line?"""
    warnings = [r for r in live.get("rude", []) if r[1] != "error"]
    # "no live function object found" explains nothing when the oracle did reach the
    # function from the module: the apply did not look where the program keeps it
    texts = [" ".join(map(str, r)) for r in warnings] + [
        w for w in live.get("warnings", []) if "no live function object found" not in w]
    parts = qualname.replace(".<locals>", "").split(".")
    names = {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
    if any(re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", t) for t in texts for n in names):
        return True
    if first is None:
        return False
    for r in warnings:
        for lo, hi in spans or ():
            if lo <= r[2] <= hi and lo <= first <= hi:
                return True
    return False


def _deleted_name(error: str, case: Case, live: dict[str, Any]) -> str | None:
    """The name the apply deleted from the module that an import of it asks for, if any."""
    found = re.search(r"cannot import name '([^']+)' from '([^']+)'", error)
    if found is None or found.group(2) != case.module:
        return None
    name = found.group(1)
    deleted = {*live.get("deleted", []), *live.get("deleted_names", [])}
    return name if name in deleted else None


def compare_codes(live: dict[str, dict[str, str]],
                  fresh: dict[str, dict[str, str]]) -> list[str]:
    """Each code key whose fields differ: 'key: field, field' (or missing on a side)."""
    out = []
    for key in sorted(live.keys() | fresh.keys()):
        a, b = live.get(key), fresh.get(key)
        if a is None:
            out.append(f"{key}: only in the fresh import")
        elif b is None:
            out.append(f"{key}: only in the live module")
        elif a != b:
            fields = [f for f in b if a.get(f) != b.get(f)]
            out.append(f"{key}: {', '.join(fields)}")
    return out


def classify(case: Case, record: dict[str, Any]) -> Verdict:
    live, fresh = record.get("live", {}), record.get("fresh", {})
    secs = float(record.get("seconds", 0.0))

    def v(kind: str, detail: str) -> Verdict:
        return Verdict(case, kind, detail, secs)

    if "import_error" in live:
        plain = record.get("plain_import_error")
        if plain:
            return v("skipped", f"does not import under python at {case.old}: {plain}")
        return v("crashed", f"import under relive failed, python imports it: "
                            f"{live['import_error']}")
    if "raised" in live:
        return v("crashed", "reload raised: " + live["raised"].strip().splitlines()[-1])
    if "died" in live:
        return v("crashed", "live worker: " + live["died"])
    if "died" in fresh or "raised" in fresh:
        return v("crashed", "fresh worker: " + str(fresh.get("died") or fresh.get("raised")))
    fresh_error = fresh.get("import_error")
    errors = [r for r in live["rude"] if r[1] == "error"]
    if not live["applied"]:
        reason = "; ".join(live["errors"])[:300]
        if live["changed"]:
            return v("refused-changed", f"{'; '.join(live['changed'])} (refused: {reason})")
        if errors:
            return v("refused", reason)
        if fresh_error:
            return v("skipped", f"the new source does not import against {case.old}'s "
                                f"modules: {fresh_error}")
        return v("refused-runs", reason)
    if fresh_error:
        # The new source does not import against release N's other modules. When it is for
        # want of a name the apply deleted, the live program's other modules now hold
        # tombstones: the apply must say so.
        gone = _deleted_name(fresh_error, case, live)
        if gone and not _warned_about(gone, live):
            return v("different", f"deleted {gone}, which release {case.old}'s modules "
                                  f"import, without a warning ({fresh_error})")
        return v("skipped", f"the new source does not import against {case.old}'s "
                            f"modules: {fresh_error}")
    if live["identity"]:
        return v("identity", "; ".join(live["identity"][:4]))
    diffs = compare_codes(live["codes"], fresh["codes"])
    spans = record.get("spans", [])

    def first_line(key: str) -> int | None:
        fields = live["codes"].get(key) or fresh["codes"].get(key) or {}
        return int(fields["firstlineno"]) if "firstlineno" in fields else None

    unexplained = [d for d in diffs
                   if not _warned_about(d.split("@")[0], live, first_line(d.split(":")[0]),
                                        spans)]
    stale = [s for s in live["stale"] if not _warned_about(s.split(": ")[1].split()[0], live)]
    if unexplained or stale:
        return v("different", "; ".join((stale + unexplained)[:6]))
    if diffs or live["warnings"] or any(r[1] != "error" for r in live["rude"]):
        notes = [" ".join(map(str, r[:3])) for r in live["rude"]] + live["warnings"]
        return v("warned", "; ".join(notes)[:300])
    return v("exact", "")


def _specs(cases: list[Case], full: bool, timeout: float) -> list[dict[str, Any]]:
    by_pair: dict[tuple[str, str, str], list[Case]] = defaultdict(list)
    for c in cases:
        by_pair[(c.project, c.old, c.new)].append(c)
    out = []
    for (project, old, new), group in by_pair.items():
        out.append({
            "old": str(release_dir(project, old)), "new": str(release_dir(project, new)),
            "work": str(cache_root() / "work" / f"{project}-{old}"),
            "full": full, "timeout": timeout,
            "cases": [{"ident": c.ident, "relpath": c.relpath, "module": c.module}
                      for c in group],
        })
    # the longest pairs first, so that two workers end at about the same time
    return sorted(out, key=lambda s: -len(s["cases"]))


def _run_worker(spec: dict[str, Any]) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONHASHSEED=HASH_SEED)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(":")
    done = subprocess.run([sys.executable, "-m", "tests.realcode.oracle_worker",
                           json.dumps(spec)], env=env, cwd=str(ROOT), capture_output=True,
                          text=True)
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    seen = {r["ident"] for r in records}
    for c in spec["cases"]:  # a worker that died takes its remaining cases with it
        if c["ident"] not in seen:
            tail = done.stderr.strip().splitlines()[-1:] or [f"status {done.returncode}"]
            records.append({"ident": c["ident"], "live": {"died": tail[0]}})
    return records


def run(cases: list[Case], jobs: int = 2, full: bool = False,
        timeout: float = 120) -> tuple[list[Verdict], list[dict[str, Any]]]:
    """Run the cases; their verdicts, and the raw records."""
    specs = _specs(cases, full, timeout)
    by_ident = {c.ident: c for c in cases}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        batches = list(pool.map(_run_worker, specs))
    records = [r for batch in batches for r in batch]
    verdicts = [classify(by_ident[r["ident"]], r) for r in records]
    order = {c.ident: i for i, c in enumerate(cases)}
    verdicts.sort(key=lambda v: order[v.case.ident])
    return verdicts, records


def table(verdicts: Iterable[Verdict]) -> str:
    verdicts = list(verdicts)
    kinds = GOOD + BAD
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        per[v.case.project][v.kind] += 1
    total: Counter[str] = Counter(v.kind for v in verdicts)
    head = ["project", "cases", *kinds, "exact %"]
    rows = []
    for project in [*sorted(per), "TOTAL"]:
        c = total if project == "TOTAL" else per[project]
        n = sum(c.values())
        counted = n - c["skipped"]
        share = f"{100 * c['exact'] / counted:.1f}" if counted else "-"
        rows.append([project, str(n), *(str(c[k]) for k in kinds), share])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                       enumerate(zip(head, widths, strict=True))) for h in [head]]
    lines[0] = "  ".join(x.rjust(w) if i else x.ljust(w)
                         for i, (x, w) in enumerate(zip(head, widths, strict=True)))
    for r in rows:
        lines.append("  ".join(x.rjust(w) if i else x.ljust(w)
                               for i, (x, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)


def exact_share(verdicts: Iterable[Verdict]) -> float:
    counted = [v for v in verdicts if v.kind != "skipped"]
    return sum(v.kind == "exact" for v in counted) / len(counted) if counted else 0.0


def _select(args: argparse.Namespace) -> list[Case]:
    projects = PROJECTS
    if args.project:
        projects = {p: PROJECTS[p] for p in args.project}
    cases = all_cases(projects)
    if args.case:
        cases = [c for c in cases if c.ident in args.case]
        missing = set(args.case) - {c.ident for c in cases}
        if missing:
            raise SystemExit(f"no such case: {', '.join(sorted(missing))} (see --list)")
    return cases


def _print_fields(record: dict[str, Any]) -> None:
    """For one case run with --case: the fields that differ, side by side."""
    live, fresh = record.get("live", {}), record.get("fresh", {})
    for key in sorted(live.get("codes", {}).keys() | fresh.get("codes", {}).keys()):
        a, b = live.get("codes", {}).get(key), fresh.get("codes", {}).get(key)
        if a == b:
            continue
        print(f"  {key}:")
        for field in sorted((a or {}).keys() | (b or {}).keys()):
            x, y = (a or {}).get(field), (b or {}).get(field)
            if x != y:
                print(f"    {field}:\n      live : {str(x)[:1500]}\n      fresh: {str(y)[:1500]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS))
    parser.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--details", action="store_true", help="print every case's verdict")
    parser.add_argument("--json", help="write the raw records to this file")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    cases = _select(args)
    if args.list:
        for c in cases:
            print(c.ident)
        return 0
    start = time.perf_counter()
    verdicts, records = run(cases, args.jobs, full=bool(args.case), timeout=args.timeout)
    elapsed = time.perf_counter() - start
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    for v in verdicts:
        if args.details or args.case or v.kind in BAD:
            print(f"{v.kind:15} {v.case.ident}  {v.detail}")
    if args.case:
        for r in records:
            said = {k: r["live"].get(k) for k in ("applied", "errors", "rude", "warnings")}
            print(f"--- {r['ident']}: apply said {json.dumps(said)}")
            _print_fields(r)
    print()
    print(table(verdicts))
    bad = sum(v.kind in BAD for v in verdicts)
    print(f"\n{len(verdicts)} cases in {elapsed:.1f} s; applied exactly: "
          f"{100 * exact_share(verdicts):.1f} % of the cases not skipped; bad: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
