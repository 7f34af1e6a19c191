"""Update handlers and observers: who hears about applies.

``relive.on_update(callback)`` registers an *update handler*: user or framework code called
after each apply that changed something (clear caches, re-render, migrate). Observers (the
front ends) also hear about refusals. A handler that raises does not undo the apply and does
not stop the other handlers; its error is passed to the observers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relive.runtime.result import ApplyResult

Handler = Callable[[ApplyResult], Any]


@dataclass(frozen=True)
class HandlerError:
    """An update handler raised."""

    handler: str
    result: ApplyResult
    error: BaseException


_lock = threading.Lock()
_handlers: list[Handler] = []
_observers: list[Callable[[object], Any]] = []


def on_update(callback: Handler) -> Callable[[], None]:
    """Call ``callback(result)`` after every apply that took effect; returns an unsubscribe."""
    with _lock:
        _handlers.append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _handlers:
                _handlers.remove(callback)

    return unsubscribe


def observe(callback: Callable[[object], Any]) -> Callable[[], None]:
    """Hear about every apply result (applied or refused) and handler error."""
    with _lock:
        _observers.append(callback)

    def unsubscribe() -> None:
        with _lock:
            if callback in _observers:
                _observers.remove(callback)

    return unsubscribe


def notify_observers(event: object) -> None:
    with _lock:
        observers = list(_observers)
    for observer in observers:
        try:
            observer(event)
        except Exception:
            continue


def emit(result: ApplyResult) -> None:
    """Tell handlers (when the apply took effect) and observers about ``result``."""
    errors: list[HandlerError] = []
    if result.applied:
        with _lock:
            handlers = list(_handlers)
        for handler in handlers:
            try:
                handler(result)
            except Exception as exc:
                errors.append(HandlerError(getattr(handler, "__qualname__", repr(handler)),
                                           result, exc))
    notify_observers(result)
    for error in errors:
        notify_observers(error)
