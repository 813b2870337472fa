"""The demo's example rules: valid through the services, added once however often the demo runs."""

from __future__ import annotations

from cxloop.automation.models import Rule
from cxloop.demo.automation import build_rules


def test_the_example_rules_are_added_once(system, bob):
    first = build_rules(system)
    second = build_rules(system)

    assert (first, second) == (2, 0)
    assert list(Rule.objects.values_list("name", "trigger_type", "is_active")) == [
        ("VIP messages go to Bob", "message.received", True),
        ("Tag detractors", "response.received", True),
    ]
