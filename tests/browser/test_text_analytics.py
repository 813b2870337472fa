"""Sentiment and emotion in a real Chromium: the inbox filter on the customer's latest message, the badges read as
words, and no accessibility violations on the inbox, the conversation and the customer's timeline with badges."""

from __future__ import annotations

import pytest

from cxloop.textanalytics import services as text_services
from tests.browser.test_inbox import DESKTOP, PHONE, accessibility_violations, social

pytestmark = pytest.mark.browser

ANGRY = "You charged me twice and nobody answers. I am furious, this is the worst service ever!"
HAPPY = "Thank you so much, the refund arrived and your team was wonderful."


def test_the_negative_filter_finds_the_unhappy_customer(page, login_as, alice, db):
    angry = social("@rita", "Rita Furious", ANGRY)
    social("@hal", "Hal Happy", HAPPY)
    text_services.score_pending()
    login_as(alice)
    page.goto("/inbox/")
    assert page.locator("[data-row]").count() == 2

    page.get_by_label("Customer's latest message").select_option("negative")

    page.wait_for_url("**/inbox/?*sentiment=negative*")
    rows = page.locator("[data-row]")
    rows.first.get_by_text("Rita Furious").wait_for()
    assert rows.count() == 1
    assert rows.first.locator(".sentiment-negative").text_content() == "Sentiment: Negative"
    rows.first.click()
    page.wait_for_url(f"**/inbox/{angry.public_id}/")
    assert page.locator("#chat .bubble-inbound .sentiment-negative").text_content() == "Sentiment: Negative"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_pages_with_badges_have_no_accessibility_violations(page, login_as, alice, db, viewport):
    angry = social("@rita", "Rita Furious", ANGRY)
    social("@hal", "Hal Happy", HAPPY)
    text_services.score_pending()
    page.set_viewport_size(viewport)
    login_as(alice)

    page.goto("/inbox/")
    assert page.locator("[data-row] .sentiment").count() == 2
    inbox = accessibility_violations(page)
    page.goto(f"/inbox/{angry.public_id}/")
    conversation = accessibility_violations(page)
    page.goto(f"/customers/{angry.customer.public_id}/")
    assert page.locator("#timeline .sentiment-negative").count() == 1
    timeline = accessibility_violations(page)

    assert (inbox, conversation, timeline) == ([], [], [])
