"""A chat lands on the timeline: the pipeline's interaction per line, one thread per session, and the
visitor meeting their known profile through identity resolution when they leave an email or phone."""

from __future__ import annotations

import json

import pytest

from cxloop.channels.models import InboundMessage, InboundStatus
from cxloop.channels.services import read_raw
from cxloop.channels.webchat.models import ChatMessage, ChatSession
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, Identity, MergeSuggestion, SuggestionStatus
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus
from cxloop.interactions.models import Interaction, Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


def session_of(visitor) -> ChatSession:  # type: ignore[no-untyped-def]
    return ChatSession.objects.get(public_id=visitor.id)


def test_visitor_lines_land_on_one_anonymous_customers_timeline_in_the_sessions_thread(visitor, events):
    visitor.say("Hello")
    visitor.say("Do the Scree boots come in size 48?")

    session = session_of(visitor)
    interactions = list(Interaction.objects.order_by("id"))
    assert [i.body for i in interactions] == ["Hello", "Do the Scree boots come in size 48?"]
    assert {(i.channel, i.direction) for i in interactions} == {("chat", "inbound")}
    assert [i.external_id for i in interactions] == [f"chat:{visitor.id}:1", f"chat:{visitor.id}:2"]
    customer = Customer.objects.get()
    assert session.customer == customer
    assert list(customer.identities.values_list("kind", "value")) == [("anonymous", session.anonymous_id)]
    thread = Thread.objects.get()
    assert thread.external_ref == f"chat:{visitor.id}"
    assert thread.channel == "chat"
    assert {i.thread_id for i in interactions} == {thread.pk}
    assert session.thread_ref == thread.public_id
    assert list(ChatMessage.objects.values_list("thread_ref", flat=True)) == [thread.public_id] * 2
    received = [e for e in events if e.name == "message.received"]
    assert [e.thread_id for e in received] == [thread.public_id] * 2  # type: ignore[attr-defined]
    assert [e.name for e in events if e.name.startswith("chat.")][:1] == ["chat.message_added"]


def test_the_raw_payload_is_kept_with_the_session(visitor):
    visitor.say("Keep me")

    inbound = InboundMessage.objects.get()
    assert inbound.channel == "chat"
    assert inbound.source == "webchat"
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.meta == {"session": visitor.id, "seq": 1, "origin": ""}
    raw = json.loads(read_raw(inbound))
    assert raw["text"] == "Keep me"
    assert raw["session"] == visitor.id
    assert raw["seq"] == 1


def test_two_sessions_are_two_customers_and_two_threads(visitor, new_visitor):
    other = new_visitor()
    other.start()

    visitor.say("one")
    other.say("two")

    assert Customer.objects.count() == 2
    assert Thread.objects.count() == 2


def test_leaving_a_new_email_adds_it_to_the_visitors_profile(visitor, events):
    visitor.say("Hi")

    visitor.identify(name="Ann Lee", email="Ann.Lee@Example.com")

    customer = Customer.objects.get()
    assert customer.name == "Ann Lee"
    kinds = dict(customer.identities.values_list("kind", "value"))
    assert kinds["email"] == "ann.lee@example.com"
    assert not customer.identities.get(kind="email").is_verified
    assert session_of(visitor).identified_at is not None
    identified = [e for e in events if e.name == "chat.visitor_identified"]
    assert len(identified) == 1
    assert identified[0].merge_suggested is False


def test_leaving_the_email_of_a_known_customer_suggests_a_merge_and_merges_nothing(visitor, system, events):
    known = customer_services.create_customer(
        system, CustomerInput(name="Ann Lee", identities=[IdentityInput(kind="email", value="ann@example.com")])
    )
    visitor.say("Where is my order?")

    response = visitor.identify(email="ANN@example.com")

    assert response.status_code == 200  # the same answer as for an unknown address
    anonymous = session_of(visitor).customer
    assert anonymous is not None
    assert anonymous != known
    suggestion = MergeSuggestion.objects.get()
    assert {suggestion.customer_a, suggestion.customer_b} == {known, anonymous}
    assert suggestion.status == SuggestionStatus.PENDING
    assert Identity.objects.get(kind="email").customer == known  # the typed address moved nowhere
    assert [e.merge_suggested for e in events if e.name == "chat.visitor_identified"] == [True]  # type: ignore[attr-defined]
    # Until a person merges, the chat stays on the visitor's own profile, in its one thread.
    visitor.say("It was order 1234")
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {anonymous.pk}
    assert Thread.objects.count() == 1


def test_after_the_merge_the_chat_continues_on_the_known_customer_in_the_same_thread(visitor, system, bob):
    known = customer_services.create_customer(
        system, CustomerInput(name="Ann Lee", identities=[IdentityInput(kind="email", value="ann@example.com")])
    )
    visitor.say("Where is my order?")
    visitor.identify(email="ann@example.com")
    anonymous = session_of(visitor).customer
    assert anonymous is not None

    customer_services.merge_customers(bob.actor, known, anonymous, suggestion=MergeSuggestion.objects.get())
    visitor.say("Any news?")

    assert session_of(visitor).customer == known
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {known.pk}
    thread = Thread.objects.get()
    assert thread.customer == known
    assert Interaction.objects.filter(thread=thread).count() == 2


def test_identifying_before_saying_anything_still_never_attaches_to_a_known_customer(visitor, system):
    known = customer_services.create_customer(
        system, CustomerInput(name="Ann", identities=[IdentityInput(kind="phone", value="+447700900123")])
    )

    visitor.identify(phone="07700 900123")

    anonymous = session_of(visitor).customer
    assert anonymous is not None
    assert anonymous != known
    assert anonymous.identities.get().kind == "anonymous"
    assert MergeSuggestion.objects.filter(status=SuggestionStatus.PENDING).count() == 1


def test_a_retry_with_the_same_client_id_records_one_interaction(visitor):
    visitor.say("once", client_id="abc")
    visitor.say("once", client_id="abc")

    assert Interaction.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_customer_export_includes_the_chat(visitor, system):
    visitor.say("Export me")
    customer = session_of(visitor).customer
    assert customer is not None

    from cxloop.channels.webchat.services import export_customer_sessions

    exported = export_customer_sessions(customer.pk)

    assert exported[0]["id"] == visitor.id
    assert [m["text"] for m in exported[0]["messages"]] == ["Export me"]  # type: ignore[index]


def test_deleting_the_customer_deletes_their_chats(visitor, bob):
    visitor.say("Forget me")
    customer = session_of(visitor).customer
    assert customer is not None

    customer_services.delete_customer(bob.actor, customer)

    assert not ChatSession.objects.exists()
    assert not ChatMessage.objects.exists()
