"""The inbox and the conversation page: filters, pagination, permissions, notes, status, replies, attachments,
the quarantine page, and that customer text is always escaped.

Conversations arrive through the real channel pipeline (social webhook payloads and raw emails).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.test import Client

from cxloop.channels import registry
from cxloop.channels import services as channel_services
from cxloop.channels.base import OutboundPayload, RawPayload, SendOutcome
from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.core import clock
from cxloop.customers.models import Customer
from cxloop.interactions import conversations
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import MessageStatus, OutboundMessage
from cxloop.messaging.types import ConsentChange, TemplateContent
from cxloop.privacy.models import AuditEntry
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db
EMAIL_CORPUS = Path(__file__).parents[1] / "channels" / "email" / "corpus"


# --- arranging conversations ---------------------------------------------------------------------
def social(handle: str = "@ann.lee", name: str = "Ann Lee", text: str = "My card was charged twice", **extra):  # type: ignore[no-untyped-def]
    """A direct message through the social channel's pipeline; returns its conversation."""
    body = {
        "network": "instagram",
        "id": extra.pop("id", make_msgid()),
        "author": {"handle": handle, "name": name},
        "text": text,
        "visibility": "private",
        **extra,
    }
    inbound = channel_services.receive(RawPayload(channel="social", data=json.dumps(body).encode(), source="test"))
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    return Interaction.objects.get(public_id=inbound.interaction_refs[0]).thread


def email(
    *,
    sender: str = "Ann Lee <ann@example.com>",
    subject: str = "Card charged twice",
    text: str = "Hello",
    html: str = "",
) -> tuple[InboundMessage, Thread]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return _receive_email(bytes(msg))


def _receive_email(data: bytes) -> tuple[InboundMessage, Thread]:
    inbound = channel_services.receive(RawPayload(channel="email", data=data, content_type="message/rfc822"))
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    return inbound, Interaction.objects.get(public_id=inbound.interaction_refs[0]).thread


def page_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def listed(html: str) -> list[str]:
    """Conversation ids in the order the inbox lists them."""
    return re.findall(r'class="convo-link" href="/inbox/(thr_[^/]+)/"', html)


class RecordingSender:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[OutboundPayload] = []

    def send(self, payload: OutboundPayload) -> SendOutcome:
        self.sent.append(payload)
        return SendOutcome(provider_message_id=f"prov-{payload.message_ref}")


@pytest.fixture
def senders(monkeypatch: pytest.MonkeyPatch, settings) -> dict[str, RecordingSender]:  # type: ignore[no-untyped-def]
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    found = {channel: RecordingSender(channel) for channel in ("email", "social")}
    for channel, sender in found.items():
        monkeypatch.setitem(registry._senders, channel, sender)
    for channel in ("sms", "whatsapp", "chat"):
        monkeypatch.delitem(registry._senders, channel, raising=False)
    return found


# --- the list ------------------------------------------------------------------------------------
def test_lists_open_and_waiting_conversations_newest_first_without_closed_ones(web, alice):
    first = social("@ann", "Ann Lee")
    second = social("@bo", "Bo Chan")
    closed = social("@cy", "Cy Doe")
    conversations.note_outbound(second, clock.now() + timedelta(minutes=1))  # waiting, and newest
    conversations.set_thread_status(alice.actor, closed, ThreadStatus.CLOSED)

    html = page_of(web(alice), "/inbox/")

    assert listed(html) == [second.public_id, first.public_id]
    assert "Awaiting reply" in html  # Ann spoke last and nobody answered


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=email", ["mail"]),
        ("channel=social", ["dm"]),
        ("assigned=mine", ["dm"]),
        ("assigned=unassigned", ["mail"]),
        ("assigned=bob", []),
        ("status=waiting", ["mail"]),
        ("status=closed", []),
        ("q=refund", ["mail"]),
        ("q=bo+chan", ["dm"]),
    ],
)
def test_filters_narrow_the_list(web, alice, bob, query, expected):
    threads = {"dm": social("@bo", "Bo Chan"), "mail": email(subject="Refund please")[1]}
    conversations.assign_thread(alice.actor, threads["dm"], user=alice.user)
    conversations.set_thread_status(alice.actor, threads["mail"], ThreadStatus.WAITING)

    html = page_of(web(alice), f"/inbox/?{query}")

    assert listed(html) == [threads[key].public_id for key in expected]


def test_team_filter(web, bob, alice, team_b):
    mine = social("@a")
    theirs = social("@b")
    conversations.assign_thread(bob.actor, mine, user=alice.user)
    conversations.assign_thread(bob.actor, theirs, user=None, team=team_b)

    assert listed(page_of(web(bob), f"/inbox/?team={team_b.pk}")) == [theirs.public_id]


def test_pages_by_cursor_without_overlap(web, alice):
    threads = [social(f"@p{i}", f"P {i}") for i in range(27)]

    client = web(alice)
    first = page_of(client, "/inbox/")
    next_url = re.search(r'href="(/inbox/\?cursor=[^"]+)">Older conversations', first).group(1)  # type: ignore[union-attr]
    second = page_of(client, next_url.replace("&amp;", "&"))

    assert len(listed(first)) == 25
    assert sorted(listed(first) + listed(second)) == sorted(t.public_id for t in threads)
    assert "Older conversations" not in second


def test_list_and_conversation_queries_stay_bounded(web, bob, alice, django_assert_max_num_queries):
    threads = [social(f"@q{i}", f"Q {i}") for i in range(25)]
    for thread in threads[:10]:
        conversations.assign_thread(bob.actor, thread, user=alice.user)
    for index in range(20):
        social("@q0", "Q 0", text=f"more {index}", id=f"more-{index}")
    client = web(bob)

    # 12 and 18: the navigation also counts the user's active cases and unread notifications
    with django_assert_max_num_queries(12):
        listing = client.get("/inbox/")
    # 18: two of them read the live version (the newest message, the newest delivery change)
    with django_assert_max_num_queries(18):
        conversation = client.get(f"/inbox/{threads[0].public_id}/")

    assert listing.status_code == 200
    assert conversation.status_code == 200


def test_bad_filters_answer_422_not_500(web, alice):
    client = web(alice)

    assert client.get("/inbox/?channel=pigeon").status_code == 422
    assert client.get("/inbox/?cursor=%%%").status_code == 422
    assert client.get("/inbox/?assigned=nobody-of-that-name").status_code == 422
    assert client.get("/inbox/?team=abc").status_code == 422


def test_sidebar_counts_and_the_nav_count_of_conversations_awaiting_me(web, alice):
    mine = social("@a")
    social("@b")
    waiting = social("@c")
    conversations.assign_thread(alice.actor, mine, user=alice.user)
    conversations.note_outbound(waiting, clock.now())

    html = page_of(web(alice), "/inbox/")

    counts = dict(re.findall(r"<span>([^<]+)</span> <span class=\"view-count\">(\d+)</span>", html))
    assert counts == {
        "Mine": "1",
        "Unassigned": "2",
        "Waiting on customer": "1",
        "All open": "2",
        "Open and waiting": "3",
        "Social": "3",
    }
    assert re.search(r'href="/inbox/"[^>]*>Inbox <span class="count">1<', html)


def test_the_list_refreshes_itself_through_htmx_while_visible(web, alice):
    social("@a")
    client = web(alice)

    html = page_of(client, "/inbox/?channel=social")
    partial = client.get("/inbox/?channel=social", HTTP_HX_TARGET="inbox-list", **HTMX)

    assert "every 15s [document.visibilityState === 'visible']" in html
    assert 'hx-get="/inbox/?channel=social"' in html
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="inbox-list"')
    assert "<html" not in body
    assert "inbox-views" not in body


def test_customer_text_is_escaped_in_the_list_and_the_conversation(web, alice):
    thread = social("@x", "<img src=x onerror=alert(2)>", text="<script>alert(1)</script>")
    client = web(alice)

    listing = page_of(client, "/inbox/")
    conversation = page_of(client, f"/inbox/{thread.public_id}/")

    for html in (listing, conversation):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html


# --- one conversation ----------------------------------------------------------------------------
def test_conversation_shows_messages_oldest_first_the_customer_and_their_other_conversations(web, alice):
    thread = social("@ann", "Ann Lee", text="First words", id="dm-1")
    social("@ann", "Ann Lee", text="Second words", id="dm-2")
    other = email(sender="Ann Lee <ann@example.com>", subject="Another matter")[1]
    Customer.objects.filter(pk=other.customer_id).update(name="Other")  # a different customer: not listed
    same_customer_other = Thread.objects.create(
        customer=thread.customer, channel="email", subject="Old invoice", last_activity_at=clock.now()
    )

    html = page_of(web(alice), f"/inbox/{thread.public_id}/")

    assert html.index("First words") < html.index("Second words")
    assert f'href="/customers/{thread.customer.public_id}/"' in html
    assert f'href="/inbox/{same_customer_other.public_id}/"' in html
    assert f'href="/inbox/{other.public_id}/"' not in html


def test_an_unknown_conversation_is_404_and_a_forged_cursor_422(web, alice):
    thread = social("@a")
    client = web(alice)

    assert client.get("/inbox/thr_nothing/").status_code == 404
    assert client.get(f"/inbox/{thread.public_id}/?cursor=forged").status_code == 422
    assert client.get(f"/inbox/{thread.public_id}/messages/?cursor=forged", **HTMX).status_code == 422


def test_a_reply_sent_without_javascript_clears_only_its_own_draft(web, alice, senders):
    thread = social("@ann")
    client = web(alice)

    response = client.post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "social", "reply-body": "Plain form", "reply-idempotency_key": "nojs"},
    )
    first = page_of(client, response["Location"].split("#")[0])
    second = page_of(client, f"/inbox/{thread.public_id}/")

    assert "data-draft-clear" in first
    assert "data-draft-clear" not in second


def test_a_long_conversation_pages_back_in_time(web, alice, system):
    thread = social("@ann", text="message 0", id="m-0")
    start = clock.now() - timedelta(hours=2)
    for index in range(1, 60):
        interaction_services.record_interaction(
            system,
            thread.customer,
            InteractionInput(channel="social", direction="inbound", body=f"message {index}", occurred_at=start),
            thread=thread,
        )
    client = web(alice)

    html = page_of(client, f"/inbox/{thread.public_id}/")
    earlier = re.search(r'hx-get="(/inbox/thr_[^/]+/messages/\?cursor=[^"]+)"', html).group(1)  # type: ignore[union-attr]
    older = client.get(earlier, **HTMX).content.decode()

    shown = set(re.findall(r"message (\d+)<", html))
    older_shown = set(re.findall(r"message (\d+)<", older))
    assert len(shown) == 50
    assert len(older_shown) == 10
    assert shown.isdisjoint(older_shown)
    assert "Load earlier messages" not in older


def test_email_html_is_shown_only_inside_a_sandboxed_frame(web, alice):
    _, thread = email(text="Plain words", html='<p>Hi <b>there</b></p><img src="https://tracker.example/p.gif">')

    html = page_of(web(alice), f"/inbox/{thread.public_id}/")

    frame = re.search(r"<iframe[^>]*>", html).group(0)  # type: ignore[union-attr]
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "srcdoc=" in frame
    assert "&lt;b&gt;there&lt;/b&gt;" in frame
    assert "default-src &#x27;none&#x27;" in frame  # the frame's own policy refuses remote images
    assert "<b>there</b>" not in html


def test_quoted_text_is_behind_a_toggle(web, alice):
    _, thread = _receive_email((EMAIL_CORPUS / "gmail_reply.eml").read_bytes())

    html = page_of(web(alice), f"/inbox/{thread.public_id}/")

    toggle = html.index("Show quoted text")
    assert html.index("Yes, please send the replacement") < toggle < html.index("we can send a replacement")


def test_analyst_reads_but_cannot_reply_note_assign_or_change_status(web, charlie, alice):
    thread = social("@a")
    client = web(charlie)

    html = page_of(client, f"/inbox/{thread.public_id}/")
    refused = [
        client.post(f"/inbox/{thread.public_id}/reply/", {"reply-channel": "social", "reply-body": "hi"}),
        client.post(f"/inbox/{thread.public_id}/notes/", {"note-body": "hi"}),
        client.post(f"/inbox/{thread.public_id}/assign/", {"me": "1"}),
        client.post(f"/inbox/{thread.public_id}/status/", {"status": "closed"}),
        client.get(f"/inbox/{thread.public_id}/canned/?template=x"),
    ]

    assert 'id="reply"' not in html
    assert 'id="note"' not in html
    assert "Assign to me" not in html
    assert [r.status_code for r in refused] == [403] * 5
    thread.refresh_from_db()
    assert (thread.status, thread.assigned_to) == (ThreadStatus.OPEN, None)
    assert thread.interactions.count() == 1
    assert not OutboundMessage.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="conversation.").exists()


def test_an_agent_takes_a_conversation_but_cannot_give_it_to_someone_else(web, alice, bob):
    thread = social("@a")
    client = web(alice)

    taken = client.post(f"/inbox/{thread.public_id}/assign/", {"me": "1"})
    given = client.post(f"/inbox/{thread.public_id}/assign/", {"assignee": "bob"})

    assert taken.status_code == 302
    assert given.status_code == 403
    thread.refresh_from_db()
    assert thread.assigned_to == alice.user
    assert list(AuditEntry.objects.filter(action="conversation.assigned").values_list("after", flat=True)) == [
        {"assignee": "alice", "team": alice.user.team_id}
    ]
    assert 'name="assignee"' not in page_of(client, f"/inbox/{thread.public_id}/")


def test_a_supervisor_assigns_to_an_agent_and_a_team(web, bob, alice, team_b):
    thread = social("@a")

    response = web(bob).post(
        f"/inbox/{thread.public_id}/assign/", {"assignee": "alice", "team": str(team_b.pk)}, **HTMX
    )

    assert response.status_code == 200
    assert "Assigned to alice" in response.content.decode()
    thread.refresh_from_db()
    assert (thread.assigned_to, thread.team) == (alice.user, team_b)


def test_assigning_to_someone_who_does_not_answer_customers_is_refused(web, bob, charlie):
    thread = social("@a")

    response = web(bob).post(f"/inbox/{thread.public_id}/assign/", {"assignee": "charlie"})

    assert response.status_code == 422
    thread.refresh_from_db()
    assert thread.assigned_to is None


def test_status_changes_are_audited(web, alice):
    thread = social("@a")

    response = web(alice).post(f"/inbox/{thread.public_id}/status/", {"status": "closed"}, **HTMX)

    assert response.status_code == 200
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED
    entry = AuditEntry.objects.get(action="conversation.status_changed")
    assert (entry.object_id, entry.before, entry.after, entry.actor_label) == (
        thread.public_id,
        {"status": "open"},
        {"status": "closed"},
        "alice",
    )
    assert web(alice).post(f"/inbox/{thread.public_id}/status/", {"status": "lost"}).status_code == 422


def test_a_note_lands_on_the_thread_as_internal(web, alice):
    thread = social("@a")

    response = web(alice).post(f"/inbox/{thread.public_id}/notes/", {"note-body": "Refund <b>approved</b>"}, **HTMX)

    assert response.status_code == 200
    note = Interaction.objects.get(channel="note")
    assert (note.thread, note.direction, note.body, note.created_by) == (
        thread,
        "internal",
        "Refund <b>approved</b>",
        alice.user,
    )
    body = response.content.decode()
    assert 'id="messages" aria-labelledby="messages-title" hx-swap-oob="true"' in body
    assert "Refund &lt;b&gt;approved&lt;/b&gt;" in body
    assert "data-draft-clear" in body
    assert web(alice).post(f"/inbox/{thread.public_id}/notes/", {"note-body": "  "}).status_code == 422


# --- replying ------------------------------------------------------------------------------------
def test_a_reply_goes_out_through_messaging_in_the_thread_and_shows_its_status(
    web, alice, senders, django_capture_on_commit_callbacks
):
    thread = social("@ann")
    client = web(alice)
    key = re.search(r'name="reply-idempotency_key" value="([0-9a-f]+)"', page_of(client, f"/inbox/{thread.public_id}/"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/inbox/{thread.public_id}/reply/",
            {"reply-channel": "social", "reply-body": "Sorry! Refunded.", "reply-idempotency_key": key.group(1)},  # type: ignore[union-attr]
            **HTMX,
        )

    assert response.status_code == 200
    message = OutboundMessage.objects.get()
    assert (message.channel, message.purpose, message.thread_ref, message.body_text, message.status) == (
        "social",
        "service",
        thread.public_id,
        "Sorry! Refunded.",
        MessageStatus.SENT,
    )
    assert [p.text for p in senders["social"].sent] == ["Sorry! Refunded."]
    outbound = Interaction.objects.get(direction="outbound")
    assert outbound.thread == thread
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING
    body = response.content.decode()
    assert "data-draft-clear" in body
    assert re.search(r"Sorry! Refunded\.</div>", body)
    assert 'class="badge delivery delivery-sent">Sent<' in page_of(client, f"/inbox/{thread.public_id}/")


def test_a_resubmitted_reply_is_sent_once(web, alice, senders):
    thread = social("@ann")
    client = web(alice)
    data = {"reply-channel": "social", "reply-body": "Once only", "reply-idempotency_key": "abc123"}

    client.post(f"/inbox/{thread.public_id}/reply/", data)
    client.post(f"/inbox/{thread.public_id}/reply/", data)

    assert OutboundMessage.objects.count() == 1


def test_a_queued_reply_shows_as_queued_until_a_channel_takes_it(web, alice, senders):
    thread = social("@ann")
    client = web(alice)

    response = client.post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "social", "reply-body": "On its way", "reply-idempotency_key": "k1"},
    )

    assert response.status_code == 302
    html = page_of(client, f"/inbox/{thread.public_id}/")
    assert 'class="badge delivery delivery-queued">Queued<' in html
    assert "Reply queued." in html


def test_the_agent_may_switch_to_another_channel_the_customer_has(web, alice, senders, system):
    _, thread = email(sender="Ann Lee <ann@example.com>")
    customer = thread.customer
    from cxloop.customers import services as customer_services
    from cxloop.customers.types import IdentityInput

    customer_services.add_identity(system, customer, IdentityInput(kind="social", value="@ann", network="instagram"))
    client = web(alice)
    html = page_of(client, f"/inbox/{thread.public_id}/")

    options = re.findall(r'<option value="(\w+)"[^>]*>(?:Email|Social) · ', html)
    client.post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "social", "reply-body": "Answering on Instagram", "reply-idempotency_key": "k2"},
    )

    assert options == ["email", "social"]  # the conversation's own channel first
    message = OutboundMessage.objects.get()
    assert (message.channel, message.thread_ref, message.to_address) == ("social", thread.public_id, "instagram:ann")


def test_a_blocked_reply_says_why_and_keeps_the_text(web, alice, senders, system):
    thread = social("@ann")
    messaging_services.record_consents(
        system, thread.customer, [ConsentChange(channel="social", purpose="service", granted=False)], source="staff"
    )

    response = web(alice).post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "social", "reply-body": "Hello again", "reply-idempotency_key": "k3"},
        **HTMX,
    )

    body = response.content.decode()
    assert OutboundMessage.objects.get().status == MessageStatus.BLOCKED
    assert "Not sent: the customer opted out of service messages on social" in body
    assert ">Hello again</textarea>" in body
    assert "data-draft-clear" not in body
    assert 'class="badge delivery delivery-blocked">Blocked<' in body


def test_an_empty_reply_is_refused_with_the_form(web, alice, senders):
    thread = social("@ann")

    response = web(alice).post(
        f"/inbox/{thread.public_id}/reply/",
        {"reply-channel": "social", "reply-body": " ", "reply-idempotency_key": "k4"},
        **HTMX,
    )

    assert response.status_code == 422
    assert "This field is required." in response.content.decode() or "Write a reply first." in response.content.decode()
    assert not OutboundMessage.objects.exists()


def test_canned_replies_are_rendered_for_this_customer(web, alice, senders, system):
    thread = social("@ann", "Ann Lee")
    messaging_services.create_template(
        system,
        key="refund-done",
        name="Refund done",
        channel="social",
        content=TemplateContent(locale="en", body_text="Hi {{ customer.first_name }}, your refund is on its way."),
    )
    client = web(alice)

    html = page_of(client, f"/inbox/{thread.public_id}/")
    canned = client.get(f"/inbox/{thread.public_id}/canned/?template=refund-done")
    fallback = page_of(client, f"/inbox/{thread.public_id}/?canned=refund-done")

    assert '<option value="refund-done">Refund done</option>' in html
    assert canned.json()["text"] == "Hi Ann, your refund is on its way."
    assert ">Hi Ann, your refund is on its way.</textarea>" in fallback
    assert client.get(f"/inbox/{thread.public_id}/canned/?template=nope").status_code == 404


# --- attachments ---------------------------------------------------------------------------------
def _email_with_attachment() -> Thread:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = "Receipt"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("See the receipt.")
    msg.add_attachment(b"<html><script>alert(1)</script></html>", maintype="text", subtype="html", filename="r.html")
    return _receive_email(bytes(msg))[1]


def test_attachments_download_as_files_never_inline(web, charlie):
    thread = _email_with_attachment()
    attachment = Attachment.objects.get()
    client = web(charlie)

    html = page_of(client, f"/inbox/{thread.public_id}/")
    response = client.get(f"/attachments/{attachment.public_id}/")

    assert f'href="/attachments/{attachment.public_id}/" download>r.html</a>' in html
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="r.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<html><script>alert(1)</script></html>"  # type: ignore[attr-defined]


def test_attachments_need_a_login_and_unknown_ones_are_404(client, web, alice):
    _email_with_attachment()
    attachment = Attachment.objects.get()

    anonymous = client.get(f"/attachments/{attachment.public_id}/")
    missing = web(alice).get("/attachments/att_nothing/")

    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert missing.status_code == 404


# --- quarantine ----------------------------------------------------------------------------------
def _quarantined() -> InboundMessage:
    inbound = channel_services.receive(RawPayload(channel="social", data=b"not json at all", source="test"))
    assert inbound.status == InboundStatus.QUARANTINED
    return inbound


def test_quarantine_lists_with_reason_and_downloads_the_raw_bytes(web, bob):
    inbound = _quarantined()
    client = web(bob)

    html = page_of(client, "/settings/quarantine/")
    raw = client.get(f"/settings/quarantine/{inbound.public_id}/raw/")

    assert inbound.public_id in html
    assert inbound.reason[:40] in html
    assert re.search(r'href="/settings/quarantine/"[^>]*>Quarantine <span class="count">1<', html)
    assert raw.content == b"not json at all"
    assert raw["Content-Disposition"] == f'attachment; filename="{inbound.public_id}.raw"'
    assert raw["X-Content-Type-Options"] == "nosniff"


def test_quarantine_is_for_those_who_manage_channels(web, alice):
    inbound = _quarantined()
    client = web(alice)

    responses = [
        client.get("/settings/quarantine/"),
        client.get(f"/settings/quarantine/{inbound.public_id}/raw/"),
        client.post(f"/settings/quarantine/{inbound.public_id}/discard/", {"note": "x"}),
        client.post(f"/settings/quarantine/{inbound.public_id}/reprocess/"),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert "/settings/quarantine/" not in page_of(client, "/inbox/")
    inbound.refresh_from_db()
    assert (inbound.status, inbound.attempts) == (InboundStatus.QUARANTINED, 1)


def test_discard_and_reprocess_from_the_page(web, ada):
    kept = _quarantined()
    dropped = _quarantined()
    client = web(ada)

    client.post(f"/settings/quarantine/{dropped.public_id}/discard/", {"note": "spam"})
    response = client.post(f"/settings/quarantine/{kept.public_id}/reprocess/", follow=True)

    dropped.refresh_from_db()
    kept.refresh_from_db()
    assert dropped.status == InboundStatus.DISCARDED
    assert AuditEntry.objects.get(action="inbound.discarded").after["note"] == "spam"
    assert (kept.status, kept.attempts) == (InboundStatus.QUARANTINED, 2)
    assert "is still quarantined" in response.content.decode()
    assert f'<tr id="{dropped.public_id}">' not in response.content.decode()
    assert f'<tr id="{kept.public_id}">' in response.content.decode()


# --- the customer page ---------------------------------------------------------------------------
def test_customer_page_lists_their_conversations(web, alice):
    thread = social("@ann", "Ann Lee")
    conversations.note_outbound(thread, clock.now())

    html = page_of(web(alice), f"/customers/{thread.customer.public_id}/")

    assert 'id="panel-conversations"' in html
    assert f'href="/inbox/{thread.public_id}/"' in html
    assert "Waiting on customer" in html
