"""dispatch_batch: many messages per task and per SMTP session, each with its own outcome, claimed once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, connections

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, SendFailed, SendOutcome
from cxloop.channels.email.sender import EmailSender
from cxloop.core.actor import Actor
from cxloop.interactions.models import Interaction
from cxloop.messaging import services, tasks
from cxloop.messaging.models import DeliveryEvent, OutboundMessage
from cxloop.messaging.services import dispatching
from cxloop.messaging.types import ConsentChange, SendRequest
from cxloop.privacy.models import AuditEntry
from tests.mailserver import free_port
from tests.messaging.conftest import make_customer


def queued(email: str, text: str = "Hi") -> OutboundMessage:
    """A stored message whose dispatch task has not run (the test's transaction never commits)."""
    customer = make_customer(name=email.split("@")[0].title(), email=email)
    message = services.send_message(
        Actor.system("test"), SendRequest(customer_id=customer.public_id, channel="email", text=text)
    )
    assert message.status == "queued"
    return message


def statuses(*messages: OutboundMessage) -> list[str]:
    return [OutboundMessage.objects.get(pk=m.pk).status for m in messages]


def test_a_batch_sends_each_due_message_once_with_its_own_outcome(
    db, senders, received, django_capture_on_commit_callbacks
):
    # given: five queued messages, the provider refusing the second (transient) and the third (permanent)
    ok_1, transient, permanent, ok_2 = (queued(f"{name}@example.com") for name in ("ann", "bea", "cy", "dan"))
    senders["email"].outcomes += [
        SendOutcome(provider_message_id="p-1"),
        SendFailed("try later", code="451"),
        SendFailed("no such user", permanent=True, code="550"),
    ]
    already = queued("eve@example.com")
    OutboundMessage.objects.filter(pk=already.pk).update(status="sent")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.dispatch_batch([ok_1.pk, transient.pk, permanent.pk, ok_2.pk, already.pk])

    # then: the refusals fail only their own messages
    assert counts == {"sent": 2, "queued": 1, "failed": 1, "skipped": 1}
    assert statuses(ok_1, transient, permanent, ok_2, already) == ["sent", "queued", "failed", "sent", "sent"]
    assert [p.to for p in senders["email"].sent] == [f"{n}@example.com" for n in ("ann", "bea", "cy", "dan")]
    for message in (ok_1, ok_2):
        message.refresh_from_db()
        interaction = Interaction.objects.get(public_id=message.interaction_ref)
        assert (interaction.direction, interaction.customer_id) == ("outbound", message.customer_id)
        assert list(DeliveryEvent.objects.filter(message=message).values_list("state", flat=True)) == [
            "queued",
            "sent",
        ]
        assert AuditEntry.objects.filter(action="message.sent", after__message=message.public_id).count() == 1
    assert [e.message_id for e in received if e.name == "message.sent"] == [ok_1.public_id, ok_2.public_id]
    assert [e.message_id for e in received if e.name == "message.failed"] == [permanent.public_id]
    transient.refresh_from_db()
    assert (transient.attempts, transient.reason_code) == (1, "451")


def test_a_message_blocked_since_it_was_queued_is_not_sent(
    db, senders, received, alice, django_capture_on_commit_callbacks
):
    # given: two queued messages, then one address is suppressed and the other customer opts out of service
    kept, suppressed, opted_out = queued("ann@example.com"), queued("bea@example.com"), queued("cy@example.com")
    services.suppress_address(Actor.system("test"), "email", "BEA@example.com", "complaint")
    services.record_consents(
        alice.actor,
        opted_out.customer,
        [ConsentChange(channel="*", purpose="service", granted=False)],
        source="staff",
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.dispatch_batch([kept.pk, suppressed.pk, opted_out.pk])

    # then
    assert counts == {"sent": 1, "blocked": 2}
    assert [p.to for p in senders["email"].sent] == ["ann@example.com"]
    suppressed.refresh_from_db()
    opted_out.refresh_from_db()
    assert (suppressed.status, suppressed.reason_code) == ("blocked", "suppressed")
    assert (opted_out.status, opted_out.reason_code) == ("blocked", "opted_out")
    blocked = [e.message_id for e in received if e.name == "message.blocked"]
    assert blocked == [suppressed.public_id, opted_out.public_id]


class BatchRecorder:
    """A sender with send_many: records each call's payloads, refuses the addresses it is told to."""

    channel = "email"

    def __init__(self, refuse: set[str]) -> None:
        self.calls: list[list[str]] = []
        self.refuse = refuse

    def send(self, payload: OutboundPayload) -> SendOutcome:
        raise AssertionError("a batch sender is given the whole batch")

    def send_many(self, payloads: list[OutboundPayload]) -> list[SendOutcome | SendFailed]:
        self.calls.append([p.to for p in payloads])
        return [
            SendFailed("refused", permanent=True, code="550")
            if p.to in self.refuse
            else SendOutcome(provider_message_id=f"id-{p.message_ref}")
            for p in payloads
        ]


def test_a_batch_sender_gets_each_chunk_in_one_call(db, monkeypatch):
    monkeypatch.setattr(dispatching, "BATCH_SIZE", 3)
    sender = BatchRecorder(refuse={"m3@example.com"})
    monkeypatch.setitem(registry._senders, "email", sender)
    messages = [queued(f"m{n}@example.com") for n in range(5)]

    counts = services.dispatch_batch([m.pk for m in messages])

    assert sender.calls == [[f"m{n}@example.com" for n in range(3)], ["m3@example.com", "m4@example.com"]]
    assert counts == {"sent": 4, "failed": 1}
    assert statuses(*messages) == ["sent", "sent", "sent", "failed", "sent"]


def test_the_claim_without_returning_behaves_the_same(db, senders, monkeypatch):
    monkeypatch.setattr(dispatching, "_returning_supported", lambda connection: False)
    first, second = queued("ann@example.com"), queued("bea@example.com")
    OutboundMessage.objects.filter(pk=second.pk).update(status="sending")  # another worker holds it

    assert services.dispatch_batch([first.pk, second.pk]) == {"sent": 1, "skipped": 1}
    assert services.dispatch(first.pk) == "skipped"
    assert [p.to for p in senders["email"].sent] == ["ann@example.com"]


def test_due_messages_are_dispatched_in_batches(db, senders, monkeypatch, frozen):
    from django.utils import timezone

    monkeypatch.setattr(dispatching, "BATCH_SIZE", 2)
    messages = [queued(f"m{n}@example.com") for n in range(3)]
    batches: list[list[int]] = []
    real = dispatching.dispatch_batch
    monkeypatch.setattr(dispatching, "dispatch_batch", lambda ids: batches.append(list(ids)) or real(ids))
    frozen(timezone.now() + dispatching.LOST_TASK_AFTER * 2)  # their tasks were lost

    assert tasks.dispatch_due_messages.enqueue().return_value == 3

    assert batches == [[messages[0].pk, messages[1].pk], [messages[2].pk]]
    assert statuses(*messages) == ["sent", "sent", "sent"]


# --- over real SMTP ---------------------------------------------------------------------------------------------
@dataclass
class Sink:
    """Accepts everything but the refused recipients (550); counts sessions and messages."""

    refused: set[str]
    sessions: int = 0
    received: list[str] = field(default_factory=list)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> Any:  # noqa: N802
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def sink(settings) -> Iterator[Sink]:  # type: ignore[no-untyped-def]
    handler = Sink(refused={"gone@example.com"})
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        yield handler
    finally:
        controller.stop()


def test_one_smtp_session_carries_the_batch_and_a_refused_recipient_fails_alone(db, sink, monkeypatch):
    monkeypatch.setitem(registry._senders, "email", EmailSender())
    messages = [queued(address) for address in ("ann@example.com", "gone@example.com", "bea@example.com")]

    counts = services.dispatch_batch([m.pk for m in messages])

    assert counts == {"sent": 2, "failed": 1}
    assert statuses(*messages) == ["sent", "failed", "sent"]
    assert sink.received == ["ann@example.com", "bea@example.com"]
    assert sink.sessions == 1
    refused = OutboundMessage.objects.get(pk=messages[1].pk)
    assert "refused the recipient" in refused.reason


def test_a_lost_smtp_server_fails_the_rest_for_a_retry(db, settings, monkeypatch):
    monkeypatch.setitem(registry._senders, "email", EmailSender())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    messages = [queued(address) for address in ("ann@example.com", "bea@example.com")]

    assert services.dispatch_batch([m.pk for m in messages]) == {"queued": 2}

    for message in messages:
        message.refresh_from_db()
        assert (message.attempts, message.next_attempt_at is not None) == (1, True)
        assert "could not be reached" in message.reason


@pytest.mark.django_db(transaction=True)
def test_concurrent_batch_dispatchers_never_send_a_message_twice(senders, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the claim is exercised by the sequential tests there")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # their own tasks do not run
    messages = [queued(f"m{n}@example.com") for n in range(40)]
    ids = [m.pk for m in messages]
    senders["email"].sent.clear()
    start = threading.Barrier(4, timeout=10)
    results: list[dict[str, int]] = []

    def worker(order: list[int]) -> None:
        try:
            start.wait()
            results.append(dispatching.dispatch_batch(order))
        finally:
            connections.close_all()

    orders = [ids, ids[::-1], ids[10:] + ids[:10], ids[::2] + ids[1::2]]
    threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    sent_to = [p.to for p in senders["email"].sent]
    assert sorted(sent_to) == sorted(f"m{n}@example.com" for n in range(40))  # each exactly once
    assert sum(r.get("sent", 0) for r in results) == 40
    assert sum(r.get("skipped", 0) for r in results) == 3 * 40
    assert statuses(*messages) == ["sent"] * 40
