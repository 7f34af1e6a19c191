"""Update handlers and observers: who hears about applies.

``relive.on_update(callback)`` registers an *update handler*: user or framework code called
after each apply that changed something (clear caches, re-render, migrate). Observers (the
front ends) also hear about refusals, and every other :data:`RuntimeEvent`. A handler that
raises does not undo the apply and does not stop the other handlers; its error is passed to the
observers. A handler that raises KeyboardInterrupt or SystemExit does not stop the others either:
the first such exception is raised again once all have run (a Ctrl-C still reaches the program).

Registering and calling take no lock: a list copy is one step for the interpreter, and a lock
held by a thread interrupted at the wrong moment would stop every later apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from relive.runtime.result import ApplyResult

if TYPE_CHECKING:
    from relive.runtime.enc.safety import EncFallbackNotice
    from relive.runtime.remap.events import RemapEvent

Handler = Callable[[ApplyResult], Any]


@dataclass(frozen=True)
class HandlerError:
    """An update handler raised."""

    handler: str
    result: ApplyResult
    error: BaseException


RuntimeEvent: TypeAlias = (
    "ApplyResult | HandlerError | EncFallbackNotice | RemapEvent")
"""Everything observers hear: an apply's result (applied or refused), an update handler's
error, a saved file that could not be read, a module compiled plainly in EnC mode, and what
happened to a running frame (:mod:`relive.runtime.remap.events`)."""

Observer = Callable[[RuntimeEvent], Any]

_handlers: list[Handler] = []
_observers: list[Observer] = []


def on_update(callback: Handler) -> Callable[[], None]:
    """Call ``callback(result)`` after every apply that took effect; returns an unsubscribe."""
    return _subscribe(_handlers, callback)


def observe(callback: Observer) -> Callable[[], None]:
    """Hear about every :data:`RuntimeEvent`."""
    return _subscribe(_observers, callback)


def _subscribe(callbacks: list[Any], callback: Any) -> Callable[[], None]:
    callbacks.append(callback)

    def unsubscribe() -> None:
        try:
            callbacks.remove(callback)
        except ValueError:
            pass

    return unsubscribe


def notify_observers(event: RuntimeEvent) -> None:
    for observer in list(_observers):
        try:
            observer(event)
        except Exception:
            continue


def emit(result: ApplyResult) -> None:
    """Tell handlers (when the apply took effect) and observers about ``result``."""
    errors: list[HandlerError] = []
    stop: BaseException | None = None
    if result.applied:
        for handler in list(_handlers):
            try:
                handler(result)
            except Exception as exc:
                errors.append(HandlerError(getattr(handler, "__qualname__", repr(handler)),
                                           result, exc))
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: after the others
                if stop is None:
                    stop = exc
    notify_observers(result)
    for error in errors:
        notify_observers(error)
    if stop is not None:
        raise stop
