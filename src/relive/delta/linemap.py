"""Line maps: where each old line went, tracked from the text the way an editor tracks lines.

Lines outside the changed block keep their place (shifted by the lines inserted or removed
above them). Inside the block, lines that are equal in both versions map to each other; a
run of old lines replaced by as many new lines maps line for line (an edited statement stays
where it was); a run replaced by a different number of lines pairs its lines by similarity,
in order, and the old lines left over map to None (deleted).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from relive.delta.source import ChangedLines

_PAIRING_LIMIT = 2500  # cells of the similarity table; larger runs pair by position


def block_map(old: Sequence[str], new: Sequence[str], ch: ChangedLines) -> dict[int, int | None]:
    """Old line → new line (or None) for the old lines of the changed block ``ch``."""
    a = old[ch.first - 1:ch.old_last]
    b = new[ch.first - 1:ch.new_last]
    out: dict[int, int | None] = {}
    base = ch.first
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                out[base + i1 + k] = base + j1 + k
        elif tag == "delete":
            for i in range(i1, i2):
                out[base + i] = None
        elif tag == "replace":
            for i, j in _pair_lines(a[i1:i2], b[j1:j2]).items():
                out[base + i1 + i] = None if j is None else base + j1 + j
    return out


def _pair_lines(a: Sequence[str], b: Sequence[str]) -> dict[int, int | None]:
    """Pair replaced lines: line for line when the counts agree, else by similarity."""
    if len(a) == len(b) or len(a) * len(b) > _PAIRING_LIMIT:
        return {i: (i if i < len(b) else None) for i in range(len(a))}
    # longest chain of similar pairs, in order (a small dynamic programme)
    n, m = len(a), len(b)
    sim = [[_similarity(x, y) for y in b] for x in a]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] >= 0.5 else -1.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    out: dict[int, int | None] = {}
    i = j = 0
    while i < n and j < m:
        if sim[i][j] >= 0.5 and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
            out[i] = j
            i += 1
            j += 1
        elif best[i][j] == best[i + 1][j]:
            out[i] = None
            i += 1
        else:
            j += 1
    for k in range(i, n):
        out[k] = None
    return out


def _similarity(x: str, y: str) -> float:
    x, y = x.strip(), y.strip()
    if x == y:
        return 1.0
    if not x or not y:
        return 0.0
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()


def restrict(block: dict[int, int | None], ch: ChangedLines | None, old_span: tuple[int, int],
             new_span: tuple[int, int]) -> dict[int, int | None]:
    """The file's line map restricted to one definition (targets outside it become None)."""
    out: dict[int, int | None] = {}
    lo, hi = new_span
    for line in range(old_span[0], old_span[1] + 1):
        target = map_line(block, ch, line)
        out[line] = target if target is not None and lo <= target <= hi else None
    return out


def map_line(block: dict[int, int | None], ch: ChangedLines | None, line: int) -> int | None:
    if ch is None or line < ch.first:
        return line
    if line > ch.old_last:
        return line + ch.shift
    return block.get(line)
