"""How relive names things to people, the same in every layer that puts words together."""

from __future__ import annotations

import os


def display_path(path: str) -> str:
    """``path`` as people read it: relative to the working directory when it is under it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative
