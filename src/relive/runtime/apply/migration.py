"""Existing instances of a class whose instance state changed: a dataclass whose fields
changed (RL1006), a plain class whose ``__init__`` sets new attributes (RL1009)."""

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


def migrate_plain_instances(cls: type) -> int:
    """Call ``__relive_migrate__(self, old_values)`` for each existing instance of ``cls`` and
    of its subclasses, once its ``__init__`` sets attributes that they lack; ``old_values`` is
    a copy of the instance's ``__dict__``. Returns how many instances it ran for.

    Nothing is done, and the heap is not scanned, when the class defines no
    ``__relive_migrate__``. The instances are the ones alive after the commit: an instance
    made meanwhile by the new ``__init__`` is passed too, so the method should only fill in
    what ``old_values`` lacks (``self.x = old_values.get("x", default)``).
    """
    if getattr(cls, "__relive_migrate__", None) is None:
        return 0
    classes: list[type] = [cls]
    for c in classes:  # grows while it is read: every subclass, at any depth
        subclasses: list[type] = type.__subclasses__(c)
        classes.extend(sub for sub in subclasses if sub not in classes)
    wanted = tuple(classes)
    count = 0
    for obj in gc.get_referrers(*classes):
        if type(obj) not in wanted:  # instances refer to their own class
            continue
        migrate = getattr(type(obj), "__relive_migrate__", None)
        if migrate is None:
            continue
        migrate(obj, dict(getattr(obj, "__dict__", {})))
        count += 1
    return count
