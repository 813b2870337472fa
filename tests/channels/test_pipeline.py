"""The shared inbound pipeline, driven through the social channel's signed webhook.

keep → parse → resolve → thread → record → publish: every channel goes this way, so these tests pin the
framework's promises — nothing is lost, duplicates are recognised, bad payloads are quarantined and can
be reprocessed, conversations thread, carrier keywords are spotted.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundMessage, InboundStatus
from cxloop.channels.signing import SIGNATURE_HEADER, SignatureInvalid, sign, verify
from cxloop.core import clock
from cxloop.customers.models import Customer, Identity
from cxloop.events import bus
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from cxloop.privacy.models import AuditEntry

SECRET = "bridge-secret-for-tests"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _social_secret(settings):
    settings.CXLOOP_SOCIAL_WEBHOOK_SECRET = SECRET


@pytest.fixture
def events():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


def item(**overrides):
    body = {
        "network": "instagram",
        "id": "p-1",
        "author": {"handle": "@ann.lee", "name": "Ann Lee"},
        "text": "My card was charged twice for one coffee",
        "url": "https://instagram.example/p/1",
        "visibility": "private",
    }
    body.update(overrides)
    return body


def post(client, payload, *, secret=SECRET, raw=None):
    data = raw if raw is not None else json.dumps(payload).encode()
    headers = {SIGNATURE_HEADER: sign(secret, data)} if secret else {}
    return client.post("/hooks/social", data=data, content_type="application/json", headers=headers)


def test_a_signed_message_lands_on_the_resolved_customer_with_its_raw_payload_kept(client, events):
    response = post(client, item())
    assert response.status_code == 200, response.content
    inbound = InboundMessage.objects.get(public_id=response.json()["id"])
    assert inbound.status == InboundStatus.PROCESSED
    assert json.loads(services.read_raw(inbound)) == item()
    interaction = Interaction.objects.get(public_id=inbound.interaction_refs[0])
    assert interaction.channel == "social"
    assert interaction.direction == "inbound"
    assert interaction.body == "My card was charged twice for one coffee"
    assert interaction.external_id == "instagram:p-1"
    assert interaction.raw_ref == inbound.public_id
    customer = interaction.customer
    assert customer.name == "Ann Lee"
    assert Identity.objects.get(customer=customer).value == "ann.lee"
    assert inbound.customer_ref == customer.public_id
    received = [e for e in events if e.name == "message.received"]
    assert len(received) == 1
    assert received[0].interaction_id == interaction.public_id
    assert received[0].thread_id == interaction.thread.public_id


@pytest.mark.parametrize(
    ("secret", "expected"),
    [("", "missing or malformed"), ("someone-else", "does not match")],
)
def test_unsigned_or_forged_webhooks_are_refused_and_nothing_is_kept(client, secret, expected):
    response = post(client, item(), secret=secret)
    assert response.status_code == 403
    assert expected in response.json()["error"]
    assert not InboundMessage.objects.exists()
    assert not Customer.objects.exists()


def test_a_replayed_old_signature_is_refused():
    body = b"{}"
    header = sign(SECRET, body, timestamp=1_000_000)
    with pytest.raises(SignatureInvalid, match="too old"):
        verify(SECRET, body, header, now=1_000_000 + 301)
    verify(SECRET, body, header, now=1_000_000 + 299)


def test_the_same_message_delivered_twice_is_recorded_once(client):
    first = post(client, item()).json()
    second = post(client, item()).json()
    assert second["status"] == InboundStatus.DUPLICATE
    assert second["interactions"] == first["interactions"]
    assert Interaction.objects.count() == 1
    assert InboundMessage.objects.count() == 2  # both deliveries kept, for the record


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json at all", "not JSON"),
        (json.dumps({"network": "x", "id": "1", "text": "no author"}).encode(), "author"),
        (json.dumps({"items": []}).encode(), "items"),
        (json.dumps(item(visibility="secret")).encode(), "visibility"),
        (json.dumps(item(author={"handle": "bad handle with spaces!"})).encode(), "handle"),
    ],
)
def test_a_payload_that_cannot_be_understood_is_quarantined_with_its_reason(client, raw, reason, events):
    response = post(client, None, raw=raw)
    assert response.status_code == 202
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.QUARANTINED
    assert reason in inbound.reason
    assert services.read_raw(inbound) == raw
    assert not Interaction.objects.exists()
    assert [e.name for e in events if e.name.startswith("message.")] == ["message.quarantined"]


def test_an_admin_lists_quarantine_reads_the_raw_bytes_and_reprocesses_after_a_fix(client, api, ada, alice):
    raw = json.dumps(item(visibility="secret")).encode()
    inbound_id = post(client, None, raw=raw).json()["id"]
    listed = api.get("/inbound?status=quarantined", ada)
    assert [i["id"] for i in listed.json()["items"]] == [inbound_id]
    assert "visibility" in listed.json()["items"][0]["reason"]
    assert api.get("/inbound?status=quarantined", alice).status_code == 403
    raw_response = api.get(f"/inbound/{inbound_id}/raw", ada)
    assert raw_response.status_code == 200
    assert raw_response.content == raw

    # The bytes on disk are "fixed" (as a parser fix would make them readable) and reprocessed.
    inbound = InboundMessage.objects.get(public_id=inbound_id)
    with default_storage.open(inbound.raw_path, "wb") as handle:
        handle.write(json.dumps(item()).encode())
    again = api.post(f"/inbound/{inbound_id}/reprocess", ada)
    assert again.status_code == 200, again.content
    assert again.json()["status"] == "processed"
    assert again.json()["attempts"] == 2
    assert Interaction.objects.count() == 1
    assert AuditEntry.objects.filter(action="inbound.reprocessed", object_id=inbound_id).exists()
    assert api.post(f"/inbound/{inbound_id}/reprocess", ada).status_code == 422


def test_a_quarantined_payload_can_be_discarded_once_with_a_note(client, api, ada):
    inbound_id = post(client, None, raw=b"garbage").json()["id"]
    response = api.post(f"/inbound/{inbound_id}/discard", ada, {"note": "spam"})
    assert response.json()["status"] == "discarded"
    assert api.post(f"/inbound/{inbound_id}/discard", ada, {"note": ""}).status_code == 422
    assert AuditEntry.objects.get(action="inbound.discarded").after["note"] == "spam"


def test_a_crash_inside_recording_quarantines_instead_of_losing_the_message(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "record_interaction", boom)
    inbound = services.receive(RawPayload(channel="social", data=json.dumps(item()).encode(), source="test"))
    assert inbound.status == InboundStatus.QUARANTINED
    assert "database hiccup" in inbound.reason
    assert not Customer.objects.exists()  # the half-done work rolled back
    assert InboundMessage.objects.filter(pk=inbound.pk).exists()


def test_direct_messages_from_one_author_continue_one_conversation_and_reopen_it(client):
    post(client, item(id="dm-1"))
    thread = Thread.objects.get()
    conversations.note_outbound(thread, clock.now())
    assert Thread.objects.get().status == ThreadStatus.WAITING
    post(client, item(id="dm-2", text="Any news?"))
    thread.refresh_from_db()
    assert Thread.objects.count() == 1
    assert thread.interactions.count() == 2
    assert thread.status == ThreadStatus.OPEN
    assert thread.last_inbound_at is not None


def test_a_conversation_closed_long_ago_is_not_reopened_a_new_one_starts(client):
    post(client, item(id="dm-1"))
    Thread.objects.update(status=ThreadStatus.CLOSED, last_activity_at=clock.now() - timedelta(days=30))
    post(client, item(id="dm-2"))
    assert Thread.objects.count() == 2


def test_a_public_reply_threads_with_the_post_it_answers(client):
    post(client, item(id="100", visibility="public", conversation_id="", text="Your app is down"))
    post(client, item(id="101", visibility="public", in_reply_to="100", text="Still down"))
    assert Thread.objects.count() == 1
    assert Interaction.objects.filter(thread=Thread.objects.get()).count() == 2


def test_a_batch_payload_records_each_item(client):
    response = post(client, {"items": [item(id="a"), item(id="b", author={"handle": "@bo", "name": "Bo"})]})
    assert len(response.json()["interactions"]) == 2
    assert Customer.objects.count() == 2


@pytest.mark.parametrize(
    ("channel", "text", "expected"),
    [
        ("sms", "STOP", "opt_out"),
        ("sms", " stop. ", "opt_out"),
        ("whatsapp", "Unsubscribe", "opt_out"),
        ("sms", "start", "opt_in"),
        ("sms", "stop charging me twice", ""),
        ("social", "STOP", ""),
        ("email", "unsubscribe", ""),
    ],
)
def test_carrier_keywords_are_recognised_only_alone_and_only_on_text_channels(channel, text, expected):
    assert services.keyword_of(channel, text) == expected


def test_the_webhook_answers_503_when_the_channel_is_not_configured(client, settings):
    settings.CXLOOP_SOCIAL_WEBHOOK_SECRET = ""
    assert post(client, item()).status_code == 503
    assert not InboundMessage.objects.exists()
