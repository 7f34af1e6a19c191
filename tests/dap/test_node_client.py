"""``relive dap`` driven by a DAP client that is not ours: the node tests in tests/dap/node use
``@vscode/debugadapter-testsupport``'s ``DebugClient`` against ``python -m relive dap`` of this
Python. The node packages are installed once per lock file (``npm ci``) under
``${XDG_CACHE_HOME:-~/.cache}/relive/node-dap-<hash>``, npm's own cache beside them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "node"
NPM_TIMEOUT = 600.0
NODE_RUN_TIMEOUT = 240.0


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "relive"


def _node_major(node: str) -> int:
    found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    try:
        return int(found.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def _node_modules(npm: str) -> Path:
    """The node_modules of tests/dap/node's lock file: installed by the first process that
    needs it, into a directory of its own that is then renamed into place (a process that
    loses the race uses the winner's)."""
    lock = NODE_DIR / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    root = _cache_root()
    target = root / f"node-dap-{digest}"
    if (target / "node_modules").is_dir():
        return target / "node_modules"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".node-dap-{digest}-", dir=root))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE_DIR / name, work / name)
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline",
             "--cache", str(root / "npm")],
            cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=NPM_TIMEOUT)
        if done.returncode != 0:
            pytest.fail(f"npm ci for tests/dap/node failed ({done.returncode}):\n"
                        f"{done.stdout}\n{done.stderr}")
        try:
            os.rename(work, target)
        except OSError:
            if not (target / "node_modules").is_dir():  # not another process's install
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / "node_modules"


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


@pytest.mark.timeout(NPM_TIMEOUT + NODE_RUN_TIMEOUT + 60)
def test_a_real_dap_client_drives_relive_dap() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed (not on PATH) for the DebugClient tests of "
                    "tests/dap/node")
    if _node_major(node) < 20:
        pytest.skip("the DebugClient tests of tests/dap/node need node 20 or newer")
    modules = _node_modules(npm)
    tests = sorted(str(p) for p in NODE_DIR.glob("*.test.js"))
    assert tests, f"no *.test.js in {NODE_DIR}"
    env = dict(os.environ, RELIVE_PYTHON=sys.executable, NODE_PATH=str(modules), NO_COLOR="1",
               FORCE_COLOR="0")
    env.pop("NODE_OPTIONS", None)
    try:
        done = subprocess.run([node, "--test", "--test-reporter=spec", *tests], cwd=NODE_DIR,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=NODE_RUN_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node --test took over {NODE_RUN_TIMEOUT:.0f} s:\n{_text(exc.stdout)}\n"
                    f"{_text(exc.stderr)}")
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"node --test tests/dap/node failed:\n{output}"
