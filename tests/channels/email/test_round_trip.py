"""The email round trip over real servers: a customer's mail client → our SMTP server → the inbox →
an agent's reply through the distribution service → an SMTP relay → the customer's IMAP mailbox,
threaded under the message it answers.
"""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cxloop.channels.email.smtp import make_controller
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from cxloop.messaging.models import OutboundMessage
from tests.channels.inbound_queue import drained
from tests.mailserver import free_port, mail_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def servers(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CXLOOP_QUIET_HOURS = "off"
    with mail_server(["ann"]) as isp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = isp.smtp_port
        settings.CXLOOP_EMAIL_FROM = "Fernhill care <care@shop.test>"
        ours = make_controller("127.0.0.1", free_port(), allowed=["care@shop.test"])
        ours.start()
        try:
            yield ours, isp
        finally:
            ours.stop()
            ours.handler.close()


def test_an_email_is_answered_and_the_reply_arrives_threaded_in_the_customers_mailbox(servers, alice, client):
    ours, isp = servers
    question = EmailMessage()
    question["From"] = "Ann Lee <ann@example.org>"
    question["To"] = "care@shop.test"
    question["Subject"] = "Card charged twice"
    question["Message-ID"] = make_msgid(domain="example.org")
    question.set_content("Hello, my card was charged twice for one coffee.")
    with smtplib.SMTP(ours.hostname, ours.port) as smtp:
        smtp.send_message(question)
    drained()  # the worker's step (CXLOOP_SMTP_PROCESSING "queued": 250 once kept, processed in batches)

    thread = Thread.objects.get()
    assert thread.customer.name == "Ann Lee"
    assert thread.status == ThreadStatus.OPEN
    # The agent finds it in the inbox and answers from the conversation page.
    client.force_login(alice.user)
    inbox = client.get("/inbox/")
    assert thread.public_id.encode() in inbox.content
    assert b"Ann Lee" in inbox.content
    page = client.get(f"/inbox/{thread.public_id}/")
    assert b"charged twice for one coffee" in page.content
    answered = client.post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "email", "reply-body": "Refunded today.", "reply-idempotency_key": "k-1"},
    )
    assert answered.status_code in (200, 302), answered.content[:500]
    message = OutboundMessage.objects.get()
    assert message.status == "sent", message.reason

    [raw] = isp.wait_for_messages("ann", 1)
    reply = email.message_from_bytes(raw, policy=email.policy.default)
    assert reply["Subject"] == "Re: Card charged twice"
    assert reply["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in reply["References"]
    assert reply["From"] == "Fernhill care <care@shop.test>"
    assert reply.get_body(("plain",)).get_content().strip() == "Refunded today."

    outbound = Interaction.objects.get(direction="outbound")
    assert outbound.thread == thread
    assert outbound.external_id == reply["Message-ID"].strip("<>")
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING

    # The customer answers the reply: it continues the same conversation and reopens it.
    answer = EmailMessage()
    answer["From"] = "ann@example.org"
    answer["To"] = "care@shop.test"
    answer["Subject"] = reply["Subject"]
    answer["Message-ID"] = make_msgid(domain="example.org")
    answer["In-Reply-To"] = reply["Message-ID"]
    answer.set_content("Thanks, I see it.")
    with smtplib.SMTP(ours.hostname, ours.port) as smtp:
        smtp.send_message(answer)
    drained()
    thread.refresh_from_db()
    assert thread.interactions.count() == 3
    assert thread.status == ThreadStatus.OPEN
