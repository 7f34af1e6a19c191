"""Existing instances of a dataclass whose fields changed."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any


def migrate_instances(cls: type, old_fields: dict[str, Any],
                       new_fields: dict[str, Any]) -> None:
    """Give existing instances of a changed dataclass its new fields, or let the class's
    ``__relive_migrate__(self, old_values)`` carry their state over.

    The instances are found through the garbage collector (they refer to their class): this
    costs a scan of the heap, paid only when a dataclass's fields change.
    """
    added = [f for name, f in new_fields.items() if name not in old_fields]
    removed = [name for name in old_fields if name not in new_fields]
    migrate = getattr(cls, "__relive_migrate__", None)
    for obj in gc.get_referrers(cls):
        if not isinstance(obj, cls) or not hasattr(obj, "__dict__"):
            continue
        state = obj.__dict__
        old_values = {name: state[name] for name in old_fields if name in state}
        for f in added:
            if f.name in state:
                continue
            if f.default is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                object.__setattr__(obj, f.name, f.default_factory())
        for name in removed:
            state.pop(name, None)
        if migrate is not None:
            migrate(obj, old_values)
