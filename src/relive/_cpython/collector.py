"""The garbage collector's generations, by version.

On 3.11 to 3.13 the collector has three generations, and a collection of generation 1 or 2
moves the survivors of the younger ones to the oldest: objects made since the last look are in
generations 0 and 1 unless a collection of the oldest ran. 3.14's collector is incremental:
survivors of a young collection go to an old space (``gc.get_objects(1)``) that increments move,
part at a time, to the space that has been visited (``gc.get_objects(2)``). A new object leaves
generations 0 and 1 after about as many allocations as on 3.13 (measured on 3.13, 3.14 and
3.15: a function made and kept, then 18,000 to 25,000 tracked objects made and kept before it
is in neither; 5,000 to 9,000 on 3.12), so the same generations are looked at.
"""

from __future__ import annotations

YOUNG_GENERATIONS: tuple[int, ...] | None = (0, 1)
"""The generations where objects made since the last look are (None: not known)."""
