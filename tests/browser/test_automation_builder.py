"""The rule editor's form-based builder in a real Chromium (static web/automation.js): a rule built only through
the builder saves the expected JSON; JSON the builder cannot show opens as JSON with a note and is saved unchanged;
rows are added and removed with the keyboard alone; a refused save comes back in the builder with the problem on
its row; without JavaScript the page is the JSON editor it was. The pages are axe-clean."""

from __future__ import annotations

import json

import pytest

from cxloop.automation import services
from cxloop.automation.models import Rule
from cxloop.automation.services import RuleInput
from cxloop.core.actor import Actor
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from cxloop.privacy.models import AuditEntry
from tests.browser.test_feedback_dashboard import axe_violations
from tests.cases.factories import TeamFactory
from tests.customers.factories import AttributeDefinitionFactory

pytestmark = pytest.mark.browser

HAS_EVENT = {
    "all": [
        {"field": "event.properties.total", "operator": "gte", "value": 500},
        {"has_event": "purchase.completed", "within": "90 days", "min_count": 3},
    ]
}


@pytest.fixture
def purchase_type(db):
    return event_services.create_event_type(
        Actor.system("test"), EventTypeInput(key="purchase.completed", name="Purchase completed")
    )


def _active(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; return (e.getAttribute('aria-label') || e.textContent || '')"
        " + '|' + e.tagName + '|' + (e.getAttribute('data-key') || ''); }"
    )


def test_a_rule_built_only_with_the_builder_saves_the_expected_json(page, login_as, bob, purchase_type):
    # given
    AttributeDefinitionFactory(key="plan", label="Plan")
    login_as(bob)
    page.goto("/automation/new/")
    conditions = page.locator("[data-builder=conditions]")
    actions = page.locator("[data-builder=actions]")
    assert page.locator("#id_conditions").is_hidden()
    assert page.locator("#id_actions").is_hidden()
    assert axe_violations(page) == []

    # when: two conditions, "any of"
    page.fill("#id_name", "Big spenders")
    page.select_option("#id_trigger", "customer_event:purchase.completed")
    conditions.get_by_role("button", name="Add a condition").click()
    first = conditions.locator("fieldset.rb-row").nth(0)
    first.get_by_label("Field").select_option("event.properties.")
    first.get_by_label("Key").fill("total")
    first.get_by_label("Operator").select_option("gte")
    first.get_by_label("Value").fill("500")
    conditions.get_by_role("button", name="Add a condition").click()
    second = conditions.locator("fieldset.rb-row").nth(1)
    assert second.get_by_label("Field").locator("option[value='attributes.plan']").count() == 1
    second.get_by_label("Field").select_option("attributes.plan")
    second.get_by_label("Operator").select_option("in")
    second.get_by_label("Value").fill('pro, team, "2024"')
    conditions.get_by_label("any of these conditions holds").check()
    assert not conditions.get_by_label("all of these conditions hold").is_checked()  # one radio group

    # and: the example tag action becomes "+vip", and a webhook is added
    tag = actions.locator("fieldset.rb-row").nth(0)
    assert tag.get_by_label("Kind of action").input_value() == "tag"
    tag.get_by_label("Add tags").fill("VIP, big spender")
    actions.get_by_role("button", name="Add an action").click()
    hook = actions.locator("fieldset.rb-row").nth(1)
    hook.get_by_label("Kind of action").select_option("webhook")
    hook.get_by_label("URL").fill("https://shop.example.com/hooks/cxloop")
    assert axe_violations(page) == []

    # and: "Check" reads the rule back as the builder wrote it, and the builder comes back with it
    page.locator("button[name=preview]").click()
    assert page.locator("#checked").is_visible()
    preview = " ".join((page.locator("#preview").text_content() or "").split())
    assert "event.properties.total gte 500" in preview
    assert "Call https://shop.example.com/hooks/cxloop" in preview
    assert conditions.locator("fieldset.rb-row").count() == 2
    assert actions.locator("fieldset.rb-row").count() == 2
    page.locator("button[name=save]").click()

    # then
    page.wait_for_url("**/automation/")
    rule = Rule.objects.get()
    assert rule.conditions == {
        "any": [
            {"field": "event.properties.total", "operator": "gte", "value": 500},
            {"field": "attributes.plan", "operator": "in", "value": ["pro", "team", "2024"]},
        ]
    }
    assert rule.actions == [
        {"type": "tag", "add": ["vip", "big spender"], "remove": []},
        {"type": "webhook", "url": "https://shop.example.com/hooks/cxloop"},
    ]

    # when: the saved rule is opened again, the builder shows it as it was built
    page.goto(f"/automation/{rule.public_id}/")
    rows = conditions.locator("fieldset.rb-row")
    assert rows.count() == 2
    assert rows.nth(1).get_by_label("Value").input_value() == 'pro, team, "2024"'
    assert conditions.get_by_label("any of these conditions holds").is_checked()
    assert actions.locator("fieldset.rb-row").nth(1).get_by_label("URL").input_value() == (
        "https://shop.example.com/hooks/cxloop"
    )


def test_conditions_the_builder_cannot_show_open_as_json_and_survive_a_save(page, login_as, bob, purchase_type):
    # given
    rule = services.create_rule(
        bob.actor,
        RuleInput(
            name="Loyal",
            trigger_source="customer_event",
            trigger_type="purchase.completed",
            conditions=HAS_EVENT,
            actions=[{"type": "tag", "add": ["loyal"]}],
        ),
    )
    before = (rule.conditions, rule.actions)
    login_as(bob)

    # when
    page.goto(f"/automation/{rule.public_id}/")

    # then: the conditions are JSON, with a note; the actions are in the builder
    conditions = page.locator("[data-builder=conditions]")
    assert page.locator("#id_conditions").is_visible()
    assert "cannot show" in (conditions.locator(".rb-note").text_content() or "")
    assert conditions.get_by_role("button", name="Use the builder").is_visible()
    assert page.locator("#id_actions").is_hidden()
    assert json.loads(page.input_value("#id_conditions")) == HAS_EVENT
    assert axe_violations(page) == []

    # when: asking for the builder anyway, then saving
    conditions.get_by_role("button", name="Use the builder").click()
    assert page.locator("#id_conditions").is_visible()
    page.locator("button[name=save]").click()

    # then: nothing changed, nothing was audited as a change
    page.wait_for_url("**/automation/")
    rule.refresh_from_db()
    assert (rule.conditions, rule.actions) == before
    assert AuditEntry.objects.filter(action="automation_rule.updated").count() == 0


def test_rows_are_added_and_removed_with_the_keyboard(page, login_as, bob, purchase_type):
    # given
    login_as(bob)
    page.goto("/automation/new/")
    add = page.locator("[data-builder=conditions]").get_by_role("button", name="Add a condition")

    # when: Enter on "Add a condition"
    add.focus()
    page.keyboard.press("Enter")

    # then: a row, with the focus on its first control
    assert page.locator("[data-builder=conditions] fieldset.rb-row").count() == 1
    assert _active(page).endswith("|SELECT|field")
    page.keyboard.press("Tab")
    page.keyboard.type("plan")
    assert json.loads(page.input_value("#id_conditions")) == {
        "all": [{"field": "event.properties.plan", "operator": "eq", "value": ""}]
    }

    # when: Tab to its Remove button and press Space
    for _ in range(10):
        if _active(page).startswith("Remove condition 1|"):
            break
        page.keyboard.press("Tab")
    assert _active(page).startswith("Remove condition 1|BUTTON")
    page.keyboard.press(" ")

    # then: gone, the JSON empty again, the focus back on "Add a condition", and it was said
    assert page.locator("[data-builder=conditions] fieldset.rb-row").count() == 0
    assert page.input_value("#id_conditions") == ""
    assert _active(page).startswith("Add a condition|BUTTON")
    page.wait_for_function("() => document.getElementById('builder-status').textContent === 'Condition 1 removed.'")

    # when: an action is moved with the keyboard
    actions = page.locator("[data-builder=actions]")
    actions.get_by_role("button", name="Add an action").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # from the kind to "Add tags"
    page.keyboard.type("second")
    actions.get_by_role("button", name="Move action 2 up").focus()
    page.keyboard.press("Enter")

    # then
    assert [a["add"] for a in json.loads(page.input_value("#id_actions"))] == [["second"], ["big spender"]]


def test_a_refused_save_comes_back_in_the_builder_with_the_problem_on_its_row(page, login_as, bob, purchase_type):
    # given
    login_as(bob)
    page.goto("/automation/new/")
    page.fill("#id_name", "Tell the shop")
    actions = page.locator("[data-builder=actions]")
    actions.get_by_role("button", name="Add an action").click()
    hook = actions.locator("fieldset.rb-row").nth(1)
    hook.get_by_label("Kind of action").select_option("webhook")
    hook.get_by_label("URL").fill("not a url")

    # when
    page.locator("button[name=save]").click()

    # then: refused, everything kept, the problem on the URL field of the second action
    assert "actions[1].url: must be an http:// or https:// URL with a host" in (
        page.locator("#problems").text_content() or ""
    )
    assert Rule.objects.count() == 0
    assert page.input_value("#id_name") == "Tell the shop"
    hook = actions.locator("fieldset.rb-row").nth(1)
    url = hook.get_by_label("URL")
    assert (url.input_value(), url.get_attribute("aria-invalid")) == ("not a url", "true")
    assert "must be an http:// or https:// URL with a host" in (hook.locator(".rb-error").text_content() or "")
    assert axe_violations(page) == []


def test_without_javascript_the_editor_is_the_json_one(browser, live_server, bob, purchase_type):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(bob.user)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    plain = context.new_page()
    try:
        plain.goto("/automation/new/")
        assert plain.locator("#id_conditions").is_visible()
        assert plain.locator("#id_actions").is_visible()
        assert plain.locator("[data-builder=conditions]").is_hidden()
        plain.fill("#id_name", "Plain")
        plain.select_option("#id_trigger", "customer_event:purchase.completed")
        plain.fill("#id_conditions", json.dumps({"field": "tags", "operator": "contains", "value": "vip"}))
        plain.locator("button[name=save]").click()
        plain.wait_for_url("**/automation/")
    finally:
        context.close()
    assert Rule.objects.get().conditions == {"field": "tags", "operator": "contains", "value": "vip"}


def test_name_fields_suggest_the_names_the_actions_take(page, login_as, bob, purchase_type):
    # given: a team to assign to
    TeamFactory(name="Billing")
    login_as(bob)
    page.goto("/automation/new/")
    actions = page.locator("[data-builder=actions]")

    # when: the first action becomes an assignment
    row = actions.locator("fieldset.rb-row").nth(0)
    row.get_by_label("Kind of action").select_option("assign")

    # then: its user and team fields offer the staff and the teams, and the page stays axe-clean
    user_list = row.get_by_label("To user (username)").get_attribute("list")
    team_list = row.get_by_label("And/or team").get_attribute("list")
    assert page.locator(f"datalist#{user_list} option[value='bob']").count() == 1
    assert page.locator(f"datalist#{team_list} option[value='Billing']").count() == 1
    row.get_by_label("To user (username)").fill("bob")
    assert axe_violations(page) == []
