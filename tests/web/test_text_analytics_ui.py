"""What text analytics read in the customer's words, in the staff UI: a sentiment badge (in words, not colour alone)
and the emotion on the timeline, in the conversation and in the inbox list, and the inbox filter on the customer's
latest message."""

from __future__ import annotations

import re

import pytest

from cxloop import textanalytics
from cxloop.interactions import conversations
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from cxloop.interactions.types import InteractionInput
from cxloop.textanalytics import services as text_services
from tests.web.conftest import HTMX
from tests.web.test_inbox import listed, page_of, social

pytestmark = pytest.mark.django_db

ANGRY = "You charged me twice and nobody answers. I am furious, this is the worst service ever!"
HAPPY = "Thank you so much, the refund arrived and your team was wonderful."


def _badges(html: str) -> list[str]:
    """The text of each badge as a screen reader reads it (hidden label included)."""
    found = re.findall(r'<span class="sentiment">(.*?)</span></span>(?!<)', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found]


def test_the_timeline_shows_sentiment_and_emotion_of_scored_customer_messages(web, alice, ann, system):
    # given: an angry message scored, a later one not scored yet, and our answer
    angry = interaction_services.record_interaction(
        system, ann, InteractionInput(channel="email", direction="inbound", body=ANGRY, summary=ANGRY)
    )
    text_services.score_pending()
    interaction_services.record_interaction(
        system, ann, InteractionInput(channel="sms", direction="inbound", body="ok")
    )
    interaction_services.record_interaction(
        system, ann, InteractionInput(channel="email", direction="outbound", body="Sorry, we refunded you.")
    )
    expected = textanalytics.analyse(ANGRY)

    # when
    html = web(alice).get(f"/customers/{ann.public_id}/").content.decode()

    # then: one badge, on the scored message, in words
    badges = _badges(html)
    want = "Sentiment: Negative" + (f" Emotion: {expected.emotion.capitalize()}" if expected.emotion else "")
    assert badges == [want]
    item = re.search(rf'id="{angry.public_id}">(.*?)</li>', html, flags=re.S)
    assert item is not None
    assert "Sentiment: </span>Negative" in item.group(1)
    assert f'title="Sentiment score {expected.sentiment:.2f} (−1 to 1)"' in item.group(1)


def test_the_timeline_page_loaded_by_htmx_shows_the_badges_too(web, alice, ann, system):
    interaction_services.record_interaction(
        system, ann, InteractionInput(channel="chat", direction="inbound", body=HAPPY)
    )
    text_services.score_pending()

    html = web(alice).get(f"/customers/{ann.public_id}/timeline/", **HTMX).content.decode()

    assert _badges(html)[0].startswith("Sentiment: Positive")


def test_the_conversation_shows_the_badge_on_the_customers_message(web, alice):
    thread = social("@rita", "Rita Angry", text=ANGRY)
    text_services.score_pending()
    message = Interaction.objects.get(thread=thread)

    html = web(alice).get(f"/inbox/{thread.public_id}/").content.decode()

    bubble = re.search(rf'id="m-{message.public_id}">(.*?)</li>', html, flags=re.S)
    assert bubble is not None
    assert '<span class="visually-hidden">Sentiment: </span>Negative' in bubble.group(1)
    if message.emotion:
        assert f'<span class="visually-hidden">Emotion: </span>{message.emotion.capitalize()}' in bubble.group(1)


def test_the_inbox_list_shows_the_latest_customer_messages_mood(web, alice):
    angry = social("@rita", "Rita", text=ANGRY)
    happy = social("@hal", "Hal", text=HAPPY)
    unscored = social("@una", "Una", text=ANGRY)
    text_services.score_pending()
    Interaction.objects.filter(thread=unscored).update(text_analysed_at=None, sentiment=None, metadata={})

    html = page_of(web(alice), "/inbox/")

    def row_of(thread):  # type: ignore[no-untyped-def]
        found = re.search(rf'href="/inbox/{thread.public_id}/"(.*?)</a>', html, flags=re.S)
        assert found is not None
        return found.group(1)

    assert "Sentiment: </span>Negative" in row_of(angry)
    assert "Sentiment: </span>Positive" in row_of(happy)
    assert "Sentiment:" not in row_of(unscored)


def test_the_negative_filter_keeps_conversations_whose_latest_customer_message_is_negative(web, alice, system):
    # given: Rita is angry; Hal was angry, then happy; Bo is happy; Cy's angry words were answered by us
    rita = social("@rita", "Rita", text=ANGRY)
    hal = social("@hal", "Hal", text=ANGRY, id="hal-1")
    social("@hal", "Hal", text=HAPPY, id="hal-2")
    social("@bo", "Bo", text=HAPPY)
    cy = social("@cy", "Cy", text=ANGRY)
    conversations.note_outbound(cy, cy.last_activity_at)
    text_services.score_pending()
    client = web(alice)

    # when / then
    assert sorted(listed(page_of(client, "/inbox/?sentiment=negative"))) == sorted([rita.public_id, cy.public_id])
    assert hal.public_id in listed(page_of(client, "/inbox/?sentiment=positive"))
    assert client.get("/inbox/?sentiment=angry").status_code == 422


def test_the_filter_is_offered_with_a_label(web, alice):
    html = page_of(web(alice), "/inbox/")

    assert '<label for="id_sentiment">Customer&#x27;s latest message</label>' in html
    assert '<option value="negative">Negative</option>' in html
