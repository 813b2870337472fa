"""Closed-loop rules: conditions checked with field paths, matching that says why, the order they are tried in,
and changes that need feedback.manage and are audited."""

from __future__ import annotations

import pytest

from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.feedback.models import LoopRule
from cxloop.feedback.services import loop_rules
from cxloop.feedback.services.loop_rules import RuleInput
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CategoryFactory, GoalFactory
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import LoopRuleFactory, SurveyFactory
from tests.feedback.loop_helpers import answer

pytestmark = pytest.mark.django_db

DEFAULTS = ["NPS detractor (≤ 6)", "CSAT ≤ 2", "Angry comment (anger, sentiment < −0.5)"]


def test_a_fresh_install_has_the_three_default_rules():
    rules = list(LoopRule.objects.order_by("position"))

    assert [r.name for r in rules] == DEFAULTS
    assert [r.conditions for r in rules] == [
        {"kinds": ["nps"], "score_at_most": 6},
        {"kinds": ["csat"], "score_at_most": 2},
        {"has_comment": True, "emotions": ["anger"], "sentiment_below": -0.5},
    ]
    assert all(r.is_active and r.assign_to_agent and r.priority == "high" for r in rules)
    for rule in rules:  # each passes the service's own checks
        assert loop_rules.check_conditions(rule.conditions) == rule.conditions


@pytest.mark.parametrize(
    ("conditions", "field", "reason"),
    [
        ([], "conditions", "must be a JSON object"),
        ({}, "conditions", "give at least one condition (a rule for every answer would follow up promoters)"),
        (
            {"score_below": 3},
            "conditions.score_below",
            "unknown condition; known: kinds, surveys, score_at_most, sentiment_below, emotions, has_comment",
        ),
        ({"kinds": "nps"}, "conditions.kinds", "must be a non-empty list"),
        ({"kinds": ["nps", "stars"]}, "conditions.kinds", "unknown: stars"),
        ({"surveys": ["no-such-survey"]}, "conditions.surveys", "unknown: no-such-survey"),
        ({"score_at_most": 11}, "conditions.score_at_most", "a whole number from 0 to 10"),
        ({"score_at_most": 6.5}, "conditions.score_at_most", "a whole number from 0 to 10"),
        ({"score_at_most": True}, "conditions.score_at_most", "a whole number from 0 to 10"),
        ({"sentiment_below": -2}, "conditions.sentiment_below", "a number from -1 to 1"),
        ({"sentiment_below": "low"}, "conditions.sentiment_below", "a number from -1 to 1"),
        ({"emotions": ["rage"]}, "conditions.emotions", "unknown: rage"),
        ({"emotions": [""]}, "conditions.emotions", "each value must be non-empty text"),
        ({"has_comment": "yes"}, "conditions.has_comment", "must be true or false"),
    ],
)
def test_bad_conditions_are_refused_with_the_field_and_reason(bob, conditions, field, reason):  # type: ignore[no-untyped-def]
    before = LoopRule.objects.count()

    with pytest.raises(ValidationError) as refused:
        loop_rules.create_rule(bob.actor, RuleInput(name="Bad", conditions=conditions))

    assert refused.value.fields == {field: reason}
    assert LoopRule.objects.count() == before


def test_conditions_are_tidied():
    SurveyFactory(key="after-case")

    cleaned = loop_rules.check_conditions(
        {
            "kinds": ["nps", "nps"],
            "surveys": ["after-case"],
            "emotions": ["Anger"],
            "sentiment_below": -1,
            "has_comment": False,
        }
    )

    assert cleaned == {
        "kinds": ["nps"],
        "surveys": ["after-case"],
        "sentiment_below": -1.0,
        "emotions": ["anger"],
        "has_comment": False,
    }


def test_matching_says_which_condition_failed():
    customer = CustomerFactory()
    rule = LoopRuleFactory(
        conditions={
            "kinds": ["nps"],
            "score_at_most": 6,
            "sentiment_below": -0.5,
            "emotions": ["anger"],
            "has_comment": True,
        }
    )
    angry = answer(customer, score=2, comment="Awful", sentiment=-0.9, emotion="anger")
    mild = answer(customer, score=2, comment="Meh", sentiment=-0.2, emotion="anger")
    silent = answer(customer, score=2)
    promoter = answer(customer, score=9, comment="Great", sentiment=0.8, emotion="joy")
    csat = answer(customer, kind="csat", score=1)

    assert loop_rules.check_rule(rule, angry) == loop_rules.RuleCheck(rule, True, "all conditions hold")
    assert loop_rules.check_rule(rule, mild).reason == "sentiment -0.2 is not below -0.5"
    assert loop_rules.check_rule(rule, silent).reason == "the sentiment is not known"
    assert loop_rules.check_rule(rule, promoter).reason == "score 9 is above 6"
    assert loop_rules.check_rule(rule, csat).reason == "the survey kind csat is not among nps"


def test_a_rule_for_some_surveys_ignores_the_others():
    customer = CustomerFactory()
    relationship, after_case = SurveyFactory(key="relationship"), SurveyFactory(key="after-case")
    rule = LoopRuleFactory(conditions={"surveys": ["after-case"], "score_at_most": 6})

    assert loop_rules.check_rule(rule, answer(customer, score=3, survey=after_case)).matched
    assert loop_rules.check_rule(rule, answer(customer, score=3, survey=relationship)).reason == (
        "the survey relationship is not among after-case"
    )


def test_switched_off_rules_are_skipped_and_the_first_active_match_wins(bob):  # type: ignore[no-untyped-def]
    customer = CustomerFactory()
    detractor = LoopRule.objects.get(name=DEFAULTS[0])
    loop_rules.update_rule(bob.actor, detractor, RuleInput(is_active=False))
    later = loop_rules.create_rule(bob.actor, RuleInput(name="Any low NPS", conditions={"score_at_most": 4}))

    found = loop_rules.first_match(answer(customer, score=3))

    assert found == later
    assert loop_rules.first_match(answer(customer, score=5)) is None


def test_creating_editing_and_deleting_a_rule_is_audited(bob):  # type: ignore[no-untyped-def]
    goal, category = GoalFactory(key="retain"), CategoryFactory(key="complaints")

    rule = loop_rules.create_rule(
        bob.actor,
        RuleInput(name="  Low CES ", conditions={"kinds": ["ces"], "score_at_most": 2}, goal=goal, category=category),
    )
    loop_rules.update_rule(bob.actor, rule, RuleInput(priority="urgent", clear_category=True, owner=bob.user))
    loop_rules.update_rule(bob.actor, rule, RuleInput(priority="urgent"))  # no change, no entry
    public_id = rule.public_id
    loop_rules.delete_rule(bob.actor, rule)

    entries = list(AuditEntry.objects.filter(object_type="loop_rule", object_id=public_id).order_by("id"))
    assert [e.action for e in entries] == ["loop_rule.created", "loop_rule.updated", "loop_rule.deleted"]
    assert entries[0].after["name"] == "Low CES"
    assert entries[0].after["position"] == 4  # after the three default rules
    assert (entries[0].after["goal"], entries[0].after["category"]) == ("retain", "complaints")
    assert entries[1].before["priority"] == "high"
    assert (entries[1].after["priority"], entries[1].after["category"], entries[1].after["owner"]) == (
        "urgent",
        None,
        "bob",
    )
    assert not LoopRule.objects.filter(public_id=public_id).exists()


def test_names_are_unique_and_priorities_known(bob):  # type: ignore[no-untyped-def]
    with pytest.raises(ConflictError) as taken:
        loop_rules.create_rule(bob.actor, RuleInput(name=DEFAULTS[1], conditions={"score_at_most": 1}))
    with pytest.raises(ValidationError) as priority:
        loop_rules.create_rule(bob.actor, RuleInput(name="New", conditions={"score_at_most": 1}, priority="asap"))

    assert taken.value.fields == {"name": "already exists"}
    assert priority.value.fields == {"priority": "must be one of low, normal, high, urgent"}


def test_reordering_names_every_rule_once(bob):  # type: ignore[no-untyped-def]
    ids = list(LoopRule.objects.order_by("position").values_list("public_id", flat=True))

    with pytest.raises(ValidationError) as incomplete:
        loop_rules.reorder_rules(bob.actor, ids[:2])
    loop_rules.reorder_rules(bob.actor, [ids[2], ids[0], ids[1]])

    assert incomplete.value.fields == {"ids": f"list every rule once; missing {ids[2]}"}
    assert list(LoopRule.objects.order_by("position").values_list("name", flat=True)) == [
        DEFAULTS[2],
        DEFAULTS[0],
        DEFAULTS[1],
    ]
    assert AuditEntry.objects.filter(action="loop_rule.reordered").count() == 1


def test_only_feedback_managers_change_rules(alice, charlie):  # type: ignore[no-untyped-def]
    rule = LoopRule.objects.get(name=DEFAULTS[0])

    for member in (alice, charlie):
        with pytest.raises(PermissionDeniedError):
            loop_rules.create_rule(member.actor, RuleInput(name="Mine", conditions={"score_at_most": 1}))
        with pytest.raises(PermissionDeniedError):
            loop_rules.update_rule(member.actor, rule, RuleInput(is_active=False))
        with pytest.raises(PermissionDeniedError):
            loop_rules.delete_rule(member.actor, rule)

    assert LoopRule.objects.get(pk=rule.pk).is_active
    assert LoopRule.objects.count() == 3
    assert not AuditEntry.objects.filter(object_type="loop_rule").exists()
