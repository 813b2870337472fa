"""send_message and dispatch: addresses, free text, the timeline, idempotency, retries and backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import services, tasks
from cxloop.messaging.models import DeliveryEvent, OutboundMessage
from cxloop.messaging.types import SendRequest
from cxloop.privacy.models import AuditEntry
from tests.messaging.conftest import make_customer


@pytest.fixture
def send(alice, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """send(**request fields) as alice, running what is enqueued on commit (dispatch) at once."""

    def _send(actor=None, **fields):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            message = services.send_message(actor or alice.actor, SendRequest(**fields))
        message.refresh_from_db()
        return message

    return _send


def test_free_text_service_message_is_sent_and_put_on_the_timeline(send, senders, ann, received, alice):
    message = send(customer_id=ann.public_id, channel="email", text="Your order has shipped.", subject="Shipped")

    assert (message.status, message.attempts, message.to_address) == ("sent", 1, "ann@example.com")
    [payload] = senders["email"].sent
    assert (payload.message_ref, payload.to, payload.subject, payload.text, payload.purpose) == (
        message.public_id,
        "ann@example.com",
        "Shipped",
        "Your order has shipped.",
        "service",
    )
    assert payload.unsubscribe_url == ""
    assert message.provider_message_id == f"prov-{message.public_id}"
    interaction = Interaction.objects.get(public_id=message.interaction_ref)
    assert (interaction.direction, interaction.channel, interaction.external_id, interaction.body) == (
        "outbound",
        "email",
        message.provider_message_id,
        "Your order has shipped.",
    )
    assert interaction.metadata["message"] == message.public_id
    assert interaction.created_by == alice.user
    assert [e.state for e in DeliveryEvent.objects.filter(message=message)] == ["queued", "sent"]
    actions = list(AuditEntry.objects.filter(object_id=ann.public_id).values_list("action", flat=True))
    assert {"message.queued", "message.sent", "interaction.recorded"} <= set(actions)
    names = [e.name for e in received]
    assert names.index("message.queued") < names.index("message.sent")


@pytest.mark.parametrize(
    ("channel", "identities", "expected"),
    [
        ("sms", [("phone", "+447700900123")], "+447700900123"),
        ("whatsapp", [("phone", "+447700900123")], "+447700900123"),
        ("whatsapp", [("phone", "+447700900123"), ("whatsapp", "447700900456")], "+447700900456"),
    ],
)
def test_default_address_per_channel(send, senders, db, channel, identities, expected):
    customer = customer_services.create_customer(
        services.preference_centre_actor(),  # any actor allowed to edit customers
        CustomerInput(name="Bo", country="GB", identities=[IdentityInput(kind=k, value=v) for k, v in identities]),
    )

    message = send(customer_id=customer.public_id, channel=channel, text="Hi")

    assert message.to_address == expected
    assert senders[channel].sent[0].to == expected


def test_an_explicit_to_must_be_one_of_the_customers_identities(send, senders, ann):
    other = make_customer("Eve", email="eve@example.com")

    with pytest.raises(ValidationError) as refused:
        send(customer_id=ann.public_id, channel="email", text="Hi", to="eve@example.com")

    assert refused.value.fields == {"to": "not one of this customer's identities"}
    assert OutboundMessage.objects.count() == 0
    assert other.pk is not None
    assert senders.all_sent() == []


def test_an_explicit_to_in_another_spelling_is_accepted(send, senders, ann):
    message = send(customer_id=ann.public_id, channel="sms", text="Hi", to="07700 900123")

    assert message.to_address == "+447700900123"


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({"channel": "pigeon", "text": "x"}, {"channel": "must be one of email, sms, whatsapp, social, chat"}),
        ({"channel": "email"}, {"template": "give either a template or a text"}),
        ({"channel": "email", "text": "x", "template": "welcome"}, {"text": "give either a template or a text"}),
        ({"channel": "sms", "text": "x", "html": "<p>x</p>"}, {"html": "only email has an HTML body"}),
        ({"channel": "email", "text": "x", "purpose": "spam"}, {"purpose": "must be service or marketing"}),
        ({"channel": "social", "text": "x"}, {"channel": "not sendable"}),
    ],
)
def test_bad_requests_are_refused_with_the_field(send, senders, ann, fields, reasons):
    with pytest.raises(ValidationError) as refused:
        send(customer_id=ann.public_id, **fields)

    assert refused.value.fields == reasons
    assert OutboundMessage.objects.count() == 0


def test_a_customer_without_an_address_on_the_channel_is_a_422(send, senders, db):
    customer = make_customer("No Phone", email="np@example.com")

    with pytest.raises(ValidationError) as refused:
        send(customer_id=customer.public_id, channel="sms", text="Hi")

    assert refused.value.fields == {"to": "the customer has no phone identity"}


def test_unknown_and_merged_customers_are_refused(send, senders, bob, ann):
    with pytest.raises(NotFoundError):
        send(customer_id="cus_nothere", channel="email", text="Hi")
    twin = make_customer("Ann S", email="ann.s@example.com")
    customer_services.merge_customers(bob.actor, ann, twin)

    with pytest.raises(ValidationError) as refused:
        send(customer_id=twin.public_id, channel="email", text="Hi")

    assert refused.value.fields == {"customer": f"merged into {ann.public_id}; send there"}


def test_an_analyst_cannot_send(send, senders, charlie, ann):
    with pytest.raises(PermissionDeniedError):
        send(charlie.actor, customer_id=ann.public_id, channel="email", text="Hi")

    assert OutboundMessage.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="message.").exists()


# --- idempotency -----------------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_same_message(send, senders, ann):
    first = send(customer_id=ann.public_id, channel="email", text="Hi", idempotency_key="k-1")
    again = send(customer_id=ann.public_id, channel="email", text="Hi", idempotency_key="k-1")

    assert again.pk == first.pk
    assert OutboundMessage.objects.count() == 1
    assert len(senders["email"].sent) == 1


def test_keys_are_per_actor_and_a_reused_key_with_other_content_is_refused(send, senders, ann, bob):
    mine = send(customer_id=ann.public_id, channel="email", text="Hi", idempotency_key="k-1")
    theirs = send(bob.actor, customer_id=ann.public_id, channel="email", text="Hi", idempotency_key="k-1")

    with pytest.raises(ValidationError) as refused:
        send(customer_id=ann.public_id, channel="email", text="Different", idempotency_key="k-1")

    assert mine.pk != theirs.pk
    assert refused.value.code == "idempotency_key_reused"
    assert refused.value.fields == {"idempotency_key": "already used for a different message"}


# --- dispatch: claiming, retries, backoff --------------------------------------------------------------------


def test_a_sent_message_is_never_sent_twice(send, senders, ann):
    message = send(customer_id=ann.public_id, channel="email", text="Hi")

    again = services.dispatch(message.pk)
    tasks.dispatch_message.enqueue(message.pk)

    assert again == "skipped"
    assert len(senders["email"].sent) == 1


def test_a_claimed_message_is_not_claimed_again(senders, ann, alice):
    message = services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Hi"))
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending")  # another worker holds it

    assert services.dispatch(message.pk) == "skipped"
    assert senders["email"].sent == []


def test_transient_failures_retry_with_exponential_backoff_then_fail(
    send, senders, ann, frozen, received, django_capture_on_commit_callbacks
):
    # given: a provider that never accepts it
    senders["email"].fail(times=5)
    start = clock.now()
    frozen(start)
    message = send(customer_id=ann.public_id, channel="email", text="Hi")
    waits = []

    # when: each retry runs when due
    while message.status == "queued":
        waits.append(message.next_attempt_at - start)
        assert services.dispatch(message.pk) == "skipped"  # not due yet
        start = message.next_attempt_at
        frozen(start)
        assert message.pk in services.due_message_ids()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.dispatch_due_messages.enqueue()
        message.refresh_from_db()

    # then
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25), timedelta(minutes=125)]
    assert (message.status, message.attempts, message.reason) == ("failed", 5, "provider unreachable")
    assert len(senders["email"].sent) == 5
    states = list(DeliveryEvent.objects.filter(message=message).values_list("state", flat=True))
    assert states == ["queued", "retry", "retry", "retry", "retry", "failed"]
    assert [e.name for e in received].count("message.failed") == 1
    assert not Interaction.objects.filter(customer=ann).exists()


def test_a_retry_that_succeeds_is_sent(send, senders, ann, frozen):
    senders["email"].fail()
    now = clock.now()
    frozen(now)
    message = send(customer_id=ann.public_id, channel="email", text="Hi")
    assert (message.status, message.attempts) == ("queued", 1)

    frozen(now + timedelta(minutes=1))
    services.dispatch(message.pk)
    message.refresh_from_db()

    assert (message.status, message.attempts, message.next_attempt_at, message.reason) == ("sent", 2, None, "")


def test_a_permanent_failure_is_not_retried(send, senders, ann):
    senders["email"].fail("mailbox does not exist", permanent=True)

    message = send(customer_id=ann.public_id, channel="email", text="Hi")

    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 1, None)
    assert message.reason == "mailbox does not exist"
    assert services.due_message_ids() == []


def test_a_sender_that_crashes_is_retried_not_lost(send, senders, ann):
    senders["email"].outcomes.append(RuntimeError("bug"))

    message = send(customer_id=ann.public_id, channel="email", text="Hi")

    assert (message.status, message.reason_code) == ("queued", "sender_error")
    assert message.next_attempt_at is not None


def test_a_queued_message_whose_task_was_lost_is_picked_up(senders, ann, alice, frozen):
    message = services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Hi"))
    assert services.due_message_ids() == []  # its task is presumably on its way

    frozen(clock.now() + timedelta(minutes=6))

    assert services.due_message_ids() == [message.pk]


# --- threads ------------------------------------------------------------------------------------------------------


def test_a_reply_in_a_thread_carries_the_conversation_and_threads_on_the_timeline(send, senders, ann, system):
    inbound = interaction_services.record_interaction(
        system,
        ann,
        InteractionInput(
            channel="email",
            direction="inbound",
            body="Where is my order?",
            subject="Order 12",
            thread_ref="<first@example.com>",
            external_id="<first@example.com>",
        ),
    )

    message = send(customer_id=ann.public_id, channel="email", text="On its way.", thread_id=inbound.thread.public_id)

    [payload] = senders["email"].sent
    assert payload.thread.in_reply_to == "<first@example.com>"
    assert payload.thread.references == ("<first@example.com>",)
    assert payload.subject == "Re: Order 12"
    reply = Interaction.objects.get(public_id=message.interaction_ref)
    assert reply.thread_id == inbound.thread_id


def test_a_thread_of_another_customer_is_refused(send, senders, ann, system):
    other = make_customer("Eve", email="eve@example.com")
    theirs = interaction_services.record_interaction(
        system, other, InteractionInput(channel="email", direction="inbound", body="x", thread_ref="t-1")
    )

    with pytest.raises(ValidationError) as refused:
        send(customer_id=ann.public_id, channel="email", text="Hi", thread_id=theirs.thread.public_id)

    assert refused.value.fields == {"thread_id": "not a thread of this customer"}


def test_social_and_chat_messages_go_to_the_customers_handle_and_session(send, senders, db, monkeypatch):
    from cxloop.channels import registry
    from tests.messaging.conftest import RecordingSender

    for channel in ("social", "chat"):
        senders[channel] = RecordingSender(channel)
        monkeypatch.setitem(registry._senders, channel, senders[channel])
    customer = customer_services.create_customer(
        services.preference_centre_actor(),
        CustomerInput(
            name="Sam",
            identities=[
                IdentityInput(kind="social", network="instagram", value="@Sam.Shop"),
                IdentityInput(kind="anonymous", value="visitor-42"),
            ],
        ),
    )

    social = send(customer_id=customer.public_id, channel="social", text="Thanks!")
    explicit = send(customer_id=customer.public_id, channel="social", text="Again", to="Instagram:@SAM.shop")
    chat = send(customer_id=customer.public_id, channel="chat", text="Hello")

    assert (social.to_address, explicit.to_address, chat.to_address) == ("instagram:sam.shop",) * 2 + ("visitor-42",)
    assert senders["social"].sent[0].to == "instagram:sam.shop"
