"""Every way an interaction is recorded keeps the inbox state: who spoke last, open or waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.customers.types import IdentityInput
from cxloop.interactions import services
from cxloop.interactions.models import Thread, ThreadStatus
from cxloop.interactions.types import InboundItem, InteractionInput

pytestmark = pytest.mark.django_db


def item(direction: str, minutes_ago: int, *, kind: str = "message") -> InboundItem:
    return InboundItem(
        identities=[IdentityInput(kind="email", value="ann@example.com")],
        interaction=InteractionInput(
            channel="email",
            direction=direction,
            occurred_at=clock.now() - timedelta(minutes=minutes_ago),
            body=f"{direction} {minutes_ago}",
            thread_ref="conv-1",
            metadata={"kind": kind},
        ),
    )


@pytest.mark.parametrize("path", ["batch", "single"])
def test_a_customer_message_opens_and_our_answer_waits(system, path):
    def ingest(*items: InboundItem) -> None:
        if path == "batch":
            assert services.ingest_batch(system, list(items)).failed == 0
        else:
            for i in items:
                services.ingest_interaction(system, i.identities, i.interaction)

    ingest(item("inbound", 30))
    thread = Thread.objects.get()
    assert thread.status == ThreadStatus.OPEN
    assert thread.last_inbound_at is not None
    assert thread.last_outbound_at is None

    ingest(item("outbound", 20))
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING
    assert thread.last_outbound_at > thread.last_inbound_at

    ingest(item("inbound", 10, kind="auto_reply"))
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING  # an out-of-office does not reopen it

    ingest(item("inbound", 5))
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.OPEN


def test_a_batch_holding_both_sides_ends_in_the_state_of_the_newest(system):
    services.ingest_batch(system, [item("outbound", 5), item("inbound", 30)])
    assert Thread.objects.get().status == ThreadStatus.WAITING


def test_answered_conversations_left_silent_are_closed_and_reopen_when_the_customer_writes(system, settings):
    from cxloop.interactions.tasks import close_waiting_conversations
    from cxloop.privacy.models import AuditEntry

    settings.CXLOOP_AUTO_CLOSE_WAITING_DAYS = 7
    services.ingest_batch(system, [item("inbound", 60 * 24 * 10), item("outbound", 60 * 24 * 9)])
    fresh = item("inbound", 60)
    fresh.interaction.thread_ref = "conv-2"
    services.ingest_batch(system, [fresh])
    assert close_waiting_conversations.call() == 1
    old = Thread.objects.get(external_ref="conv-1")
    assert old.status == ThreadStatus.CLOSED
    assert Thread.objects.get(external_ref="conv-2").status == ThreadStatus.OPEN
    assert AuditEntry.objects.get(action="conversation.auto_closed").after["ids"] == [old.public_id]

    services.ingest_batch(system, [item("inbound", 1)])
    assert Thread.objects.get(external_ref="conv-1").status == ThreadStatus.OPEN

    settings.CXLOOP_AUTO_CLOSE_WAITING_DAYS = 0
    assert close_waiting_conversations.call() == 0
