"""The compiler side of Edit and Continue: source text → :class:`Baseline` → :class:`Delta`.

Pure: nothing here touches a live object or imports the layers above. Given the baseline of
a module (its source, definition index and generation) and a new source, :func:`compute_delta`
says what changed as *semantic edits* the runtime can apply, *rude edits* it cannot apply
with their meaning intact (with a stable ``RLnnnn`` code each), line maps for running frames
and breakpoints, and the next baseline.
"""

from relive.delta.engine import compute_delta
from relive.delta.index import MODULE_PATH, Definition
from relive.delta.model import (
    Baseline,
    BaselineError,
    Delta,
    EditKind,
    EditTarget,
    GenerationMismatchError,
    LineMap,
    SemanticEdit,
)
from relive.delta.rude import RudeEdit, RudeEditKind
from relive.delta.source import SourceError
from relive.delta.units import compile_definition

__all__ = [
    "MODULE_PATH",
    "Baseline",
    "BaselineError",
    "Definition",
    "Delta",
    "EditKind",
    "EditTarget",
    "GenerationMismatchError",
    "LineMap",
    "RudeEdit",
    "RudeEditKind",
    "SemanticEdit",
    "SourceError",
    "compile_definition",
    "compute_delta",
]
