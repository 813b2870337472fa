"""GET+POST /hooks/whatsapp: Meta's verification handshake, then signed posts into the pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cxloop.channels.models import InboundMessage, InboundStatus
from cxloop.customers.models import Identity
from cxloop.events import bus
from cxloop.interactions.models import Interaction
from tests.channels.fakes.meta import APP_SECRET, VERIFY_TOKEN, hub_signature, message_payload
from tests.customers.factories import CustomerFactory, IdentityFactory

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/hooks/whatsapp"
WA_ID = "447700900123"


@pytest.fixture(autouse=True)
def _whatsapp(settings):
    settings.CXLOOP_WHATSAPP_APP_SECRET = APP_SECRET
    settings.CXLOOP_WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN


@pytest.fixture
def events():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


def payload(text: str = "Is the blue one back in stock?") -> dict[str, Any]:
    return message_payload(WA_ID, "Grace Hopper", {"type": "text", "text": {"body": text}})


def post(client, body: bytes, *, signature: str | None = None, secret: str = APP_SECRET):
    sig = hub_signature(secret, body) if signature is None else signature
    headers = {"X-Hub-Signature-256": sig} if sig else {}
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_verification_handshake_echoes_the_challenge(client):
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ],
)
def test_verification_with_a_wrong_token_is_refused(client, query):
    response = client.get(URL, query)

    assert response.status_code == 403
    assert response.content.startswith(b"Verification refused")


def test_verification_without_a_configured_token_answers_503(client, settings):
    settings.CXLOOP_WHATSAPP_VERIFY_TOKEN = ""

    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})

    assert response.status_code == 503


def test_signed_message_is_recorded_on_the_sender(client, events):
    body = json.dumps(payload()).encode()

    response = post(client, body)

    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert (inbound.status, inbound.source) == (InboundStatus.PROCESSED, "webhook:meta")
    interaction = Interaction.objects.get()
    assert (interaction.channel, interaction.body) == ("whatsapp", "Is the blue one back in stock?")
    assert interaction.customer.name == "Grace Hopper"
    identities = Identity.objects.filter(customer=interaction.customer).order_by("kind")
    assert [(i.kind, i.value) for i in identities] == [("phone", "+447700900123"), ("whatsapp", "+447700900123")]
    assert [e.name for e in events if e.name == "message.received"] == ["message.received"]


@pytest.mark.parametrize(
    ("signature", "secret", "reason"),
    [
        ("", APP_SECRET, b"Missing X-Hub-Signature-256"),
        ("sha256=" + "0" * 64, APP_SECRET, b"Invalid X-Hub-Signature-256"),
        (None, "not-the-app-secret", b"Invalid X-Hub-Signature-256"),
    ],
)
def test_unsigned_or_forged_posts_are_refused_and_nothing_is_kept(client, events, signature, secret, reason):
    response = post(client, json.dumps(payload()).encode(), signature=signature, secret=secret)

    assert response.status_code == 403
    assert reason in response.content
    assert InboundMessage.objects.count() == 0
    assert Interaction.objects.count() == 0
    assert events == []


def test_body_changed_after_signing_is_refused(client):
    body = json.dumps(payload()).encode()
    signature = hub_signature(APP_SECRET, body)

    response = post(client, body.replace(b"blue", b"red!"), signature=signature)

    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_signed_garbage_is_kept_in_quarantine_and_answered_200(client):
    response = post(client, b'{"object": "whatsapp_business_account", "entry": [{"changes": "nope"}]}')

    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.QUARANTINED
    assert "entry[0].changes must be a JSON array" in inbound.reason


def test_the_same_message_delivered_twice_is_recorded_once(client):
    body = json.dumps(payload()).encode()

    post(client, body)
    post(client, body)

    assert Interaction.objects.count() == 1
    assert sorted(InboundMessage.objects.values_list("status", flat=True)) == [
        InboundStatus.DUPLICATE,
        InboundStatus.PROCESSED,
    ]


def test_not_configured_answers_503(client, settings):
    settings.CXLOOP_WHATSAPP_APP_SECRET = ""

    response = post(client, json.dumps(payload()).encode())

    assert response.status_code == 503
    assert InboundMessage.objects.count() == 0


def test_other_methods_are_not_allowed(client):
    assert client.put(URL, data=b"{}").status_code == 405


def test_a_customer_known_by_phone_is_recognised_on_whatsapp(client):
    known = CustomerFactory(name="Grace Hopper")
    IdentityFactory(customer=known, kind="phone", value="+447700900123")
    assert post(client, json.dumps(payload()).encode()).status_code == 200
    assert Interaction.objects.get().customer == known
