"""A reply in a conversation goes back to the address the customer wrote from, not just any of theirs."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.core import mail

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.customers import services as customer_services
from cxloop.interactions.models import Thread
from cxloop.messaging import services
from cxloop.messaging.types import SendRequest
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def write_from(address: str) -> Thread:
    msg = EmailMessage()
    msg["From"] = address
    msg["To"] = "care@shop.test"
    msg["Subject"] = f"Question from {address}"
    msg["Message-ID"] = f"<{address}-1@example.com>"
    msg.set_content("Hello")
    channel_services.receive(RawPayload(channel="email", data=bytes(msg), source="test"))
    return Thread.objects.get(subject=f"Question from {address}")


def test_the_reply_goes_to_the_address_of_the_conversation(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ann = CustomerFactory(name="Ann")
    home = IdentityFactory(customer=ann, kind="email", value="ann@home.example.com")
    customer_services.set_identity_verified(alice.actor, home, True)
    IdentityFactory(customer=ann, kind="email", value="ann.lee@work.example.com")
    thread = write_from("ann.lee@work.example.com")
    assert thread.customer == ann

    services.send_message(
        alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Hi", thread_id=thread.public_id)
    )
    services.send_message(alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Hi"))
    assert [m.to for m in mail.outbox] == [["ann.lee@work.example.com"], ["ann@home.example.com"]]


def test_an_address_removed_since_falls_back_to_the_default(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ann = CustomerFactory(name="Ann")
    IdentityFactory(customer=ann, kind="email", value="ann@home.example.com")
    old = IdentityFactory(customer=ann, kind="email", value="ann@old.example.com")
    thread = write_from("ann@old.example.com")
    customer_services.remove_identity(alice.actor, old)
    services.send_message(
        alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Hi", thread_id=thread.public_id)
    )
    assert mail.outbox[0].to == ["ann@home.example.com"]
