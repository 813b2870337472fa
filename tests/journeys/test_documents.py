import copy
import json
from datetime import time, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.core.errors import ValidationError
from cxloop.journeys.documents import (
    DateAttributeTrigger,
    EventTrigger,
    HasEvent,
    JourneyDocument,
    OpenCaseStep,
    WaitStep,
    example_names,
    example_text,
    load_example,
    parse_journey,
    validate_journey,
)


def _onboarding() -> dict:
    return yaml.safe_load(example_text("onboarding"))


def _problems(data: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        validate_journey(data)
    return refused.value.fields


def test_examples_parse_into_typed_documents():
    onboarding = load_example("onboarding")
    win_back = load_example("win_back")

    assert example_names() == ("onboarding", "win_back")
    assert onboarding.entry == "welcome"
    assert onboarding.trigger == EventTrigger("account.created")
    first_wait = onboarding.step("wait_first_use")
    assert isinstance(first_wait, WaitStep)
    assert (first_wait.event_type, first_wait.timeout, first_wait.on_timeout) == ("product.used", timedelta(7), "nudge")
    morning = onboarding.step("morning")
    assert isinstance(morning, WaitStep)
    assert morning.time_of_day == time(10, 0)
    assert win_back.trigger == DateAttributeTrigger("activity.last", timedelta(days=30), time(10, 0))
    assert win_back.goal == HasEvent("activity", timedelta(days=1))
    assert (win_back.reentry.policy, win_back.reentry.days) == ("after", 90)
    case = win_back.step("owner_case")
    assert isinstance(case, OpenCaseStep)
    assert case.assignee == "account_owner"


def test_json_and_yaml_give_the_same_document():
    from_json = parse_journey(json.dumps(_onboarding()), syntax="json")

    assert from_json == load_example("onboarding")


def test_offset_before_is_negative():
    data = copy.deepcopy(yaml.safe_load(example_text("win_back")))
    data["trigger"] = {
        "kind": "date_attribute",
        "attribute": "renewal_on",
        "offset": {"duration": "30 days", "direction": "before"},
    }

    document = validate_journey(data)

    assert document.trigger == DateAttributeTrigger("renewal_on", timedelta(days=-30))


def test_unquoted_time_and_date_stay_text():
    text = example_text("onboarding").replace('time_of_day: "10:00"', "time_of_day: 10:30")

    document = parse_journey(text.replace("Shipped example.", "2026-01-01"))

    assert document.step("morning") == WaitStep(
        "morning", "check_in", "until 10:00 their time", time_of_day=time(10, 30)
    )
    assert document.version_note == "2026-01-01"


def test_schema_errors_each_give_their_path():
    data = _onboarding()
    data["trigger"] = {"kind": "event", "colour": "red"}
    data["steps"][0]["channel"] = "fax"
    del data["steps"][2]["next"]
    data["steps"][1]["duration"] = "3 days"
    data["steps"][5]["duration"] = "soon"
    data["reentry"] = {"policy": "never", "days": 3}

    problems = _problems(data)

    assert problems == {
        "trigger.event": "required",
        "trigger.colour": "unknown field here",
        "steps[0].channel": "must be one of: email, sms, whatsapp",
        "steps[1]": "a wait has exactly one of: duration, time_of_day, event",
        "steps[2].next": "required",
        "steps[5].duration": 'a positive whole amount and a unit, e.g. "30 minutes", "3 days", "2 weeks"',
        "reentry": 'days goes with policy "after" only',
    }


def test_condition_errors_give_their_path():
    data = yaml.safe_load(example_text("win_back"))
    data["steps"][0]["branches"][0]["when"] = {"all": [{"field": "profile.language", "operator": "like"}, {"x": 1}]}

    problems = _problems(data)

    assert set(problems) == {
        "steps[0].branches[0].when.all[0].operator",
        "steps[0].branches[0].when.all[1]",
    }
    assert problems["steps[0].branches[0].when.all[0].operator"].startswith("must be one of: eq, ne")
    assert problems["steps[0].branches[0].when.all[1]"].startswith("a condition is exactly one of")


@pytest.mark.parametrize(
    ("comparison", "path", "reason"),
    [
        ({"field": "tags", "operator": "in", "value": "vip"}, "value", '"in" takes a list of values'),
        ({"field": "tags", "operator": "contains"}, "value", "required"),
        ({"field": "attributes.plan", "operator": "gt", "value": [1]}, "value", 'is not of types "number", "string"'),
        ({"field": "attributes.plan", "operator": "exists", "value": "yes"}, "value", 'is not of type "boolean"'),
        ({"field": "plan", "operator": "eq", "value": 1}, "field", "a field: profile.<name>, attributes.<key>"),
    ],
)
def test_comparison_value_fits_its_operator(comparison, path, reason):
    data = yaml.safe_load(example_text("win_back"))
    data["goal"] = comparison

    problems = _problems(data)

    assert list(problems) == [f"goal.{path}"]
    assert reason in problems[f"goal.{path}"]


@pytest.mark.parametrize(
    ("step", "path", "reason"),
    [
        ({"kind": "tag", "next": "done"}, "steps[0]", "a tag step adds or removes at least one tag"),
        ({"kind": "webhook", "url": "ftp://x", "next": "done"}, "steps[0].url", "does not match"),
        ({"kind": "open_case", "subject": "", "next": "done"}, "steps[0].subject", "shorter than 1 character"),
        ({"kind": "open_case", "subject": "s", "priority": "asap", "next": "done"}, "steps[0].priority", "one of: low"),
        ({"kind": "send_survey", "next": "done"}, "steps[0].survey", "required"),
        ({"kind": "set_attribute", "attribute": "plan", "value": [1], "next": "done"}, "steps[0].value", "types"),
        ({"kind": "wait", "time_of_day": "25:00", "next": "done"}, "steps[0].time_of_day", '"HH:MM" (24-hour clock)'),
        ({"kind": "wait", "duration": "1 day", "timeout": "2 days", "next": "done"}, "steps[0].event", "required"),
        ({"kind": "branch", "branches": [], "otherwise": "done"}, "steps[0].branches", "less than 1 item"),
        ({"kind": "exit", "next": "done"}, "steps[0].next", "unknown field here"),
        ({"kind": "teleport", "next": "done"}, "steps[0].kind", "must be one of: wait, branch"),
        ({"id": "Bad Id", "kind": "exit"}, "steps[0].id", "a step id: lowercase letters"),
    ],
)
def test_each_step_kind_refuses_with_the_path(step, path, reason):
    data = {
        "key": "k",
        "name": "K",
        "trigger": {"kind": "manual"},
        "steps": [{"id": "first", **step}, {"id": "done", "kind": "exit"}],
    }

    problems = _problems(data)

    assert list(problems) == [path]
    assert reason in problems[path]


@pytest.mark.parametrize(
    ("trigger", "path", "reason"),
    [
        ({"kind": "segment"}, "trigger.segment", "required"),
        ({"kind": "manual", "event": "a.b"}, "trigger.event", "unknown field here"),
        ({"kind": "date_attribute", "attribute": "renewal_on"}, "trigger.offset", "required"),
        (
            {"kind": "date_attribute", "attribute": "r", "offset": {"direction": "before"}},
            "trigger.offset.duration",
            "required",
        ),
        ({"kind": "event", "event": "Order Placed"}, "trigger.event", "an event type: lowercase words"),
        ({"kind": "webhook"}, "trigger.kind", "must be one of: event, segment, date_attribute, manual"),
    ],
)
def test_each_trigger_kind_refuses_with_the_path(trigger, path, reason):
    data = _onboarding()
    data["trigger"] = trigger

    problems = _problems(data)

    assert list(problems) == [path]
    assert reason in problems[path]


def test_unknown_step_id_is_refused_at_the_reference():
    data = _onboarding()
    data["steps"][1]["on_timeout"] = "nowhere"

    problems = _problems(data)

    assert problems["steps[1].on_timeout"] == "no step has the id 'nowhere'"
    assert "steps[2]" in problems  # the nudge now has no way in


def test_duplicate_id_is_refused():
    data = _onboarding()
    data["steps"][4]["id"] = "nudge"

    problems = _problems(data)

    assert problems["steps[4].id"] == "the id 'nudge' is already used by steps[2]"


def test_second_entry_step_is_refused():
    data = _onboarding()
    data["steps"].append({"id": "orphan", "kind": "exit"})

    problems = _problems(data)

    assert problems == {"steps[11]": "no step leads here; only the start step 'welcome' has no way in"}


def test_start_names_the_entry_step():
    data = _onboarding()
    data["steps"].insert(0, data["steps"].pop(1))  # wait_first_use listed first
    data["start"] = "welcome"

    assert validate_journey(data).entry == "welcome"
    data["start"] = "nowhere"
    assert _problems(data) == {"start": "no step has the id 'nowhere'"}


def test_unreachable_loop_is_refused():
    data = _onboarding()
    data["steps"] += [
        {"id": "island_a", "kind": "wait", "duration": "1 day", "next": "island_b"},
        {"id": "island_b", "kind": "tag", "add": ["x"], "next": "island_a"},
    ]

    problems = _problems(data)

    assert problems == {
        "steps[11]": "cannot be reached from the start step 'welcome'",
        "steps[12]": "cannot be reached from the start step 'welcome'",
    }


def test_loop_without_a_wait_is_refused():
    data = _onboarding()
    data["steps"][8] = {"id": "settle_in", "kind": "tag", "add": ["checked-in"], "next": "check_in"}

    problems = _problems(data)

    assert problems["steps[7]"].startswith("the loop through check_in, settle_in has no wait step")


def _reminder_loop() -> dict:
    return {
        "key": "reminders",
        "name": "Reminders",
        "trigger": {"kind": "manual"},
        "goal": {"has_event": "invoice.paid"},
        "steps": [
            {"id": "start", "kind": "tag", "add": ["unpaid"], "next": "remind"},
            {
                "id": "remind",
                "kind": "send_message",
                "channel": "sms",
                "template": "pay",
                "purpose": "service",
                "next": "wait",
            },
            {"id": "wait", "kind": "wait", "duration": "1 week", "next": "remind"},
        ],
    }


def test_loop_with_a_wait_is_allowed_when_a_goal_ends_it():
    document = validate_journey(_reminder_loop())

    assert document.goal == HasEvent("invoice.paid")
    assert document.step("wait") == WaitStep("wait", "remind", duration=timedelta(weeks=1))


def test_loop_with_no_exit_is_refused_without_a_goal():
    data = _reminder_loop()
    del data["goal"]

    reason = "no path from here reaches an exit step, and the journey has no goal"
    assert _problems(data) == {"steps[0]": reason, "steps[1]": reason, "steps[2]": reason}


def test_endless_path_is_refused_without_a_goal():
    data = _onboarding()
    data["steps"][8]["next"] = "check_in"  # check_in → settle_in (waits 14 days) → check_in → ...

    problems = _problems(data)

    assert problems == {
        **{f"steps[{n}]": "no path from here reaches an exit step, and the journey has no goal" for n in (5, 6, 7, 8)},
        "steps[9]": "no step leads here; only the start step 'welcome' has no way in",
        "steps[10]": "cannot be reached from the start step 'welcome'",
    }


@pytest.mark.parametrize(
    ("text", "syntax", "reason"),
    [
        ("key: [unclosed", "yaml", "YAML syntax error at line 1"),
        ('{"key": }', "json", "JSON syntax error at line 1, column 9"),
        ('{"key": NaN}', "json", "JSON syntax error: NaN"),
        ("- a\n- b", "yaml", "[] is not of type"),
        ("key: .nan", "yaml", "not a finite number"),
        ("1: x", "yaml", "the key 1 is not text"),
        ("[" * 5000 + "]" * 5000, "json", "nested"),
    ],
)
def test_unreadable_text_is_refused_on_the_document(text, syntax, reason):
    with pytest.raises(ValidationError) as refused:
        parse_journey(text, syntax=syntax)

    (path, message), *_ = refused.value.fields.items()
    assert path in {"document", "key"}
    assert reason.replace("[] is not of type", "is not of type") in message


def test_alias_bomb_is_refused():
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 10)}]\n" for n in range(6)
    )

    with pytest.raises(ValidationError) as refused:
        parse_journey(text)

    assert refused.value.fields == {"document": "more than 100,000 values"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=40,
)
KEYS = st.sampled_from(["key", "name", "trigger", "steps", "kind", "id", "next", "event", "all", "field", "wait"])
DOCUMENTISH = st.recursive(
    JSON, lambda children: st.dictionaries(KEYS, children, max_size=6) | st.lists(children, max_size=4), max_leaves=60
)


def _outcome(text: str, syntax: str) -> object:
    try:
        return parse_journey(text, syntax=syntax)
    except ValidationError as refused:
        return refused


def _paths(value: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += _paths(item, (*path, n))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    copied = copy.deepcopy(value)
    node = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copied


@settings(max_examples=300, deadline=None)
@given(DOCUMENTISH)
def test_arbitrary_json_is_refused_with_paths_never_crashes(data):
    outcome = _outcome(json.dumps(data), "json")

    assert isinstance(outcome, ValidationError)
    assert outcome.fields


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_paths(yaml.safe_load(example_text("win_back")))[1:]), DOCUMENTISH)
def test_example_with_any_part_replaced_is_accepted_or_refused_with_paths(path, new):
    data = _replace(yaml.safe_load(example_text("win_back")), path, new)

    outcome = _outcome(json.dumps(data), "json")

    assert isinstance(outcome, JourneyDocument) or (isinstance(outcome, ValidationError) and outcome.fields)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_yaml_text_never_crashes(text):
    outcome = _outcome(text, "yaml")

    assert isinstance(outcome, ValidationError)
    assert outcome.fields


def test_docs_show_the_examples_as_shipped():
    reference = (Path(__file__).parents[2] / "docs" / "journeys.md").read_text(encoding="utf-8")

    for name in example_names():
        assert example_text(name) in reference
