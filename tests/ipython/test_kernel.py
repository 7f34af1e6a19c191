"""``%load_ext relive`` in a Jupyter kernel (ipykernel), driven through ``jupyter_client`` as
a notebook front end drives it: the same events, the same lines in the cells' output."""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipykernel", reason="the Jupyter kernel test needs ipykernel")
manager = pytest.importorskip("jupyter_client.manager",
                              reason="the Jupyter kernel test needs jupyter_client")

pytestmark = pytest.mark.slow

SHOP = '''
class Cart:
    def __init__(self):
        self.items = [1, 2, 3]

    def total(self):
        return sum(self.items)
'''


def execute(client: Any, code: str) -> tuple[str, str]:
    """Run a cell in the kernel: (stdout, stderr) of its output. Fails if the cell raised."""
    streams = {"stdout": "", "stderr": ""}
    errors: list[str] = []

    def hook(message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            streams[content["name"]] += content["text"]
        elif kind == "error":
            errors.append(f"{content['ename']}: {content['evalue']}")

    reply = client.execute_interactive(textwrap.dedent(code), output_hook=hook, timeout=60)
    assert reply["content"]["status"] == "ok" and not errors, errors
    return streams["stdout"], streams["stderr"]


def test_a_jupyter_kernel_applies_saved_edits_before_each_cell(tmp_path: Path) -> None:
    path = tmp_path / "kshop.py"
    path.write_text(SHOP, encoding="utf-8")
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"), PYTHONPATH=os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]))
    km, kc = manager.start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env,
                                      startup_timeout=60)
    try:
        execute(kc, "%load_ext relive")
        execute(kc, "import kshop\ncart = kshop.Cart()\nCart0 = kshop.Cart")
        path.write_text(SHOP.replace("return sum(self.items)", "return sum(self.items) * 2"),
                        encoding="utf-8")
        out, err = execute(kc, "print(cart.total(), isinstance(cart, kshop.Cart), "
                               "Cart0 is kshop.Cart)")
        assert "relive: kshop.py: gen 1: updated Cart.total" in out
        assert out.rstrip().endswith("12 True True") and not err

        path.write_text(SHOP.replace("class Cart:", "class Cart(dict):"), encoding="utf-8")
        out, err = execute(kc, "print(cart.total())")
        assert "relive: kshop.py:2: RL1001 error" in err
        assert "cells run the old code of kshop" in err
        assert out.strip() == "12"

        out, _err = execute(kc, "%relive")
        assert "kshop" in out and "gen 1" in out and "saved edit was refused" in out

        # %relive watch: a save is applied while a cell runs, told in that cell's output
        path.write_text(SHOP, encoding="utf-8")  # gen 2, applied before the next cell
        execute(kc, "%relive watch")
        new = SHOP.replace("return sum(self.items)", "return sum(self.items) * 3")
        timer = threading.Timer(0.3, path.write_text, (new,), {"encoding": "utf-8"})
        timer.start()
        out, _err = execute(kc, """
            import time
            seen = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (not seen or seen[-1] != 18):
                seen.append(cart.total())
                time.sleep(0.01)
            print("seen", seen[0], seen[-1])
            time.sleep(0.3)
        """)
        timer.join()
        assert "seen 6 18" in out
        assert "relive: kshop.py: gen 3: updated Cart.total" in out + execute(kc, "pass")[0]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
