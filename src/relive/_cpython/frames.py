"""Frames and their locals, by version.

3.13 made ``frame.f_locals`` of a function a write-through proxy (PEP 667): assigning to it
changes the frame's local. Before, it is a snapshot dictionary, written back to the frame only
by the trace machinery (or ``PyFrame_LocalsToFast``).
"""

from __future__ import annotations

import sys

LOCALS_WRITE_THROUGH = sys.version_info >= (3, 13)
"""``frame.f_locals`` writes through to the frame (PEP 667, 3.13+)."""
