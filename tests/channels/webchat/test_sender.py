"""The chat sender: an agent's message, sent through the distribution service, reaches the visitor's widget."""

from __future__ import annotations

import pytest

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, SendFailed
from cxloop.channels.webchat.models import ChatMessage, ChatSession
from cxloop.channels.webchat.queries import address_for_thread
from cxloop.channels.webchat.sender import ChatSender
from cxloop.interactions.models import Interaction
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import OutboundMessage
from cxloop.messaging.types import SendRequest

pytestmark = pytest.mark.django_db


def payload(to: str, text: str = "Hello from the shop", ref: str = "msg_1") -> OutboundPayload:
    return OutboundPayload(message_ref=ref, channel="chat", to=to, text=text)


def session_of(visitor) -> ChatSession:  # type: ignore[no-untyped-def]
    return ChatSession.objects.get(public_id=visitor.id)


def test_the_chat_sender_is_registered_for_chat():
    assert isinstance(registry.sender_for("chat"), ChatSender)
    assert "chat" in registry.receivable_channels()


def test_sending_to_the_anonymous_id_appends_an_agent_line_and_reports_delivered(visitor):
    visitor.say("Hi")
    session = session_of(visitor)

    outcome = ChatSender().send(payload(session.anonymous_id))

    assert outcome.state == "delivered"
    assert outcome.provider_message_id == f"chat:{visitor.id}:2"
    line = ChatMessage.objects.get(seq=2)
    assert (line.direction, line.text, line.outbound_ref) == ("agent", "Hello from the shop", "msg_1")
    assert line.thread_ref == session.thread_ref
    assert [m["direction"] for m in visitor.poll(1).json()["messages"]] == ["agent"]


def test_the_session_id_is_an_address_too(visitor):
    outcome = ChatSender().send(payload(visitor.id))

    assert outcome.provider_message_id == f"chat:{visitor.id}:1"


def test_a_retried_delivery_adds_nothing(visitor):
    first = ChatSender().send(payload(visitor.id, ref="msg_same"))
    again = ChatSender().send(payload(visitor.id, ref="msg_same"))

    assert first == again
    assert ChatMessage.objects.count() == 1


@pytest.mark.parametrize(("to", "text"), [("anon_nobody", "Hi"), ("chs_nobody", "Hi"), ("", "Hi")])
def test_an_unknown_session_is_a_permanent_failure(db, to, text):
    with pytest.raises(SendFailed) as failed:
        ChatSender().send(payload(to, text))

    assert failed.value.permanent
    assert failed.value.code == "no_session"


def test_an_empty_text_is_a_permanent_failure(visitor):
    with pytest.raises(SendFailed) as failed:
        ChatSender().send(payload(visitor.id, "   "))

    assert failed.value.permanent


def test_the_address_of_a_conversation_is_its_sessions_anonymous_id(visitor):
    visitor.say("Hi")
    session = session_of(visitor)

    assert address_for_thread(session.thread_ref) == session.anonymous_id
    assert address_for_thread("thr_none") == ""


def test_a_reply_through_the_distribution_service_reaches_the_widget_and_the_timeline(visitor, alice, settings):
    settings.CXLOOP_QUIET_HOURS = "off"
    visitor.say("Do you ship to Norway?")
    session = session_of(visitor)
    assert session.customer is not None

    message = messaging_services.send_message(
        alice.actor,
        SendRequest(
            customer_id=session.customer.public_id,
            channel="chat",
            text="Yes, in 3–5 days.",
            thread_id=session.thread_ref,
        ),
    )
    messaging_services.dispatch(message.pk)  # the test's transaction never commits, so its on-commit task never runs

    message = OutboundMessage.objects.get(pk=message.pk)
    assert message.to_address == session.anonymous_id
    assert message.status in ("sent", "delivered")
    assert message.provider_message_id == f"chat:{visitor.id}:2"
    lines = visitor.poll(1).json()["messages"]
    assert [(m["direction"], m["text"]) for m in lines] == [("agent", "Yes, in 3–5 days.")]
    reply = Interaction.objects.get(direction="outbound")
    assert reply.channel == "chat"
    assert reply.thread.public_id == session.thread_ref
