"""The statements one inbound email costs, and that the cheaper paths keep every result the pipeline promises."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundMessage, InboundStatus
from cxloop.interactions.models import Interaction, Thread
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _mail(message_id: str, *, subject: str = "Card charged twice", in_reply_to: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    msg.set_content("Hello, my card was charged twice.")
    return msg.as_bytes()


def _receive(data: bytes) -> InboundMessage:
    return services.receive(RawPayload(channel="email", data=data, content_type="message/rfc822", source="test"))


def _words(queries: CaptureQueriesContext) -> list[str]:
    # An executemany is captured as "N times: UPDATE …"
    return [re.sub(r"^\d+ times: ", "", q["sql"]).split(None, 1)[0].upper() for q in queries.captured_queries]


def test_the_raw_record_is_one_insert_committed_on_its_own():
    with CaptureQueriesContext(connection) as queries:
        kept = services.keep_raw(RawPayload(channel="email", data=b"From: a@b.c\n\nhi", source="test"))

    assert _words(queries) == ["INSERT"]
    assert not connection.in_atomic_block
    assert InboundMessage.objects.get(pk=kept.pk).status == InboundStatus.RECEIVED
    assert services.read_raw(kept) == b"From: a@b.c\n\nhi"


def test_a_reply_from_a_known_customer_is_threaded_with_a_handful_of_statements():
    customer = CustomerFactory(name="Ann Lee")
    IdentityFactory(customer=customer, value="ann@example.com")
    first = _receive(_mail("first@example.com"))

    with CaptureQueriesContext(connection) as queries:
        reply = _receive(_mail("second@example.com", subject="Re: Card charged twice", in_reply_to="first@example.com"))

    assert reply.status == InboundStatus.PROCESSED
    assert reply.customer_ref == first.customer_ref == customer.public_id
    thread = Thread.objects.get()
    assert sorted(thread.interactions.values_list("external_id", flat=True)) == [
        "first@example.com",
        "second@example.com",
    ]
    assert thread.last_inbound_at == Interaction.objects.get(external_id="second@example.com").occurred_at
    words = _words(queries)
    # raw record; duplicate check, identity, customer, thread; interaction + audit; last seen, thread, the record;
    # after commit, case intake's one read (does this message start a conversation, or come back to a closed case?)
    assert words.count("SELECT") == 5
    assert words.count("INSERT") == 3
    assert words.count("UPDATE") == 3


def test_a_duplicate_points_at_what_the_first_delivery_recorded():
    data = _mail("once@example.com")
    first = _receive(data)

    again = _receive(data)

    assert again.status == InboundStatus.DUPLICATE
    assert again.interaction_refs == first.interaction_refs
    assert again.customer_ref == first.customer_ref
    assert InboundMessage.objects.get(pk=again.pk).interaction_refs == first.interaction_refs
    assert Interaction.objects.count() == 1
