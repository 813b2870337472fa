"""The in-process domain-event bus.

Services publish past-tense events; they are delivered only after the surrounding transaction commits,
so no subscriber ever reacts to a change that was rolled back. Subscribers must be quick and must not
raise into the publisher: slow work belongs in a task that the subscriber enqueues.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event. Subclasses set `name` (noun.verb, e.g. "customer.merged")."""

    name: ClassVar[str] = "event"

    def payload(self) -> dict[str, Any]:
        return asdict(self)


Handler = Callable[[DomainEvent], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_name: str, handler: Handler) -> None:
    """Register `handler` for `event_name`, or for every event with "*"."""
    if handler not in _subscribers[event_name]:
        _subscribers[event_name].append(handler)


def unsubscribe(event_name: str, handler: Handler) -> None:
    if handler in _subscribers[event_name]:
        _subscribers[event_name].remove(handler)


def _deliver(event: DomainEvent) -> None:
    for handler in [*_subscribers.get(event.name, []), *_subscribers.get("*", [])]:
        try:
            handler(event)
        except Exception:
            logger.exception("event handler %r failed for %s", handler, event.name)


def publish(event: DomainEvent) -> None:
    """Deliver `event` once the current transaction commits (at once when none is open)."""
    transaction.on_commit(lambda: _deliver(event))


def publish_all(events: Sequence[DomainEvent]) -> None:
    """Deliver `events`, in order, once the current transaction commits: as publish() on each, with one
    on_commit callback for all of them (a batch service publishes thousands; each callback costs)."""
    pending = list(events)

    def deliver_all() -> None:
        for event in pending:
            _deliver(event)

    if pending:
        transaction.on_commit(deliver_all)
