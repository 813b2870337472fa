"""The social bridge both ways: a signed post comes in, the agent's reply goes out signed to the bridge."""

from __future__ import annotations

import json

import pytest

from cxloop.channels.signing import SIGNATURE_HEADER, sign, verify
from cxloop.interactions.models import Interaction, Thread
from cxloop.messaging import services as messaging
from cxloop.messaging.types import SendRequest
from tests.channels.fakes.server import FakeServer, Recorded, Reply

SECRET = "bridge-secret"
pytestmark = pytest.mark.django_db(transaction=True)


class Bridge(FakeServer):
    """What a bridge does: check our signature, post the reply to the network, answer with its id."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = Reply(200, {"id": "reply-77"})

    def handle(self, request: Recorded) -> Reply:
        try:
            verify(SECRET, request.body, request.headers.get(SIGNATURE_HEADER, ""))
        except Exception:  # noqa: BLE001 - a bridge refuses what it cannot verify
            return Reply(401, {"error": "bad signature"})
        return self.answer


@pytest.fixture
def bridge(settings):
    settings.CXLOOP_SOCIAL_WEBHOOK_SECRET = SECRET
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CXLOOP_QUIET_HOURS = "off"
    with Bridge() as server:
        settings.CXLOOP_SOCIAL_OUTBOUND_URL = server.base_url + "/replies"
        yield server


def post_dm(client, text: str = "Why was I charged twice?") -> Thread:
    body = json.dumps(
        {
            "network": "x",
            "id": "dm-1",
            "author": {"handle": "@annlee", "name": "Ann Lee"},
            "text": text,
            "visibility": "private",
        }
    ).encode()
    response = client.post(
        "/hooks/social", data=body, content_type="application/json", headers={SIGNATURE_HEADER: sign(SECRET, body)}
    )
    assert response.status_code == 200, response.content
    return Thread.objects.get()


def test_a_direct_message_is_answered_through_the_bridge(client, bridge, alice):
    thread = post_dm(client)
    message = messaging.send_message(
        alice.actor,
        SendRequest(
            customer_id=thread.customer.public_id, channel="social", text="Refunded.", thread_id=thread.public_id
        ),
    )
    message.refresh_from_db()
    assert message.status == "sent", message.reason
    [request] = bridge.requests
    sent = json.loads(request.body)
    assert sent == {
        "id": message.public_id,
        "network": "x",
        "to": "annlee",
        "text": "Refunded.",
        "in_reply_to": "dm-1",
        "visibility": "private",
    }
    assert request.headers["Idempotency-Key"] == message.public_id
    assert message.provider_message_id == "x:reply-77"
    reply = Interaction.objects.get(direction="outbound")
    assert reply.thread == thread


@pytest.mark.parametrize(("status", "expected"), [(400, "failed"), (503, "queued")])
def test_bridge_errors_fail_for_good_or_are_retried(client, bridge, alice, status, expected):
    bridge.answer = Reply(status, {"error": "nope"})
    thread = post_dm(client)
    message = messaging.send_message(
        alice.actor,
        SendRequest(customer_id=thread.customer.public_id, channel="social", text="Hi", thread_id=thread.public_id),
    )
    message.refresh_from_db()
    assert message.status == expected
    assert str(status) in message.reason
