"""What the channels report back: delivery status in order, bounces, STOP/START replies; merges and export."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.channels.events import AddressBounced, DeliveryStatusReported, InboundReceived
from cxloop.customers import services as customer_services
from cxloop.events import bus
from cxloop.messaging import services
from cxloop.messaging.models import ConsentRecord, DeliveryEvent, OutboundMessage, Suppression
from cxloop.messaging.types import ConsentChange, SendRequest
from tests.messaging.conftest import make_customer


@pytest.fixture
def sent(alice, ann, senders, django_capture_on_commit_callbacks) -> OutboundMessage:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="sms", text="Hi"))
    message.refresh_from_db()
    assert message.status == "sent"
    return message


@pytest.fixture
def publish(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """publish(event): as a channel would, delivered to the subscribers on commit."""

    def _publish(event: bus.DomainEvent) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            bus.publish(event)

    return _publish


def report(message: OutboundMessage, state: str, **extra: str) -> DeliveryStatusReported:
    return DeliveryStatusReported(
        channel=message.channel,
        provider_message_id=message.provider_message_id,
        state=state,
        # After the send by default: a fixed moment would sort before the "sent" event once the day passed it.
        occurred_at=extra.get("occurred_at", (message.sent_at + timedelta(minutes=1)).isoformat()),
        error_code=extra.get("error_code", ""),
        error_message=extra.get("error_message", ""),
    )


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        (["delivered"], "delivered"),
        (["delivered", "read"], "read"),
        (["read", "delivered"], "read"),
        (["delivered", "sent"], "delivered"),
        (["failed"], "failed"),
        (["delivered", "failed"], "delivered"),
        (["queued"], "sent"),
        (["failed", "delivered"], "delivered"),
        (["nonsense"], "sent"),
    ],
)
def test_status_only_moves_forward(sent, publish, reports, final):
    for state in reports:
        publish(report(sent, state))

    sent.refresh_from_db()
    assert sent.status == final
    events = list(DeliveryEvent.objects.filter(message=sent).values_list("state", flat=True))
    assert events == ["queued", "sent", *reports]  # every report is kept, applied or not


def test_a_late_sent_is_kept_but_not_applied(sent, publish):
    publish(report(sent, "delivered"))
    publish(report(sent, "sent"))

    late = DeliveryEvent.objects.filter(message=sent).last()
    assert late is not None
    assert (late.state, late.applied, late.detail) == ("sent", False, "reported sent; status stays delivered")


def test_a_failure_after_sent_is_recorded_with_its_reason(sent, publish, received):
    publish(report(sent, "failed", error_code="30003", error_message="Unreachable destination handset"))

    sent.refresh_from_db()
    assert (sent.status, sent.reason_code, sent.reason) == ("failed", "30003", "Unreachable destination handset")
    assert "message.failed" in [e.name for e in received]


def test_delivered_and_read_publish_their_events(sent, publish, received):
    publish(report(sent, "delivered"))
    publish(report(sent, "read"))

    names = [e.name for e in received]
    assert names.count("message.delivered") == 1
    assert names.count("message.read") == 1


def test_a_report_for_an_unknown_message_changes_nothing(sent, publish):
    publish(DeliveryStatusReported("sms", "nobody-sent-this", "delivered", "", "", ""))

    sent.refresh_from_db()
    assert sent.status == "sent"
    assert DeliveryEvent.objects.filter(message=sent).count() == 2


def test_a_permanent_bounce_suppresses_the_address_and_fails_the_message(
    alice, ann, senders, publish, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="x"))
    message.refresh_from_db()

    publish(
        AddressBounced(
            inbound_id="inb_1",
            channel="email",
            addresses=("Ann@Example.com", "broken address"),
            permanent=True,
            reason="550 5.1.1 user unknown",
            original_message_id=message.provider_message_id,
        )
    )

    row = Suppression.objects.get()
    assert (row.channel, row.address, row.reason, row.source) == ("email", "ann@example.com", "hard_bounce", "bounce")
    message.refresh_from_db()
    assert (message.status, message.reason_code) == ("failed", "bounce")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="y"))
    assert again.status == "blocked"


def test_a_temporary_bounce_suppresses_nothing(ann, publish):
    publish(AddressBounced("inb_1", "email", ("ann@example.com",), False, "mailbox full", ""))

    assert Suppression.objects.count() == 0


def _keyword(customer, keyword: str, channel: str = "sms", address: str = "+447700900123") -> InboundReceived:  # type: ignore[no-untyped-def]
    return InboundReceived(
        inbound_id="inb_1",
        interaction_id="int_1",
        customer_id=customer.public_id,
        thread_id="thr_1",
        channel=channel,
        kind="message",
        address=address,
        keyword=keyword,
    )


def test_stop_suppresses_the_address_and_withdraws_marketing(ann, alice, publish):
    services.record_consents(alice.actor, ann, [ConsentChange("sms", "marketing", True)], source="staff")

    publish(_keyword(ann, "opt_out"))

    row = Suppression.objects.get()
    assert (row.channel, row.address, row.reason, row.source) == ("sms", "+447700900123", "keyword_stop", "keyword")
    assert services.consent_state(ann.pk, "sms", "marketing").allowed is False
    latest = ConsentRecord.objects.order_by("-id").first()
    assert latest is not None
    assert (latest.source, latest.granted) == ("keyword", False)


def test_start_lifts_only_the_keyword_suppression(ann, bob, publish):
    services.suppress_address(bob.actor, "whatsapp", "+447700900123", "complaint")
    publish(_keyword(ann, "opt_out", channel="whatsapp", address="447700900123"))
    assert Suppression.objects.filter(channel="whatsapp").count() == 2

    publish(_keyword(ann, "opt_in", channel="whatsapp", address="447700900123"))

    assert list(Suppression.objects.values_list("reason", flat=True)) == ["complaint"]


def test_ordinary_replies_change_nothing(ann, publish):
    publish(_keyword(ann, ""))

    assert Suppression.objects.count() == 0
    assert ConsentRecord.objects.count() == 0


def test_merge_moves_consents_and_messages_and_unmerge_restores_them(sent, ann, alice, bob):
    twin = make_customer("Ann Twin", email="twin@example.com")
    services.record_consents(alice.actor, twin, [ConsentChange("email", "marketing", True)], source="staff")

    merge = customer_services.merge_customers(bob.actor, ann, twin)

    assert services.consent_state(ann.pk, "email", "marketing").allowed is True
    assert OutboundMessage.objects.filter(customer=ann).count() == 1
    customer_services.unmerge(bob.actor, merge)
    assert services.consent_state(ann.pk, "email", "marketing").allowed is False
    assert services.consent_state(twin.pk, "email", "marketing").allowed is True


def test_the_personal_data_export_includes_consents_and_messages(sent, ann, alice, bob):
    services.record_consents(alice.actor, ann, [ConsentChange("email", "marketing", True)], source="staff")

    exported = customer_services.export_customer(bob.actor, ann)

    assert [c["channel"] for c in exported["messaging.consents"]] == ["email"]
    assert [m["id"] for m in exported["messaging.messages"]] == [sent.public_id]
