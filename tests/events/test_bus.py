"""publish_all delivers as publish does, event by event: in order, and only once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from django.db import transaction

from cxloop.events import bus


@dataclass(frozen=True)
class Pinged(bus.DomainEvent):
    name: ClassVar[str] = "test.pinged"
    n: int


@pytest.fixture
def received():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("test.pinged", seen.append)
    yield seen
    bus.unsubscribe("test.pinged", seen.append)


def test_in_order_after_commit(db, received, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        bus.publish(Pinged(0))
        bus.publish_all([Pinged(1), Pinged(2)])
        bus.publish(Pinged(3))
        assert received == []

    # then
    assert [e.n for e in received] == [0, 1, 2, 3]  # type: ignore[attr-defined]


def test_nothing_from_a_rolled_back_savepoint(db, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bus.publish_all([Pinged(1)])
        with transaction.atomic():
            bus.publish_all([Pinged(2), Pinged(3)])
            transaction.set_rollback(True)

    assert [e.n for e in received] == [1]  # type: ignore[attr-defined]


def test_an_empty_list_registers_nothing(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        bus.publish_all([])

    assert callbacks == []
