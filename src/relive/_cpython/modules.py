"""Module objects by version: the attributes python gives ``__main__``."""

from __future__ import annotations

import sys

MAIN_HAS_CACHED = sys.version_info < (3, 15)
"""``__main__`` has ``__cached__`` (None for a script, the bytecode file's name with ``-m``)
up to 3.14; 3.15 no longer sets the attribute."""
