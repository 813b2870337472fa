"""Inbound email through the whole pipeline: threading, auto-replies, bounces, attachments, safe HTML.

Every corpus message (tests/channels/email/corpus, real-world shapes including broken ones) must end
processed or quarantined with a reason — never lost, never an exception.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.events import bus
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from tests.customers.factories import CustomerFactory, IdentityFactory

CORPUS = Path(__file__).parent / "corpus"
pytestmark = pytest.mark.django_db(transaction=True)


def receive(data: bytes) -> InboundMessage:
    return services.receive(RawPayload(channel="email", data=data, content_type="message/rfc822", source="test"))


def mail(
    *,
    sender: str = "Ann Lee <ann@example.com>",
    subject: str = "Card charged twice",
    body: str = "Hello, my card was charged twice.",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg_id = make_msgid(domain="example.com")
    msg["Message-ID"] = msg_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg), msg_id.strip("<>")


@pytest.fixture
def events():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.stem)
def test_every_corpus_message_is_processed_or_quarantined_with_a_reason(path):
    inbound = receive(path.read_bytes())
    assert inbound.status in (InboundStatus.PROCESSED, InboundStatus.QUARANTINED)
    if inbound.status == InboundStatus.QUARANTINED:
        assert inbound.reason
        assert not inbound.interaction_refs
    assert services.read_raw(inbound) == path.read_bytes()


@pytest.mark.parametrize("name", ["garbage", "empty", "missing_from"])
def test_what_is_not_an_email_is_quarantined(name):
    inbound = receive((CORPUS / f"{name}.eml").read_bytes())
    assert inbound.status == InboundStatus.QUARANTINED


def test_a_reply_threads_by_in_reply_to_and_reopens_the_conversation():
    first, first_id = mail()
    receive(first)
    thread = Thread.objects.get()
    conversations.note_outbound(thread, thread.last_activity_at)
    reply, _ = mail(subject="Re: Card charged twice", body="Any news?", in_reply_to=f"<{first_id}>")
    receive(reply)
    thread.refresh_from_db()
    assert Thread.objects.count() == 1
    assert thread.interactions.count() == 2
    assert thread.status == ThreadStatus.OPEN


def test_a_reply_whose_in_reply_to_was_lost_threads_by_references():
    first, first_id = mail()
    receive(first)
    reply, _ = mail(subject="Something else entirely", references=f"<unknown@elsewhere> <{first_id}>")
    receive(reply)
    assert Thread.objects.count() == 1


def test_a_reply_without_any_headers_falls_back_to_the_subject():
    receive(mail()[0])
    receive(mail(subject="RE: AW: card CHARGED twice", body="Still waiting")[0])
    receive(mail(subject="A new question")[0])
    assert Thread.objects.count() == 2
    assert Thread.objects.get(subject="Card charged twice").interactions.count() == 2


def test_the_same_subject_from_another_customer_is_another_conversation():
    receive(mail()[0])
    receive(mail(sender="bo@example.com")[0])
    assert Thread.objects.count() == 2


def test_the_same_message_delivered_twice_is_recorded_once():
    data, _ = mail()
    receive(data)
    again = receive(data)
    assert again.status == InboundStatus.DUPLICATE
    assert Interaction.objects.count() == 1


def test_an_out_of_office_is_recorded_but_does_not_reopen_the_conversation():
    first, first_id = mail(sender="julia.wagner@example.de")
    receive(first)
    thread = Thread.objects.get()
    conversations.note_outbound(thread, thread.last_activity_at)
    auto, _ = mail(
        sender="julia.wagner@example.de",
        subject="Automatic reply: Card charged twice",
        body="I am out of the office until Monday.",
        in_reply_to=f"<{first_id}>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    receive(auto)
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING
    assert Interaction.objects.filter(metadata__kind="auto_reply").count() == 1


def test_a_permanent_bounce_is_told_to_the_distribution_service_and_noted_on_the_customer(events):
    customer = CustomerFactory(name="Nobody")
    IdentityFactory(customer=customer, kind="email", value="nobody.here@example.com")
    inbound = receive((CORPUS / "dsn_bounce_permanent.eml").read_bytes())
    assert inbound.status == InboundStatus.PROCESSED
    bounced = [e for e in events if e.name == "address.bounced"]
    assert len(bounced) == 1
    assert bounced[0].addresses == ("nobody.here@example.com",)
    assert bounced[0].permanent is True
    note = Interaction.objects.get()
    assert note.customer == customer
    assert note.metadata["kind"] == "bounce"
    # The mailer daemon does not become a customer.
    assert not customer.__class__.objects.filter(identities__value__icontains="mailer-daemon").exists()


def test_attachments_are_stored_with_their_detected_type():
    inbound = receive((CORPUS / "attachment_pdf.eml").read_bytes())
    attachment = Attachment.objects.get()
    assert attachment.interaction.public_id == inbound.interaction_refs[0]
    assert attachment.detected_type == "application/pdf"
    with default_storage.open(attachment.storage_path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    assert attachment.size > 0


def test_an_oversized_attachment_is_recorded_without_its_content(settings):
    settings.CXLOOP_EMAIL_MAX_ATTACHMENT_BYTES = 10
    receive((CORPUS / "attachment_pdf.eml").read_bytes())
    attachment = Attachment.objects.get()
    assert attachment.oversized is True
    assert attachment.storage_path == ""
    assert attachment.size > 10


def test_html_is_kept_sanitised_for_display():
    receive((CORPUS / "html_script_onclick_style.eml").read_bytes())
    html = Interaction.objects.get().metadata["html"]
    assert "<script" not in html.lower()
    assert "onclick" not in html.lower()
    assert "javascript:" not in html.lower()
