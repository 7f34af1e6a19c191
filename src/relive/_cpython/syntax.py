"""The syntax tree (``ast``) by version: fields a node built by hand must have."""

from __future__ import annotations

import sys
from typing import Any

HAS_TYPE_PARAMS = sys.version_info >= (3, 12)
"""``def`` and ``class`` nodes have ``type_params`` (PEP 695, 3.12+)."""


def def_fields() -> dict[str, Any]:
    """The fields a ``FunctionDef`` built by hand needs besides the common ones."""
    return {"type_params": []} if HAS_TYPE_PARAMS else {}
