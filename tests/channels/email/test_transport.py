"""Email arrives over real protocols: the built-in SMTP server and IMAP polling of a Dovecot mailbox."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cxloop.channels.email.imap import MailboxConfig, poll_mailbox
from cxloop.channels.email.smtp import accepts, make_controller
from cxloop.channels.models import InboundMessage, InboundStatus, MailboxCursor
from cxloop.interactions.models import Interaction
from tests.channels.inbound_queue import drained
from tests.mailserver import PASSWORD, free_port, mail_server

pytestmark = pytest.mark.django_db(transaction=True)


def message(
    sender: str = "Ann Lee <ann@example.com>", subject: str = "Card charged twice", body: str = "Hello"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return msg


@pytest.fixture(params=["queued", "inline"])
def smtpd(request):
    """The server in both modes: queued answers 250 once the message is kept and the worker processes it
    (drained here as the worker does); inline processes it before the 250."""
    controller = make_controller(
        "127.0.0.1", free_port(), allowed=["support@shop.test", "@help.shop.test"], processing=request.param
    )
    controller.start()
    yield controller
    controller.stop()
    controller.handler.close()


def processed(smtpd) -> InboundMessage:
    """The one kept message, once processed: queued mode leaves it QUEUED until the worker's batch takes it."""
    inbound = InboundMessage.objects.get()
    if smtpd.handler.queued:
        assert inbound.status == InboundStatus.QUEUED
        drained()
        inbound.refresh_from_db()
    return inbound


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("support@shop.test", True),
        ("SUPPORT@Shop.Test", True),
        ("anyone@help.shop.test", True),
        ("sales@shop.test", False),
        ("support@shop.test.evil", False),
    ],
)
def test_only_configured_addresses_and_domains_are_ours(address, expected):
    assert accepts(address, ["support@shop.test", "@help.shop.test"]) is expected
    assert accepts(address, []) is True


def test_a_message_sent_over_smtp_is_kept_and_lands_on_the_senders_timeline(smtpd):
    msg = message()
    with smtplib.SMTP(smtpd.hostname, smtpd.port) as client:
        refused = client.send_message(msg)
        code, reply = client.noop()
    assert refused == {}
    inbound = processed(smtpd)
    assert inbound.source == "smtp"
    assert inbound.meta["rcpt_tos"] == ["support@shop.test"]
    assert inbound.meta["mail_from"] == "ann@example.com"
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    interaction = Interaction.objects.get()
    assert interaction.customer.identities.get().value == "ann@example.com"
    assert interaction.customer.name == "Ann Lee"
    assert interaction.external_id == msg["Message-ID"].strip("<>")
    assert interaction.thread.subject == "Card charged twice"


def test_queued_mail_is_processed_by_the_worker_woken_by_the_server(settings):
    """No explicit drain: the server's wake-up enqueues channels.process_received, which runs it (the immediate
    backend stands for the worker here)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    controller = make_controller("127.0.0.1", free_port(), allowed=[], processing="queued")
    controller.start()
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            client.send_message(message())
        controller.handler.close()
    finally:
        controller.stop()
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    assert Interaction.objects.get().customer.name == "Ann Lee"


def test_the_processing_mode_is_checked():
    with pytest.raises(ValueError, match="CXLOOP_SMTP_PROCESSING"):
        make_controller("127.0.0.1", free_port(), processing="later")


def test_mail_for_someone_else_is_refused_at_rcpt_time(smtpd):
    with (
        smtplib.SMTP(smtpd.hostname, smtpd.port) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.send_message(message(), to_addrs=["sales@shop.test"])
    assert refused.value.recipients["sales@shop.test"][0] == 550
    assert not InboundMessage.objects.exists()


def test_a_message_over_the_size_limit_is_refused_with_552(settings):
    settings.CXLOOP_INBOUND_MAX_BYTES = 10_000
    controller = make_controller("127.0.0.1", free_port(), allowed=[])
    controller.start()
    try:
        with (
            smtplib.SMTP(controller.hostname, controller.port) as client,
            pytest.raises(smtplib.SMTPException) as refused,
        ):
            client.send_message(message(body="x" * 20_000))
        assert "552" in str(refused.value) or getattr(refused.value, "smtp_code", 0) == 552
    finally:
        controller.stop()
    assert not InboundMessage.objects.exists()


def test_unparseable_mail_is_accepted_kept_and_quarantined_never_lost(smtpd):
    with smtplib.SMTP(smtpd.hostname, smtpd.port) as client:
        client.sendmail("x@example.com", ["support@shop.test"], b"this is not an email at all\r\n")
    inbound = processed(smtpd)
    assert inbound.status == InboundStatus.QUARANTINED
    assert inbound.reason
    assert not Interaction.objects.exists()


@pytest.fixture
def mailbox():
    with mail_server(["support", "ann"]) as server:
        yield server


def deliver(server, *messages: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as client:
        for msg in messages:
            client.send_message(msg, to_addrs=["support@mail.test"])


def config(server) -> MailboxConfig:
    return MailboxConfig(host="127.0.0.1", port=server.imap_port, username="support", password=PASSWORD, use_ssl=False)


def test_imap_polling_takes_each_message_exactly_once(mailbox):
    deliver(mailbox, message(subject="one"), message(subject="two", sender="bo@example.com"), message(subject="three"))
    mailbox.wait_for_messages("support", 3)
    first = poll_mailbox(config(mailbox))
    assert first.fetched == 3
    assert Interaction.objects.count() == 3
    assert poll_mailbox(config(mailbox)).fetched == 0

    deliver(mailbox, message(subject="four"))
    mailbox.wait_for_messages("support", 4)
    assert poll_mailbox(config(mailbox)).fetched == 1
    assert Interaction.objects.count() == 4
    assert set(InboundMessage.objects.values_list("source", flat=True)) == {f"imap:{config(mailbox).key}"}
    assert MailboxCursor.objects.get().last_uid == 4


def test_a_poll_with_a_limit_resumes_where_it_stopped(mailbox):
    deliver(mailbox, *(message(subject=f"m{i}") for i in range(5)))
    mailbox.wait_for_messages("support", 5)
    assert poll_mailbox(config(mailbox), limit=2).fetched == 2
    assert poll_mailbox(config(mailbox), limit=10).fetched == 3
    assert Interaction.objects.count() == 5


def test_a_changed_uidvalidity_reads_again_without_recording_twice(mailbox):
    deliver(mailbox, message(subject="one"), message(subject="two"))
    mailbox.wait_for_messages("support", 2)
    poll_mailbox(config(mailbox))
    MailboxCursor.objects.update(uidvalidity=1)  # as if the server had rebuilt the mailbox
    again = poll_mailbox(config(mailbox))
    assert again.reset is True
    assert again.fetched == 2
    assert again.duplicates == 2
    assert Interaction.objects.count() == 2
