"""Routing by what the customer's words say: a rule on sentiment or emotion holds for the first message of a
conversation or a case, before the worker has stored any score (routing analyses the message then)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cxloop import textanalytics
from cxloop.accounts.models import User
from cxloop.cases.models import Case, ChannelCaseSetting, ConversationRoute, Queue
from cxloop.cases.services import routing
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core.actor import Actor
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from cxloop.textanalytics import tasks
from tests.cases.factories import QueueFactory, QueueMemberFactory, RoutingRuleFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

pytestmark = pytest.mark.django_db

ANGRY = (
    "This is outrageous. You charged me twice AGAIN and nobody answers. I am furious, "
    "this is the worst service ever and I want my money back today!"
)
CALM = "Hello, could you tell me when my new card will arrive? Thanks."


@pytest.fixture(autouse=True)
def fresh_kick():  # type: ignore[no-untyped-def]
    tasks.reset_kick()
    yield
    tasks.reset_kick()


def _agent(username: str) -> User:
    return User.objects.create_user(username=username, password="x-pass-123456", role="agent")


def _queue(key: str, member: User, **extra: object) -> Queue:
    queue = QueueFactory(key=key, assignment_mode="round_robin", **extra)
    QueueMemberFactory(queue=queue, user=member)
    return queue


def _email(sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@shop.test", subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return bytes(msg)


def _receive(data: bytes, capture) -> Interaction:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        inbound = channel_services.receive(RawPayload(channel="email", data=data, source="test"))
    return Interaction.objects.get(public_id=inbound.interaction_refs[0])


@pytest.fixture
def experienced() -> Queue:
    """Angry or very unhappy customers go to the experienced agents; everyone else to the general queue."""
    _queue("general", _agent("newbie"), is_default=True)
    queue = _queue("experienced", _agent("veteran"))
    RoutingRuleFactory(name="Unhappy customers", queue=queue, applies_to="both", conditions={"sentiment_below": -0.5})
    return queue


def test_an_angry_first_email_goes_to_the_experienced_agents(experienced, django_capture_on_commit_callbacks):
    # when: a real inbound email starts a conversation; no worker has run
    message = _receive(_email("rita@example.com", "Charged twice", ANGRY), django_capture_on_commit_callbacks)

    # then: it was routed by its sentiment, which is still not stored (the worker stores it later)
    message.refresh_from_db()
    assert (message.sentiment, message.text_analysed_at) == (None, None)
    route = ConversationRoute.objects.get(thread=message.thread)
    assert (route.queue, route.rule.name if route.rule else None) == (experienced, "Unhappy customers")
    assert message.thread is not None
    message.thread.refresh_from_db()
    assert message.thread.assigned_to is not None
    assert message.thread.assigned_to.username == "veteran"


def test_a_calm_first_email_goes_to_the_default_queue(experienced, django_capture_on_commit_callbacks):
    message = _receive(_email("carl@example.com", "New card", CALM), django_capture_on_commit_callbacks)

    route = ConversationRoute.objects.get(thread=message.thread)
    assert (route.queue.key, route.rule) == ("general", None)


def test_a_rule_on_anger_and_sentiment_routes_the_first_message(django_capture_on_commit_callbacks):
    analysis = textanalytics.analyse(ANGRY)
    if "anger" not in analysis.emotions:
        pytest.skip("the text-analytics engine in this checkout detects no emotions yet")
    _queue("general", _agent("newbie"), is_default=True)
    queue = _queue("experienced", _agent("veteran"))
    RoutingRuleFactory(
        name="Angry",
        queue=queue,
        applies_to="conversations",
        conditions={"emotions": ["anger"], "sentiment_below": -0.5},
    )

    message = _receive(_email("rita@example.com", "Charged twice", ANGRY), django_capture_on_commit_callbacks)

    assert ConversationRoute.objects.get(thread=message.thread).queue == queue


def test_a_stored_score_is_used_rather_than_analysed_again(experienced):
    # given: a message the worker scored already (as positive, whatever the words say)
    thread = ThreadFactory(channel="chat")
    message = InteractionFactory(customer=thread.customer, thread=thread, channel="chat", body=ANGRY)
    stored = textanalytics.TextAnalysis(sentiment=0.6, sentiment_label="positive", emotion="joy")
    interaction_services.store_text_analyses(Actor.system("test"), [(message.pk, stored)])

    # when
    decision = routing.route_conversation(thread.pk, interaction_id=message.pk)

    # then
    assert decision is not None
    assert (decision.queue.key, decision.rule) == ("general", None)


def test_the_language_detected_on_the_fly_routes_when_the_message_has_none(monkeypatch):
    # given: an engine that says the text is German, and no language in the message's metadata
    real = textanalytics.analyse

    def german(text: str, *, language_hint: str = "") -> textanalytics.TextAnalysis:
        result = real(text, language_hint=language_hint)
        return textanalytics.TextAnalysis(result.sentiment, result.sentiment_label, language="de")

    monkeypatch.setattr(textanalytics, "analyse", german)
    _queue("general", _agent("newbie"), is_default=True)
    queue = _queue("german", _agent("kurt"))
    RoutingRuleFactory(queue=queue, applies_to="conversations", conditions={"languages": ["de"]})
    thread = ThreadFactory(channel="chat", customer__locale="en-GB")
    message = InteractionFactory(customer=thread.customer, thread=thread, channel="chat", body="Meine Karte ist weg")

    decision = routing.route_conversation(thread.pk, interaction_id=message.pk)

    assert decision is not None
    assert decision.queue == queue


def test_a_case_opened_from_an_angry_email_is_routed_by_its_sentiment(experienced, django_capture_on_commit_callbacks):
    # given: email opens cases
    ChannelCaseSetting.objects.create(channel="email", opens_cases=True)

    # when
    message = _receive(_email("rita@example.com", "Charged twice", ANGRY), django_capture_on_commit_callbacks)

    # then: the case went to the experienced queue, by the message's sentiment analysed on the spot
    case = Case.objects.get(public_id=message.thread.case_ref if message.thread else "")
    assert case.queue == experienced
    assert case.owner is not None
    assert case.owner.username == "veteran"
