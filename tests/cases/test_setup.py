"""Case configuration: goals, categories, case fields, templates, channel settings and macros (admins and
supervisors write it; nothing a case uses is deleted; every change is audited)."""

from __future__ import annotations

import pytest

from cxloop.cases.models import CaseFieldDefinition, CaseTemplate, ChannelCaseSetting, Goal, Macro
from cxloop.cases.services import setup
from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import (
    CaseFactory,
    CaseTemplateFactory,
    CaseTemplateTaskFactory,
    CategoryFactory,
    GoalFactory,
)

# --- goals ------------------------------------------------------------------------------------------------------


def test_the_five_engagement_goals_ship(db):
    assert list(Goal.objects.order_by("position").values_list("key", flat=True)) == [
        "attract",
        "acquire",
        "care",
        "retain",
        "grow",
    ]


def test_admin_adds_renames_and_retires_a_goal(bob):
    # when
    goal = setup.create_goal(bob.actor, key="win-back", name="Win back", description="Lapsed customers")
    setup.update_goal(bob.actor, goal, name="Win them back")
    retired = setup.update_goal(bob.actor, goal, is_active=False)

    # then
    assert (retired.name, retired.is_active, retired.position) == ("Win them back", False, 5)
    actions = list(AuditEntry.objects.filter(object_id="win-back").order_by("pk").values_list("action", flat=True))
    assert actions == ["case_goal.created", "case_goal.updated", "case_goal.updated"]


@pytest.mark.parametrize(
    ("key", "name", "field"),
    [("Bad Key", "X", "key"), ("ok", "  ", "name"), ("ok", "x" * 101, "name"), ("9lives", "X", "key")],
)
def test_a_goal_needs_a_key_and_a_name(bob, key, name, field):
    with pytest.raises(ValidationError) as refused:
        setup.create_goal(bob.actor, key=key, name=name)
    assert list(refused.value.fields) == [field]
    assert Goal.objects.count() == 5


def test_a_goal_key_is_unique(bob):
    with pytest.raises(ConflictError) as refused:
        setup.create_goal(bob.actor, key="care", name="Care again")
    assert refused.value.fields == {"key": "already exists"}


def test_a_goal_that_cases_use_is_not_deleted(bob):
    # given
    goal = setup.create_goal(bob.actor, key="loyalty", name="Loyalty")
    CaseFactory(goal=goal)

    # when
    with pytest.raises(ConflictError) as refused:
        setup.delete_goal(bob.actor, goal)

    # then
    assert refused.value.code == "goal_in_use"
    assert refused.value.fields == {"goal": "used by cases"}
    assert Goal.objects.filter(key="loyalty").exists()


def test_an_unused_goal_is_deleted(bob):
    goal = setup.create_goal(bob.actor, key="typo", name="Typo")
    setup.delete_goal(bob.actor, goal)
    assert not Goal.objects.filter(key="typo").exists()
    assert AuditEntry.objects.filter(action="case_goal.deleted", object_id="typo").count() == 1


def test_the_last_active_goal_cannot_be_retired(bob):
    Goal.objects.exclude(key="care").update(is_active=False)
    with pytest.raises(ConflictError):
        setup.update_goal(bob.actor, Goal.objects.get(key="care"), is_active=False)
    assert Goal.objects.get(key="care").is_active


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_only_configurers_change_goals(request, who):
    member = request.getfixturevalue(who)
    with pytest.raises(PermissionDeniedError):
        setup.create_goal(member.actor, key="nope", name="Nope")
    assert not Goal.objects.filter(key="nope").exists()


# --- categories -------------------------------------------------------------------------------------------------


def test_categories_are_created_changed_and_retired(bob):
    # given
    care = Goal.objects.get(key="care")
    category = setup.create_category(bob.actor, key="delivery", name="Delivery", goal=care)

    # when
    setup.update_category(bob.actor, category, name="Deliveries", clear_goal=True)
    retired = setup.update_category(bob.actor, category, is_active=False)

    # then
    assert (retired.name, retired.goal, retired.is_active) == ("Deliveries", None, False)
    assert AuditEntry.objects.filter(object_type="case_category", object_id="delivery").count() == 3


def test_a_category_key_is_unique(bob):
    CategoryFactory(key="billing")
    with pytest.raises(ConflictError):
        setup.create_category(bob.actor, key="billing", name="Billing")


# --- case fields ------------------------------------------------------------------------------------------------


def test_a_choice_field_needs_choices(bob):
    with pytest.raises(ValidationError) as refused:
        setup.define_case_field(bob.actor, key="tier", label="Tier", type="choice", choices=[" "])
    assert refused.value.fields == {"choices": "give at least one choice"}
    assert CaseFieldDefinition.objects.count() == 0


def test_only_a_choice_field_has_choices(bob):
    with pytest.raises(ValidationError) as refused:
        setup.define_case_field(bob.actor, key="note", label="Note", type="text", choices=["a"])
    assert refused.value.fields == {"choices": "only for type choice"}


def test_a_field_is_defined_changed_and_deleted(bob):
    # when
    definition = setup.define_case_field(
        bob.actor, key="root_cause", label="Root cause", type="choice", choices=["bug", "user", "bug"]
    )
    setup.update_case_field(bob.actor, definition, choices=["bug", "user", "partner"], required_to_resolve=True)

    # then
    definition.refresh_from_db()
    assert (definition.choices, definition.required_to_resolve) == (["bug", "user", "partner"], True)
    setup.delete_case_field(bob.actor, definition)
    assert CaseFieldDefinition.objects.count() == 0
    entries = AuditEntry.objects.filter(object_type="case_field").order_by("pk")
    assert list(entries.values_list("action", flat=True)) == [
        "case_field.defined",
        "case_field.updated",
        "case_field.deleted",
    ]


@pytest.mark.parametrize(("key", "type_", "field"), [("Root", "text", "key"), ("root", "colour", "type")])
def test_a_field_needs_a_valid_key_and_type(bob, key, type_, field):
    with pytest.raises(ValidationError) as refused:
        setup.define_case_field(bob.actor, key=key, label="Root", type=type_)
    assert list(refused.value.fields) == [field]


# --- templates --------------------------------------------------------------------------------------------------


def test_a_template_is_created_with_its_tasks(bob):
    # when
    template = setup.create_template(
        bob.actor,
        setup.TemplateInput(
            name="Refund",
            goal=Goal.objects.get(key="care"),
            tasks=(
                setup.TemplateTaskInput(title="Check payment", checklist=("Bank", " ")),
                setup.TemplateTaskInput(title="Refund", due_after_hours=48),
            ),
        ),
    )

    # then
    tasks = list(template.tasks.order_by("position").values_list("title", "position", "checklist", "due_after_hours"))
    assert tasks == [("Check payment", 0, ["Bank"], None), ("Refund", 1, [], 48)]


def test_template_tasks_are_checked_with_their_index(bob):
    with pytest.raises(ValidationError) as refused:
        setup.create_template(
            bob.actor,
            setup.TemplateInput(
                name="Bad",
                tasks=(setup.TemplateTaskInput(title="ok"), setup.TemplateTaskInput(title=" ", due_after_hours=0)),
            ),
        )
    assert refused.value.fields == {
        "tasks[1].title": "must be 1 to 200 characters",
        "tasks[1].due_after_hours": "must be between 1 and 8760",
    }
    assert CaseTemplate.objects.count() == 0


def test_replacing_tasks_keeps_cases_plans(bob, alice):
    # given
    from cxloop.cases.services import plans
    from cxloop.core import clock

    template = CaseTemplateFactory(name="Fault")
    CaseTemplateTaskFactory(template=template, title="Old step")
    case = CaseFactory()
    plans.seed_plan(alice.actor, case, template, at=clock.now())

    # when
    setup.replace_template_tasks(bob.actor, template, (setup.TemplateTaskInput(title="New step"),))

    # then
    assert list(template.tasks.values_list("title", flat=True)) == ["New step"]
    task = case.tasks.get()
    assert (task.title, task.from_template_id) == ("Old step", None)


def test_a_template_is_deactivated_and_renamed_uniquely(bob):
    CaseTemplateFactory(name="Taken")
    template = CaseTemplateFactory(name="Mine")
    with pytest.raises(ConflictError):
        setup.update_template(bob.actor, template, name="Taken")
    updated = setup.update_template(bob.actor, template, is_active=False)
    assert updated.is_active is False


# --- channel settings -------------------------------------------------------------------------------------------


def test_a_channel_setting_is_created_then_replaced(bob):
    # given
    billing = CategoryFactory(key="billing")

    # when
    setup.set_channel_case_setting(bob.actor, "email", opens_cases=True, category=billing, priority="high")
    setup.set_channel_case_setting(bob.actor, "email", opens_cases=False)

    # then
    setting = ChannelCaseSetting.objects.get()
    assert (setting.channel, setting.opens_cases, setting.category, setting.priority) == (
        "email",
        False,
        None,
        "normal",
    )
    entries = AuditEntry.objects.filter(action="case_channel_setting.set").order_by("pk")
    assert entries[1].before["opens_cases"] is True


def test_a_channel_setting_checks_channel_and_priority(bob):
    with pytest.raises(ValidationError) as refused:
        setup.set_channel_case_setting(bob.actor, "pigeon", opens_cases=True, priority="asap")
    assert set(refused.value.fields) == {"channel", "priority"}
    assert ChannelCaseSetting.objects.count() == 0


# --- macros -----------------------------------------------------------------------------------------------------


def test_a_macro_is_saved_with_checked_actions(bob):
    macro = setup.create_macro(
        bob.actor,
        name="Escalate",
        actions=[{"type": "set_priority", "value": "urgent"}, {"type": "add_note", "body": "Escalated"}],
    )
    assert macro.actions == [{"type": "set_priority", "value": "urgent"}, {"type": "add_note", "body": "Escalated"}]
    assert macro.created_by == bob.user


def test_a_macro_with_a_bad_action_is_refused_precisely(bob):
    with pytest.raises(ValidationError) as refused:
        setup.create_macro(
            bob.actor,
            name="Broken",
            actions=[
                {"type": "set_priority", "value": "urgent"},
                {"type": "set_goal", "value": "nope"},
                {"type": "explode"},
                {"type": "add_task"},
                {"type": "set_status", "value": "open", "colour": "red"},
            ],
        )
    assert refused.value.fields == {
        "actions[1].value": "no active goal with that key",
        "actions[2].type": "must be one of set_status, set_priority, set_category, set_goal, assign, add_task, "
        "add_note",
        "actions[3].title": "is required",
        "actions[4].colour": "is not a field of this action",
    }
    assert Macro.objects.count() == 0


def test_macro_names_are_unique_and_updates_are_checked(bob):
    macro = setup.create_macro(bob.actor, name="One", actions=[{"type": "set_priority", "value": "low"}])
    with pytest.raises(ConflictError):
        setup.create_macro(bob.actor, name="One", actions=[{"type": "set_priority", "value": "low"}])
    with pytest.raises(ValidationError):
        setup.update_macro(bob.actor, macro, actions=[])
    off = setup.update_macro(bob.actor, macro, is_active=False)
    assert off.is_active is False
    setup.delete_macro(bob.actor, off)
    assert Macro.objects.count() == 0


def test_agents_do_not_configure(alice):
    with pytest.raises(PermissionDeniedError):
        setup.create_macro(alice.actor, name="Mine", actions=[{"type": "set_priority", "value": "low"}])
    with pytest.raises(PermissionDeniedError):
        setup.define_case_field(alice.actor, key="x", label="X")
    with pytest.raises(PermissionDeniedError):
        setup.set_channel_case_setting(alice.actor, "email", opens_cases=True)
    assert (Macro.objects.count(), CaseFieldDefinition.objects.count(), ChannelCaseSetting.objects.count()) == (0, 0, 0)


def test_goals_of_templates_are_not_deleted(bob):
    goal = GoalFactory(key="grow")
    CaseTemplateFactory(goal=goal)
    with pytest.raises(ConflictError) as refused:
        setup.delete_goal(bob.actor, goal)
    assert refused.value.fields == {"goal": "used by templates"}
