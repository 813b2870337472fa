"""The rule editor's JSON mode and the side panel's examples with the builder on (static web/automation.js): an
example lands in the builder as a row; "Edit as JSON" shows the textarea, a refused save comes back still as JSON
with each problem by path and nothing lost (the mode is kept across the round trip), and the fixed JSON is saved."""

from __future__ import annotations

import json

import pytest

from cxloop.automation.models import Rule
from cxloop.core.actor import Actor
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from tests.browser.test_feedback_dashboard import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def purchase_type(db):
    return event_services.create_event_type(
        Actor.system("test"), EventTypeInput(key="purchase.completed", name="Purchase completed")
    )


def test_an_example_becomes_a_builder_row(page, login_as, bob, purchase_type):
    login_as(bob)
    page.goto("/automation/new/")

    page.locator("summary", has_text="Call a webhook").click()
    page.locator("button[data-label='Call a webhook']").click()

    rows = page.locator("[data-builder=actions] fieldset.rb-row")
    assert rows.count() == 2
    assert rows.nth(1).get_by_label("Kind of action").input_value() == "webhook"
    assert rows.nth(1).get_by_label("URL").input_value() == "https://example.com/hooks/cxloop"
    assert [a["type"] for a in json.loads(page.input_value("#id_actions"))] == ["tag", "webhook"]


def test_edit_as_json_refused_then_fixed_and_saved(page, login_as, bob, purchase_type):
    # given
    login_as(bob)
    page.goto("/automation/new/")
    page.fill("#id_name", "Tell the shop")
    page.select_option("#id_trigger", "customer_event:purchase.completed")
    actions = page.locator("[data-builder=actions]")

    # when: the actions are written as JSON, with a URL that cannot be called
    actions.get_by_role("button", name="Edit as JSON").click()
    assert page.locator("#id_actions").is_visible()
    typed = [{"type": "tag", "add": ["big spender"]}, {"type": "webhook", "url": "not a url"}]
    page.fill("#id_actions", json.dumps(typed, indent=2))
    page.locator("button[name=save]").click()

    # then: refused with the path, still as JSON, nothing lost
    problems = page.locator("#problems").text_content() or ""
    assert "actions[1].url: must be an http:// or https:// URL with a host" in problems
    assert page.locator("#id_actions").is_visible()
    assert json.loads(page.input_value("#id_actions")) == typed
    assert page.input_value("#id_name") == "Tell the shop"
    assert Rule.objects.count() == 0
    assert axe_violations(page) == []

    # when: fixed and saved
    typed[1]["url"] = "https://shop.example.com/hooks/cxloop"
    page.fill("#id_actions", json.dumps(typed))
    page.locator("button[name=save]").click()

    # then
    page.wait_for_url("**/automation/")
    assert Rule.objects.get().actions == [
        {"type": "tag", "add": ["big spender"], "remove": []},
        {"type": "webhook", "url": "https://shop.example.com/hooks/cxloop"},
    ]
