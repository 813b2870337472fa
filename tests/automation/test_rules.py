"""Managing rules: checked whole with the path of each problem, ordered, switched on and off, audited, announced."""

from __future__ import annotations

import pytest

from cxloop.automation import services
from cxloop.automation.models import Rule
from cxloop.automation.services import RuleChanges, RuleInput
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events import bus
from cxloop.privacy.models import AuditEntry


def _input(**fields):
    values = {
        "name": "Tag big buyers",
        "trigger_source": "customer_event",
        "trigger_type": "purchase.completed",
        "conditions": {"field": "event.properties.amount", "operator": "gte", "value": 100},
        "actions": [{"type": "tag", "add": ["Big Buyer"]}],
    }
    values.update(fields)
    return RuleInput(**values)


def test_a_rule_is_stored_cleaned_last_in_order_and_audited(purchase_type, bob):
    first = services.create_rule(bob.actor, _input(name="  First   rule "))
    second = services.create_rule(bob.actor, _input(stop_processing=True))

    assert (first.name, first.position, second.position) == ("First rule", 1, 2)
    assert second.actions == [{"type": "tag", "add": ["big buyer"], "remove": []}]
    assert (second.created_by, second.stop_processing, second.is_active) == (bob.user, True, True)
    entry = AuditEntry.objects.get(object_id=second.public_id)
    assert (entry.action, entry.after["trigger"]) == (
        "automation_rule.created",
        {"source": "customer_event", "type": "purchase.completed"},
    )


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"name": " "}, {"name": "give a name of 1 to 200 characters"}),
        ({"trigger_type": "nobody.registered"}, {"trigger.type": "is not a registered event type"}),
        ({"trigger_source": "domain_event", "trigger_type": "case.deleted"}, {"trigger.type"}),
        ({"trigger_source": "somewhere"}, {"trigger.source": "must be customer_event or domain_event"}),
        (
            {"conditions": {"all": [{"field": "tags", "operator": "in", "value": "vip"}]}},
            {"conditions.all[0].value": '"in" takes a list of values'},
        ),
        ({"conditions": {"all": [{"field": "tags", "operator": "is"}]}}, {"conditions.all[0].operator"}),
        ({"actions": []}, {"actions": "give a list of at least one action"}),
        (
            {"actions": [{"type": "fly"}]},
            {"actions[0].type": "must be one of: tag, assign, notify, open_case, webhook"},
        ),
        (
            {"actions": [{"type": "tag", "add": ["ok"]}, {"type": "webhook", "url": "ftp://x"}]},
            {"actions[1].url": "must be an http:// or https:// URL with a host"},
        ),
        (
            {"actions": [{"type": "notify", "users": ["nobody"], "title": "Hi"}]},
            {"actions[0].users": "no active user 'nobody'"},
        ),
        ({"actions": [{"type": "notify", "title": "Hi"}]}, {"actions[0].users": "give users, a team or both"}),
        (
            {"actions": [{"type": "open_case", "subject": "", "priority": "now"}]},
            {"actions[0].subject", "actions[0].priority"},
        ),
        ({"actions": [{"type": "assign", "target": "case", "team": "Nope"}]}, {"actions[0].team": "no team 'Nope'"}),
        ({"actions": [{"type": "tag", "add": ["x"], "colour": "red"}]}, {"actions[0].colour": "unknown field here"}),
    ],
)
def test_a_bad_rule_is_refused_with_the_path_of_each_problem(purchase_type, bob, fields, problems):
    with pytest.raises(ValidationError) as refused:
        services.create_rule(bob.actor, _input(**fields))

    if isinstance(problems, dict):
        assert refused.value.fields == problems
    else:
        assert set(refused.value.fields) == problems
    assert (Rule.objects.count(), AuditEntry.objects.filter(action__startswith="automation").count()) == (0, 0)


def test_domain_event_triggers_come_from_the_catalogue(db, bob):
    rule = services.create_rule(
        bob.actor, _input(trigger_source="domain_event", trigger_type="case.opened", conditions=None)
    )

    assert (rule.trigger_source, rule.trigger_type, rule.conditions) == ("domain_event", "case.opened", None)


def test_changing_a_rule_checks_it_again_and_audits_before_and_after(purchase_type, bob):
    rule = services.create_rule(bob.actor, _input())

    changed = services.update_rule(bob.actor, rule, RuleChanges(name="Renamed", clear_conditions=True))
    with pytest.raises(ValidationError) as refused:
        services.update_rule(bob.actor, rule, RuleChanges(actions=[{"type": "webhook"}]))

    assert (changed.name, changed.conditions) == ("Renamed", None)
    assert refused.value.fields == {"actions[0].url": "required"}
    rule.refresh_from_db()
    assert (rule.name, rule.actions[0]["type"]) == ("Renamed", "tag")
    entry = AuditEntry.objects.get(action="automation_rule.updated")
    assert (entry.before["name"], entry.after["name"], entry.after["conditions"]) == ("Tag big buyers", "Renamed", None)


def test_an_unchanged_update_writes_nothing(purchase_type, bob):
    rule = services.create_rule(bob.actor, _input())

    services.update_rule(bob.actor, rule, RuleChanges(name="Tag big buyers"))

    assert AuditEntry.objects.filter(action="automation_rule.updated").count() == 0


def test_reorder_names_every_rule_once(purchase_type, bob):
    a, b, c = (services.create_rule(bob.actor, _input(name=n)) for n in "abc")

    services.reorder_rules(bob.actor, [c.public_id, a.public_id, b.public_id])
    with pytest.raises(ValidationError) as refused:
        services.reorder_rules(bob.actor, [a.public_id, b.public_id])

    assert list(Rule.objects.values_list("name", flat=True)) == ["c", "a", "b"]
    assert refused.value.fields == {"ids": f"list every rule once; missing {c.public_id}"}
    assert AuditEntry.objects.filter(action="automation_rule.reordered").count() == 1


def test_moving_a_rule_up_and_down(purchase_type, bob):
    a, _, c = (services.create_rule(bob.actor, _input(name=n)) for n in "abc")

    services.move_rule(bob.actor, c, -1)
    services.move_rule(bob.actor, a, -1)  # already first: stays

    assert list(Rule.objects.values_list("name", flat=True)) == ["a", "c", "b"]


def test_switching_off_and_on_and_deleting(purchase_type, bob, django_capture_on_commit_callbacks):
    seen: list[str] = []

    def listen(event):
        seen.append(event.change)

    bus.subscribe("automation_rule.changed", listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            rule = services.create_rule(bob.actor, _input())
            services.set_active(bob.actor, rule, False)
            services.set_active(bob.actor, rule, False)
            services.set_active(bob.actor, rule, True)
            services.delete_rule(bob.actor, rule)
    finally:
        bus.unsubscribe("automation_rule.changed", listen)

    assert seen == ["created", "deactivated", "activated", "deleted"]
    assert Rule.objects.count() == 0
    assert AuditEntry.objects.get(action="automation_rule.deleted").before["name"] == "Tag big buyers"


def test_agents_and_analysts_may_not_change_rules(purchase_type, alice, charlie, bob):
    rule = services.create_rule(bob.actor, _input())
    audits = AuditEntry.objects.count()

    for member in (alice, charlie):
        with pytest.raises(PermissionDeniedError):
            services.create_rule(member.actor, _input())
        with pytest.raises(PermissionDeniedError):
            services.update_rule(member.actor, rule, RuleChanges(name="x"))
        with pytest.raises(PermissionDeniedError):
            services.set_active(member.actor, rule, False)
        with pytest.raises(PermissionDeniedError):
            services.delete_rule(member.actor, rule)
        with pytest.raises(PermissionDeniedError):
            services.reorder_rules(member.actor, [rule.public_id])

    rule.refresh_from_db()
    assert (Rule.objects.count(), rule.name, rule.is_active, AuditEntry.objects.count()) == (
        1,
        "Tag big buyers",
        True,
        audits,
    )


def test_a_nul_character_in_the_json_is_refused(purchase_type, bob):
    with pytest.raises(ValidationError) as refused:
        services.create_rule(bob.actor, _input(actions=[{"type": "tag", "add": ["a\x00b"]}]))

    assert refused.value.fields == {"actions": "must not contain NUL (U+0000) characters"}
    assert Rule.objects.count() == 0


def test_a_duplicate_is_a_switched_off_copy_tried_last_and_audited(purchase_type, bob):
    # given
    original = services.create_rule(bob.actor, _input(stop_processing=True, description="For the shop"))
    other = services.create_rule(bob.actor, _input(name="Another"))

    # when
    copy = services.duplicate_rule(bob.actor, original)

    # then: the same rule under a new name and id, off, after the others; the original as it was
    original.refresh_from_db()
    assert copy.public_id != original.public_id
    assert (copy.name, copy.is_active, copy.position) == ("Copy of Tag big buyers", False, other.position + 1)
    same = ("description", "trigger_source", "trigger_type", "conditions", "actions", "stop_processing")
    assert [getattr(copy, f) for f in same] == [getattr(original, f) for f in same]
    assert original.is_active is True
    assert AuditEntry.objects.filter(action="automation_rule.created", object_id=copy.public_id).count() == 1


def test_a_duplicate_is_checked_as_a_new_rule_and_needs_the_right_to_manage(purchase_type, bob, alice):
    # given: a rule whose name leaves no room for "Copy of", and one that names a team since deleted
    from cxloop.accounts.models import Team

    long = services.create_rule(bob.actor, _input(name="x" * services.NAME_MAX))
    team = Team.objects.create(name="Billing")
    assigning = services.create_rule(
        bob.actor, _input(actions=[{"type": "assign", "target": "case", "team": "Billing"}])
    )
    team.delete()

    # when / then
    assert (
        services.duplicate_rule(bob.actor, long).name
        == ("Copy of " + "x" * services.NAME_MAX)[: services.NAME_MAX - 1] + "…"
    )
    with pytest.raises(ValidationError) as refused:
        services.duplicate_rule(bob.actor, assigning)
    assert refused.value.fields == {"actions[0].team": "no team 'Billing'"}
    with pytest.raises(PermissionDeniedError):
        services.duplicate_rule(alice.actor, long)
    assert Rule.objects.count() == 3
