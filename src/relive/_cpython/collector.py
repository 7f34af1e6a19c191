"""The garbage collector's generations, by version.

On 3.11 to 3.13 the collector has three generations, and a collection of generation 1 or 2
moves the survivors of the younger ones to the oldest: objects made since the last look are in
generations 0 and 1 unless a collection of the oldest ran. 3.14's collector is incremental,
and which objects an increment moves is not known from outside: every look is at the whole heap.
"""

from __future__ import annotations

import sys

YOUNG_GENERATIONS: tuple[int, ...] | None = (0, 1) if sys.version_info < (3, 14) else None
"""The generations where objects made since the last look are (None: not known)."""
