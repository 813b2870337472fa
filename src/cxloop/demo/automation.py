"""Two example automation rules for the demo business, made through the automation services like any others.

They are created last, so they react only to what happens from then on (rules never replay history): a VIP
who writes in is put in Bob's hands, and a detractor's NPS answer tags the customer.
"""

from __future__ import annotations

from cxloop.automation import queries as automation_queries
from cxloop.automation import services as automation_services
from cxloop.automation.services import RuleInput
from cxloop.core.actor import Actor

RULES = (
    RuleInput(
        name="VIP messages go to Bob",
        description="A message from a VIP customer: Bob's conversation, and he hears about it.",
        trigger_source="domain_event",
        trigger_type="message.received",
        conditions={"field": "tags", "operator": "contains", "value": "vip"},
        actions=[
            {"type": "assign", "target": "conversation", "user": "bob"},
            {"type": "notify", "users": ["bob"], "title": "{customer.name} (VIP) wrote in", "body": ""},
        ],
    ),
    RuleInput(
        name="Tag detractors",
        description="An NPS answer of 6 or less tags the customer, so lists and segments can find them.",
        trigger_source="domain_event",
        trigger_type="response.received",
        conditions={
            "all": [
                {"field": "event.properties.kind", "operator": "eq", "value": "nps"},
                {"field": "event.properties.score", "operator": "lte", "value": 6},
            ]
        },
        actions=[{"type": "tag", "add": ["detractor"]}],
    ),
)


def build_rules(actor: Actor) -> int:
    """Add the example rules that are not there yet (a second demo run adds nothing); returns how many."""
    existing = {rule.name for rule in automation_queries.list_rules(actor)}
    added = 0
    for rule in RULES:
        if rule.name not in existing:
            automation_services.create_rule(actor, rule)
            added += 1
    return added
