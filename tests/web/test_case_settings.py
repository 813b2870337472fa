"""Case settings pages: goals, categories, case fields, templates with tasks, channel settings and macros, made
through the setup services; charlie (analyst) may look but every change is refused and nothing changes."""

from __future__ import annotations

import re

import pytest

from cxloop.cases.models import CaseFieldDefinition, CaseTemplate, Category, ChannelCaseSetting, Goal, Macro

pytestmark = pytest.mark.django_db


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_shipped_goals_are_listed(web, charlie):  # type: ignore[no-untyped-def]
    page = text_of(web(charlie).get("/settings/cases/goals/"))

    for name in ("Attract", "Acquire", "Care", "Retain", "Grow"):
        assert name in page
    assert "You may look" in page


def test_add_a_goal_and_a_category_then_retire_the_category(web, bob):  # type: ignore[no-untyped-def]
    client = web(bob)

    goal = client.post("/settings/cases/goals/", {"key": "win-back", "name": "Win back", "description": ""})
    category = client.post(
        "/settings/cases/categories/", {"key": "billing", "name": "Billing", "goal": "win-back", "description": ""}
    )
    retired = client.post("/settings/cases/categories/billing/retire/")

    assert (goal.status_code, category.status_code, retired.status_code) == (302, 302, 302)
    assert Goal.objects.get(key="win-back").name == "Win back"
    billing = Category.objects.get(key="billing")
    assert (billing.goal.key, billing.is_active) == ("win-back", False)


def test_a_duplicate_goal_key_keeps_the_form(web, bob):  # type: ignore[no-untyped-def]
    response = web(bob).post("/settings/cases/goals/", {"key": "care", "name": "Care again"})

    assert response.status_code == 422
    page = text_of(response)
    assert "already exists" in page
    assert 'value="Care again"' in page


def test_case_field_and_template_with_tasks(web, bob):  # type: ignore[no-untyped-def]
    client = web(bob)

    field = client.post(
        "/settings/cases/fields/",
        {"key": "order_no", "label": "Order number", "type": "text", "required_to_resolve": "on"},
    )
    template = client.post(
        "/settings/cases/templates/",
        {"name": "Refund", "goal": "care", "tasks": "Check the charge | 4 | Find it; Note it\nPay back"},
    )

    assert (field.status_code, template.status_code) == (302, 302)
    assert CaseFieldDefinition.objects.get().required_to_resolve is True
    refund = CaseTemplate.objects.get()
    tasks = list(refund.tasks.order_by("position").values_list("title", "due_after_hours", "checklist"))
    assert tasks == [("Check the charge", 4, ["Find it", "Note it"]), ("Pay back", None, [])]
    assert "Check the charge | 4 | Find it; Note it" in text_of(client.get("/settings/cases/templates/"))

    replaced = client.post(f"/settings/cases/templates/{refund.pk}/tasks/", {f"t{refund.pk}-tasks": "Only this"})

    assert replaced.status_code == 302
    assert list(refund.tasks.values_list("title", flat=True)) == ["Only this"]


def test_channel_setting_and_macro(web, bob):  # type: ignore[no-untyped-def]
    client = web(bob)

    channel = client.post(
        "/settings/cases/channels/email/save/",
        {"email-opens_cases": "on", "email-goal": "care", "email-category": "", "email-priority": "high"},
    )
    macro = client.post(
        "/settings/cases/macros/",
        {"name": "Escalate", "description": "", "actions": '[{"type": "set_priority", "value": "urgent"}]'},
    )
    bad = client.post("/settings/cases/macros/", {"name": "Typo", "actions": '[{"type": "set_prio"}]'})

    assert (channel.status_code, macro.status_code, bad.status_code) == (302, 302, 422)
    setting = ChannelCaseSetting.objects.get()
    assert (setting.channel, setting.opens_cases, setting.goal.key, setting.priority) == ("email", True, "care", "high")
    assert Macro.objects.get().actions == [{"type": "set_priority", "value": "urgent"}]
    assert "must be one of" in text_of(bad)


def test_charlie_may_not_change_case_settings(web, charlie):  # type: ignore[no-untyped-def]
    client = web(charlie)

    responses = [
        client.post("/settings/cases/goals/", {"key": "sneaky", "name": "Sneaky"}),
        client.post("/settings/cases/goals/care/retire/"),
        client.post("/settings/cases/channels/email/save/", {"email-opens_cases": "on", "email-priority": "low"}),
        client.post("/settings/cases/macros/", {"name": "X", "actions": "[]"}),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert not Goal.objects.filter(key="sneaky").exists()
    assert Goal.objects.get(key="care").is_active
    assert not ChannelCaseSetting.objects.exists()
    assert not Macro.objects.exists()


def test_unknown_settings_page_is_a_404(web, bob):  # type: ignore[no-untyped-def]
    assert web(bob).get("/settings/cases/nope/").status_code == 404
