"""The oracle's worker: the cases of one release pair, each in live processes of its own.

Run as ``python -m tests.realcode.oracle_worker SPEC_JSON`` with a fixed ``PYTHONHASHSEED``
(the orchestrator sets it: constants such as frozensets print in hash order). The worker lays
release N out in a work directory, puts it first on ``sys.path``, calls ``relive.install()``
and then, for each case, forks twice from that clean state:

1. the *live* child imports the module at release N (its package and siblings with it),
   notes every function it reaches, writes release N+1's source over the file and calls
   ``relive.reload``; it reports what the apply said, the code the module's functions now run,
   whether the functions held before the apply kept their identity and took the new code, and,
   for a refusal, whether anything changed at all;
2. the *fresh* child imports the same directory, now holding the new file, as a program
   starting under relive would, and reports the code its functions run.

A fork gives each case a process that never saw another case, without paying for an
interpreter start and relive's import each time. Results go to stdout, one JSON line a case.
"""

from __future__ import annotations

import ast
import fcntl
import importlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

from tests.realcode.codeprint import summarize, walk

_SUFFIX = re.compile(r"#\d+")


def _exc(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-600:]


def _purge(top: str, work: str) -> None:
    for name, mod in list(sys.modules.items()):
        file = getattr(mod, "__file__", None) or ""
        if name == top or name.startswith(top + ".") or file.startswith(work):
            del sys.modules[name]


def _covered(path: str, covers: set[str]) -> bool:
    """Is ``path`` (a qualified name or a walk path) inside a definition in ``covers``?"""
    parts = [p for p in _SUFFIX.sub("", path).split(".") if p]
    return any(".".join(parts[:k]) in covers for k in range(1, len(parts) + 1))


def _covers(result: Any) -> set[str]:
    """Definitions and names the apply says it rebuilt, added, deleted or bound anew."""
    out = {_SUFFIX.sub("", p) for p in (*result.replaced, *result.inserted, *result.deleted)}
    if result.delta is not None:
        for e in result.delta.edits:
            if e.target in ("variable", "attribute", "import"):
                scope = "" if e.scope in ("", "<module>") else _SUFFIX.sub("", e.scope) + "."
                out |= {scope + n for n in e.names}
            if e.kind in ("insert", "delete", "replace"):
                out.add(_SUFFIX.sub("", e.path))
    return out


def _namespace_ids(module: ModuleType) -> dict[str, int]:
    return {k: id(v) for k, v in vars(module).items()}


def live_case(name: str, target: Path, new: bytes, full: bool) -> dict[str, Any]:
    import relive

    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        return {"import_error": _exc(exc)}
    before = walk(module)
    before_codes = summarize(before)
    namespace = dict(vars(module))  # keeps the old values alive: ids stay meaningful
    target.write_bytes(new)
    try:
        result = relive.reload(module)
    except BaseException:
        return {"raised": traceback.format_exc()[-3000:]}
    after = walk(module)
    out: dict[str, Any] = {
        "applied": result.applied,
        "errors": list(result.errors),
        "rude": [[r.code, r.severity, r.lineno, r.path, r.message] for r in result.rude_edits],
        "warnings": list(result.warnings),
        "replaced": list(result.replaced), "inserted": list(result.inserted),
        "deleted": list(result.deleted), "updated": list(result.updated),
        "deleted_names": sorted({n for e in (result.delta.edits if result.delta else ())
                                 if e.kind == "delete" for n in (*e.names, e.path)}),
        "codes": summarize(after, full),
    }
    if not result.applied:
        changed = []
        if [(p, id(f)) for p, f in after] != [(p, id(f)) for p, f in before]:
            changed.append("the module reaches other function objects")
        if summarize(after) != before_codes:
            changed.append("functions run other code")
        ns = _namespace_ids(module)
        if ns != {k: id(v) for k, v in namespace.items()}:
            names = sorted(k for k in ns.keys() | namespace.keys()
                           if k not in namespace or k not in ns or ns[k] != id(namespace[k]))
            changed.append(f"module names rebound: {', '.join(names[:8])}")
        out["changed"] = changed
        return out
    covers = _covers(result)
    now = dict(after)
    by_key: dict[tuple[str, int], FunctionType] = {
        (f.__code__.co_qualname, f.__code__.co_firstlineno): f for _p, f in after}
    identity, stale = [], []
    for path, fn in before:
        if _covered(path, covers) or _covered(fn.__code__.co_qualname, covers):
            continue
        if path in now and now[path] is not fn:
            identity.append(f"{path}: {fn.__code__.co_qualname} is another object")
            continue
        current = by_key.get((fn.__code__.co_qualname, fn.__code__.co_firstlineno))
        if current is None:
            stale.append(f"{path}: {fn.__code__.co_qualname} (line "
                         f"{fn.__code__.co_firstlineno}) is no longer reached from the module")
        elif current is not fn and current.__code__ is not fn.__code__ and \
                summarize([("", current)]) != summarize([("", fn)]):
            stale.append(f"{path}: {fn.__code__.co_qualname} runs other code than the "
                         f"module's function of that name")
    out["identity"] = identity
    out["stale"] = stale
    return out


def fresh_case(name: str, full: bool) -> dict[str, Any]:
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        return {"import_error": _exc(exc)}
    return {"codes": summarize(walk(module), full)}


def _forked(fn: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Run ``fn`` in a forked child; its JSON result, or why there is none."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        code = 0
        try:
            data = json.dumps(fn()).encode()
        except BaseException:
            data = json.dumps({"raised": traceback.format_exc()[-3000:]}).encode()
        try:
            with os.fdopen(write, "wb") as f:
                f.write(data)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    with os.fdopen(read, "rb", buffering=0) as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([f], [], [], left)
            if not ready:
                continue
            chunk = f.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"died": f"no answer within {timeout:.0f} s"}
    try:
        return dict(json.loads(b"".join(chunks)))
    except ValueError:
        return {"died": f"the worker ended with status {status} and no result"}


def _plain_import(work: Path, name: str) -> str | None:
    """Why ``name`` does not import under plain python from ``work`` (None if it does)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(work))
    done = subprocess.run([sys.executable, "-c", f"import {name}"], env=env, cwd=str(work),
                          capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _lay_out(old_root: Path, work: Path) -> None:
    """Make ``work`` hold release N's sources, keeping the EnC caches of earlier runs."""
    for src in old_root.rglob("*"):
        dst = work / src.relative_to(old_root)
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        elif not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)


def _statement_spans(source: bytes) -> list[list[int]]:
    """First and last line of each module-level statement of ``source`` (what a warning about
    module-level code covers)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [[n.lineno, n.end_lineno or n.lineno] for n in tree.body]


def run_pair(spec: dict[str, Any]) -> None:
    old_root, new_root, work = Path(spec["old"]), Path(spec["new"]), Path(spec["work"])
    full, timeout = bool(spec.get("full")), float(spec.get("timeout", 120))
    work.mkdir(parents=True, exist_ok=True)
    lock = open(work.parent / f"{work.name}.lock", "w")  # noqa: SIM115 (held to the end)
    fcntl.flock(lock, fcntl.LOCK_EX)
    _lay_out(old_root, work)
    sys.path.insert(0, str(work))
    sys.dont_write_bytecode = False
    import relive

    relive.install([str(work)])
    for case in spec["cases"]:
        rel, name = case["relpath"], case["module"]
        target = work / rel
        old, new = (old_root / rel).read_bytes(), (new_root / rel).read_bytes()
        start = time.perf_counter()
        top = name.split(".")[0]

        def live(name: str = name, target: Path = target, new: bytes = new,
                 top: str = top) -> dict[str, Any]:
            _purge(top, str(work))
            return live_case(name, target, new, full)

        def fresh(name: str = name, top: str = top) -> dict[str, Any]:
            _purge(top, str(work))
            return fresh_case(name, full)

        target.write_bytes(old)
        out: dict[str, Any] = {"ident": case["ident"]}
        out["live"] = _forked(live, timeout)
        if "import_error" in out["live"]:
            target.write_bytes(old)
            out["plain_import_error"] = _plain_import(work, name)
        target.write_bytes(new)
        out["fresh"] = _forked(fresh, timeout)
        target.write_bytes(old)
        out["spans"] = _statement_spans(new)
        out["seconds"] = round(time.perf_counter() - start, 3)
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    run_pair(json.loads(sys.argv[1]))
