"""One edit, checked the way the release oracle checks a release: for reproductions.

    python -m tests.realcode.pair OLD.py NEW.py [--name MODULE]
    python -m tests.realcode.pair --repro NAME      # one of tests/realcode/repros.py
    python -m tests.realcode.pair --repro all

lays OLD.py out as module MODULE (``relive_pair`` by default) in a scratch directory, imports
it under ``relive.install()`` in a live process, puts NEW.py over it, ``relive.reload``s it and
compares every function with a fresh import of NEW.py. It prints the verdict (see
:mod:`tests.realcode.release_oracle`) and the fields that differ, and exits 1 on a bad one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.realcode.release_oracle import BAD, Verdict, _print_fields, _run_worker, classify
from tests.realcode.releases import Case


def check(old: str | bytes, new: str | bytes, name: str = "relive_pair", full: bool = False,
          others: dict[str, str] | None = None) -> tuple[Verdict, dict[str, object]]:
    """The verdict on one edit of module ``name`` (a dotted name: a module of a package whose
    other files ``others`` gives, by path, the same in both releases), and the raw record."""
    root = Path(tempfile.mkdtemp(prefix="relive-pair-"))
    try:
        rel = name.replace(".", "/") + ".py"
        for side, text in (("old", old), ("new", new)):
            files: dict[str, str | bytes] = {**(others or {}), rel: text}
            for path, content in files.items():
                target = root / side / path
                target.parent.mkdir(parents=True, exist_ok=True)
                data = content.encode("utf-8") if isinstance(content, str) else content
                target.write_bytes(data)
        case = Case("pair", "old", "new", rel)
        spec = {"old": str(root / "old"), "new": str(root / "new"), "work": str(root / "work"),
                "full": full, "timeout": 60,
                "cases": [{"ident": case.ident, "relpath": rel, "module": case.module}]}
        record = _run_worker(spec)[0]
        return classify(case, record), record
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _show(verdict: Verdict, record: dict[str, object]) -> None:
    print(f"{verdict.kind}: {verdict.detail}")
    live = record.get("live", {})
    assert isinstance(live, dict)
    said = {k: live.get(k) for k in ("applied", "errors", "rude", "warnings")}
    print(f"apply said {json.dumps(said)}")
    _print_fields(record)


def main(argv: list[str] | None = None) -> int:
    from tests.realcode.repros import REPROS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, nargs="?")
    parser.add_argument("new", type=Path, nargs="?")
    parser.add_argument("--name", default="relive_pair")
    parser.add_argument("--repro", choices=[*sorted(REPROS), "all"])
    args = parser.parse_args(argv)
    bad = 0
    if args.repro:
        for name in sorted(REPROS) if args.repro == "all" else [args.repro]:
            r = REPROS[name]
            print(f"=== {name}: {r.cause}")
            verdict, record = check(r.old, r.new, r.module, True, r.others)
            _show(verdict, record)
            bad += verdict.kind in BAD
        return 1 if bad else 0
    if args.old is None or args.new is None:
        parser.error("give OLD and NEW, or --repro")
    verdict, record = check(args.old.read_bytes(), args.new.read_bytes(), args.name, True)
    _show(verdict, record)
    return 1 if verdict.kind in BAD else 0


if __name__ == "__main__":
    sys.exit(main())
