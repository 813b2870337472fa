"""Who may call what, for EVERY operation of /api/v1, enumerated from the OpenAPI schema.

401 checks need nothing but the schema, so a new endpoint is covered the moment it is mounted. The 403
checks need a valid request that reaches the permission check: ACCESS below declares, per operation, the
permissions it needs and an example request; test_every_operation_has_an_access_rule fails until a new
endpoint is declared here (NetBox's "a test that is mostly data").
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from cxloop.accounts import services as account_services
from cxloop.accounts.models import ApiToken, User
from cxloop.api.main import api as ninja_api
from cxloop.cases.models import (
    AgentAvailability,
    Case,
    CaseConversation,
    CaseFieldDefinition,
    CaseLink,
    CaseTask,
    CaseTemplate,
    CaseTemplateTask,
    Category,
    ChannelCaseSetting,
    Goal,
    Handover,
    Macro,
    Promise,
    Queue,
    QueueMember,
    RoutingRule,
)
from cxloop.cases.services import promises as promise_services
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm, permissions_for
from cxloop.customers import services as customer_services
from cxloop.customers.models import AttributeDefinition, Customer, Identity, Merge, MergeSuggestion
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import ConsentRecord, OutboundMessage, Suppression, Template, TemplateVersion
from cxloop.messaging.types import SendRequest, TemplateContent
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, CaseTemplateFactory, CaseTemplateTaskFactory, MacroFactory
from tests.conftest import Member
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory, IdentityFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

SCHEMA = ninja_api.get_openapi_schema(path_prefix="/api/v1/")
OPERATIONS = sorted(
    (method.upper(), path) for path, methods in SCHEMA["paths"].items() for method in methods if method != "parameters"
)
OPERATION_IDS = [f"{m} {p}" for m, p in OPERATIONS]

World = dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """What an operation needs (all of `perms`; none = any signed-in user) and an example request."""

    perms: frozenset[Perm] = frozenset()
    params: Callable[[World, Member], dict[str, Any]] = lambda world, member: {}
    body: Callable[[World], Any] | None = None
    query: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _customer(world: World, member: Member) -> dict[str, Any]:
    return {"customer_id": world["customer"].public_id}


def _identity(world: World, member: Member) -> dict[str, Any]:
    return {"customer_id": world["customer"].public_id, "identity_id": world["identity"].public_id}


def _inbound(world: World, member: Member) -> dict[str, Any]:
    return {"inbound_id": world["inbound"].public_id}


def _conversation(world: World, member: Member) -> dict[str, Any]:
    return {"conversation_id": world["thread"].public_id}


def _template(world: World, member: Member) -> dict[str, Any]:
    return {"key": "welcome"}


def _version(world: World) -> dict[str, Any]:
    return {"locale": "en", "body_text": "Hello {{ customer.first_name }}"}


def _promise(world: World, member: Member) -> dict[str, Any]:
    """A promise owned by the caller when their role may own one (so its owner may cancel or move it)."""
    owner = member.user if Perm.CASES_WORK in permissions_for(member.user.role) else None
    promise = promise_services.make_promise(
        Actor.system("test"),
        customer=world["customer"],
        description="Call back",
        due_at=clock.now() + timedelta(days=1),
        owner=owner,
    )
    return {"promise_id": promise.public_id}


def _routing_queue(world: World, member: Member) -> dict[str, Any]:
    """A queue "triage" with alice as its member (created when a routing operation names it)."""
    queue, _ = Queue.objects.get_or_create(key="triage", defaults={"name": "Triage"})
    alice = User.objects.filter(username="alice").first()
    if alice is not None:
        QueueMember.objects.get_or_create(queue=queue, user=alice)
    return {"key": "triage", "username": "alice"}


def _routing_rule(world: World, member: Member) -> dict[str, Any]:
    _routing_queue(world, member)
    rule, _ = RoutingRule.objects.get_or_create(name="Everything", defaults={"queue": Queue.objects.get(key="triage")})
    return {"rule_id": rule.pk}


def _due_tomorrow() -> str:
    return (clock.now() + timedelta(days=1)).isoformat()


def _case(world: World, member: Member) -> dict[str, Any]:
    return {"case_id": world["case"].public_id}


def _feedback_loop(world: World, member: Member) -> dict[str, Any]:
    """A follow-up of an NPS 2 from the world's customer (opened when a loop operation names it)."""
    from cxloop.feedback.services import loops as loop_services
    from tests.feedback.factories import InvitationFactory, ResponseFactory

    invitation = InvitationFactory(customer=world["customer"])
    loop = loop_services.open_loop(Actor.system("test"), ResponseFactory(invitation=invitation, score=2))
    assert loop is not None
    return {"loop_id": loop.public_id}


def _survey_answers(world: World) -> dict[str, Any]:
    """Answers to a fresh NPS invitation of the world's customer (made when the operation names it)."""
    from cxloop.feedback.definitions import standard_definition
    from cxloop.feedback.links import invitation_token
    from tests.feedback.factories import InvitationFactory, SurveyFactory

    survey = SurveyFactory(key="nps-access", kind="nps", definition=standard_definition("nps"))
    invitation = InvitationFactory(customer=world["customer"], survey=survey)
    return {"token": invitation_token(invitation.public_id), "answers": {"score": 9, "comment": "Quick and kind"}}


def _survey_response(world: World, member: Member) -> dict[str, Any]:
    from tests.feedback.factories import InvitationFactory, ResponseFactory

    return {"response_id": ResponseFactory(invitation=InvitationFactory(customer=world["customer"])).public_id}


def _event_type(world: World, member: Member) -> dict[str, Any]:
    """The key of an event type, registered when an operation names it."""
    from cxloop.events.models import EventType

    EventType.objects.get_or_create(key="order.shipped", defaults={"name": "Order shipped"})
    return {"key": "order.shipped"}


def _customer_event(world: World, member: Member) -> dict[str, Any]:
    from cxloop.events import services as event_services
    from cxloop.events.types import CustomerRef, EventInput

    _event_type(world, member)
    (result,) = event_services.ingest_events(
        Actor.system("test"),
        [
            EventInput(
                event_id=f"access-{member.user.pk}", type="order.shipped", customer=CustomerRef(email="ev@example.com")
            )
        ],
    )
    return {"event_id": result.event_public_id}


def _event_body(world: World) -> dict[str, Any]:
    _event_type(world, None)  # type: ignore[arg-type]
    return {"event_id": "access-post", "type": "order.shipped", "customer": {"email": "ev@example.com"}}


def _loop_rule(world: World, member: Member) -> dict[str, Any]:
    from cxloop.feedback.models import LoopRule

    return {"rule_id": LoopRule.objects.order_by("position").values_list("public_id", flat=True)[0]}


def _loop_rule_order(world: World) -> dict[str, Any]:
    from cxloop.feedback.models import LoopRule

    return {"ids": list(LoopRule.objects.order_by("-position").values_list("public_id", flat=True))}


def _survey(world: World, member: Member) -> dict[str, Any]:
    """An active NPS survey "access-nps" with a trigger (made when a survey operation names them)."""
    from cxloop.feedback.models import Survey
    from cxloop.feedback.services import surveys as survey_services
    from cxloop.feedback.services import triggers as trigger_services

    system = Actor.system("test")
    survey = Survey.objects.filter(key="access-nps").first()
    if survey is None:
        survey = survey_services.create_survey(
            system, survey_services.SurveyInput(key="access-nps", name="Access NPS", kind="nps")
        )
        survey = survey_services.activate_survey(system, survey)
        trigger_services.create_trigger(system, survey, trigger_services.TriggerInput(event_name="case.resolved"))
    return {"survey_id": survey.key, "trigger_id": survey.triggers.get().public_id}


def _survey_invitation(world: World, member: Member) -> dict[str, Any]:
    from tests.feedback.factories import InvitationFactory

    return {"invitation_id": InvitationFactory(customer=world["customer"]).public_id}


def _survey_fingerprint() -> tuple[Any, ...]:
    from cxloop.feedback.models import Survey, SurveyTrigger

    return (
        list(Survey.objects.order_by("pk").values_list("pk", "name", "status", "version", "translations")),
        list(SurveyTrigger.objects.order_by("pk").values_list("pk", "event_name", "delay_minutes", "is_active")),
    )


def _case_task(world: World, member: Member) -> dict[str, Any]:
    return {"case_id": world["case"].public_id, "task_id": world["case_task"].pk}


def _handover_to(world: World, member: Member) -> dict[str, Any]:
    """A hand-over whose receiver is the caller (only the receiver may acknowledge one)."""
    handover = Handover.objects.create(
        case=world["case"], to_user=member.user, note="Over to you", created_at=clock.now()
    )
    return {"handover_id": handover.pk}


def _case_world(customer: Customer) -> World:
    """What the case operations name: a case with a task, a linked conversation and a link; a duplicate of it;
    an unassigned case; configuration (an unused goal, a category, a field, a template, a macro)."""
    case = CaseFactory(customer=customer, subject="Card declined")
    linked = ThreadFactory(customer=customer)
    CaseConversation.objects.create(case=case, thread=linked, linked_at=clock.now())
    conversations.link_thread_to_case(linked, case.public_id)
    other = CaseFactory()
    template = CaseTemplateFactory(name="Billing")
    CaseTemplateTaskFactory(template=template, title="Check invoice")
    return {
        "case": case,
        "case_task": CaseTask.objects.create(case=case, title="Call back"),
        "case_duplicate": CaseFactory(customer=customer),
        "case_unassigned": CaseFactory(customer=customer, status="new"),
        "case_link": CaseLink.objects.create(from_case=case, to_case=other, kind="related"),
        "case_other": other,
        "case_thread": linked,
        "case_free_thread": ThreadFactory(customer=customer),
        "case_category": Category.objects.create(key="billing", name="Billing"),
        "case_goal_unused": Goal.objects.create(key="unused", name="Unused"),
        "case_field": CaseFieldDefinition.objects.create(key="region", label="Region"),
        "case_template": template,
        "macro": MacroFactory(name="Escalate"),
    }


def _sla(world: World, member: Member) -> dict[str, Any]:
    """A calendar with a holiday, a policy and a team, made on first use (SLA operations name them)."""
    from cxloop.accounts.models import Team
    from tests.cases.factories import BusinessCalendarFactory, HolidayFactory, SlaPolicyFactory

    if "sla_calendar" not in world:
        world["sla_calendar"] = BusinessCalendarFactory(name="Office hours")
        world["sla_holiday"] = HolidayFactory(calendar=world["sla_calendar"], date="2030-12-25")
        world["sla_policy"] = SlaPolicyFactory(name="Standard")
        world["sla_team"] = Team.objects.get_or_create(name="SLA team")[0]
    return {
        "calendar_id": world["sla_calendar"].pk,
        "holiday_id": world["sla_holiday"].pk,
        "policy_id": world["sla_policy"].pk,
        "team_id": world["sla_team"].pk,
        "case_id": world["case"].public_id,
    }


ITEM = {
    "channel": "sms",
    "direction": "inbound",
    "body": "Where is my card?",
    "identities": [{"kind": "phone", "value": "+447700900999"}],
}

JOURNEY_SOURCE = """key: access-journey
name: Access journey
trigger: {kind: manual}
steps:
  - {id: wait_a_day, kind: wait, duration: 1 day, next: done}
  - {id: done, kind: exit, reason: done}
"""


def _journey_with(status: str) -> Any:
    """The journey "access-journey" in `status` (made when a journey operation names it)."""
    from cxloop.journeys import services as journey_services
    from cxloop.journeys.models import Journey

    system = Actor.system("test")
    journey = Journey.objects.filter(key="access-journey").first() or journey_services.create_journey(
        system, JOURNEY_SOURCE
    )
    if status != "draft" and journey.status == "draft":
        journey = journey_services.activate_journey(system, journey)
    if status == "paused":
        journey = journey_services.pause_journey(system, journey)
    return journey


def _journey(world: World, member: Member) -> dict[str, Any]:
    return {"journey_id": _journey_with("draft").key, "number": 1}


def _journey_active(world: World, member: Member) -> dict[str, Any]:
    return {"journey_id": _journey_with("active").key}


def _journey_paused(world: World, member: Member) -> dict[str, Any]:
    return {"journey_id": _journey_with("paused").key}


def _journey_enrolment(world: World, member: Member) -> dict[str, Any]:
    """An enrolment of the customer in the active journey."""
    from cxloop.journeys import enrolments

    journey = _journey_with("active")
    enrolment = enrolments.enrol(Actor.system("test"), journey, world["customer"], trigger_ref="manual:test:1")
    return {"journey_id": journey.key, "enrolment_id": enrolment.public_id}


def _journey_fingerprint() -> tuple[Any, ...]:
    from cxloop.journeys.models import Enrolment, Journey, JourneyVersion

    return (
        list(Journey.objects.order_by("pk").values_list("pk", "status", "current_version_id")),
        JourneyVersion.objects.count(),
        list(Enrolment.objects.order_by("pk").values_list("pk", "state", "step")),
    )


def _automation_rule(world: World, member: Member) -> dict[str, Any]:
    """A rule "Tag new cases" on case.opened (made when an automation operation names it)."""
    from cxloop.automation import services as automation_services
    from cxloop.automation.models import Rule as AutomationRule

    rule = AutomationRule.objects.filter(name="Tag new cases").first() or automation_services.create_rule(
        Actor.system("test"),
        automation_services.RuleInput(
            name="Tag new cases",
            trigger_source="domain_event",
            trigger_type="case.opened",
            actions=[{"type": "tag", "add": ["has-case"]}],
        ),
    )
    return {"rule_id": rule.public_id}


def _automation_run(world: World, member: Member) -> dict[str, Any]:
    from cxloop.automation.models import Rule as AutomationRule
    from cxloop.automation.models import RuleRun

    _automation_rule(world, member)
    run, _ = RuleRun.objects.get_or_create(
        rule=AutomationRule.objects.get(name="Tag new cases"),
        event_ref="case.opened:access",
        defaults={"trigger_type": "case.opened", "customer": world["customer"], "status": "skipped", "at": clock.now()},
    )
    return {"run_id": run.public_id}


def _automation_failed_run(world: World, member: Member) -> dict[str, Any]:
    """A failed run of "Tag new cases" (its webhook found nobody), for the retry."""
    from cxloop.automation.models import Rule as AutomationRule
    from cxloop.automation.models import RuleRun

    _automation_rule(world, member)
    run, _ = RuleRun.objects.get_or_create(
        rule=AutomationRule.objects.get(name="Tag new cases"),
        event_ref=f"case.opened:failed-{member.user.pk}",
        defaults={
            "trigger_type": "case.opened",
            "customer": world["customer"],
            "status": "failed",
            "at": clock.now(),
            "finished_at": clock.now(),
            "outcomes": [{"index": 0, "type": "tag", "status": "failed", "error": "x", "detail": {}}],
        },
    )
    return {"run_id": run.public_id}


ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/customers"): Rule(frozenset({Perm.CUSTOMERS_VIEW})),
    ("POST", "/api/v1/customers"): Rule(frozenset({Perm.CUSTOMERS_EDIT}), body=lambda w: {"name": "New"}),
    ("GET", "/api/v1/customers/lookup"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), query="?email=ann%40example.com"),
    ("GET", "/api/v1/customers/{customer_id}"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer),
    ("PATCH", "/api/v1/customers/{customer_id}"): Rule(
        frozenset({Perm.CUSTOMERS_EDIT}), _customer, body=lambda w: {"name": "Changed"}
    ),
    ("DELETE", "/api/v1/customers/{customer_id}"): Rule(frozenset({Perm.CUSTOMERS_DELETE}), _customer),
    ("GET", "/api/v1/customers/{customer_id}/export"): Rule(frozenset({Perm.CUSTOMERS_EXPORT}), _customer),
    ("GET", "/api/v1/customers/{customer_id}/identities"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer),
    ("POST", "/api/v1/customers/{customer_id}/identities"): Rule(
        frozenset({Perm.CUSTOMERS_EDIT}), _customer, body=lambda w: {"kind": "email", "value": "new@example.com"}
    ),
    ("PATCH", "/api/v1/customers/{customer_id}/identities/{identity_id}"): Rule(
        frozenset({Perm.CUSTOMERS_EDIT}), _identity, body=lambda w: {"is_verified": True}
    ),
    ("DELETE", "/api/v1/customers/{customer_id}/identities/{identity_id}"): Rule(
        frozenset({Perm.CUSTOMERS_EDIT}), _identity
    ),
    ("POST", "/api/v1/customers/{customer_id}/merge"): Rule(
        frozenset({Perm.CUSTOMERS_MERGE}), _customer, body=lambda w: {"source": w["other"].public_id}
    ),
    ("GET", "/api/v1/customers/{customer_id}/merges"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer),
    ("POST", "/api/v1/merges/{merge_id}/unmerge"): Rule(
        frozenset({Perm.CUSTOMERS_MERGE}), lambda w, m: {"merge_id": w["merge"].public_id}, body=lambda w: {}
    ),
    ("GET", "/api/v1/merge-suggestions"): Rule(frozenset({Perm.CUSTOMERS_VIEW})),
    ("POST", "/api/v1/merge-suggestions/{suggestion_id}/decision"): Rule(
        frozenset({Perm.CUSTOMERS_MERGE}),
        lambda w, m: {"suggestion_id": w["suggestion"].public_id},
        body=lambda w: {"action": "dismiss"},
    ),
    ("GET", "/api/v1/attributes"): Rule(frozenset({Perm.CUSTOMERS_VIEW})),
    ("POST", "/api/v1/attributes"): Rule(
        frozenset({Perm.ATTRIBUTES_MANAGE}), body=lambda w: {"key": "tier", "label": "Tier"}
    ),
    ("DELETE", "/api/v1/attributes/{key}"): Rule(frozenset({Perm.ATTRIBUTES_MANAGE}), lambda w, m: {"key": "plan"}),
    ("GET", "/api/v1/customers/{customer_id}/timeline"): Rule(frozenset({Perm.INTERACTIONS_VIEW}), _customer),
    ("POST", "/api/v1/customers/{customer_id}/interactions"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE}),
        _customer,
        body=lambda w: {"channel": "note", "direction": "internal", "body": "Called back"},
    ),
    ("POST", "/api/v1/interactions"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE, Perm.CUSTOMERS_EDIT}), body=lambda w: ITEM
    ),
    ("POST", "/api/v1/interactions/batch"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE, Perm.CUSTOMERS_EDIT}), body=lambda w: {"items": [ITEM]}
    ),
    ("GET", "/api/v1/event-types"): Rule(frozenset({Perm.INTERACTIONS_VIEW})),
    ("POST", "/api/v1/event-types"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), body=lambda w: {"key": "trial.started", "name": "Trial started"}
    ),
    ("GET", "/api/v1/event-types/{key}"): Rule(frozenset({Perm.INTERACTIONS_VIEW}), _event_type),
    ("PUT", "/api/v1/event-types/{key}"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), _event_type, body=lambda w: {"name": "Order shipped"}
    ),
    ("POST", "/api/v1/events"): Rule(frozenset({Perm.INTERACTIONS_WRITE, Perm.CUSTOMERS_EDIT}), body=_event_body),
    ("GET", "/api/v1/events/{event_id}"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer_event),
    ("GET", "/api/v1/customers/{customer_id}/events"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer),
    ("GET", "/api/v1/interactions/{interaction_id}"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW}), lambda w, m: {"interaction_id": w["interaction"].public_id}
    ),
    ("GET", "/api/v1/tokens"): Rule(),
    ("POST", "/api/v1/tokens"): Rule(body=lambda w: {"name": "another", "scopes": ["read"]}),
    ("DELETE", "/api/v1/tokens/{token_id}"): Rule(
        params=lambda w, m: {"token_id": ApiToken.objects.get(token_hash=account_services.hash_token(m.token)).pk}
    ),
    ("GET", "/api/v1/audit"): Rule(frozenset({Perm.AUDIT_VIEW})),
    ("GET", "/api/v1/inbound"): Rule(frozenset({Perm.CHANNELS_MANAGE})),
    ("GET", "/api/v1/inbound/{inbound_id}"): Rule(frozenset({Perm.CHANNELS_MANAGE}), _inbound),
    ("GET", "/api/v1/inbound/{inbound_id}/raw"): Rule(frozenset({Perm.CHANNELS_MANAGE}), _inbound),
    ("POST", "/api/v1/inbound/{inbound_id}/reprocess"): Rule(frozenset({Perm.CHANNELS_MANAGE}), _inbound),
    ("POST", "/api/v1/inbound/{inbound_id}/discard"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), _inbound, body=lambda w: {"note": "spam"}
    ),
    ("POST", "/api/v1/customers/{customer_id}/calls"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE}),
        _customer,
        body=lambda w: {"direction": "inbound", "outcome": "missed"},
    ),
    ("POST", "/api/v1/calls"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE, Perm.CUSTOMERS_EDIT}),
        body=lambda w: {"number": "+447700900555", "direction": "inbound", "outcome": "missed"},
    ),
    ("GET", "/api/v1/conversations"): Rule(frozenset({Perm.INTERACTIONS_VIEW})),
    ("GET", "/api/v1/conversations/{conversation_id}"): Rule(frozenset({Perm.INTERACTIONS_VIEW}), _conversation),
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW}), _conversation
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW, Perm.INTERACTIONS_WRITE, Perm.CONVERSATIONS_ASSIGN}),
        _conversation,
        body=lambda w: {"assignee": "bob"},
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/status"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW, Perm.INTERACTIONS_WRITE}), _conversation, body=lambda w: {"status": "closed"}
    ),
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW, Perm.INTERACTIONS_WRITE}), _conversation, body=lambda w: {"body": "VIP"}
    ),
    ("POST", "/api/v1/messages"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE}),
        body=lambda w: {"customer": w["customer"].public_id, "channel": "email", "text": "Hello"},
    ),
    ("GET", "/api/v1/messages"): Rule(frozenset({Perm.INTERACTIONS_VIEW})),
    ("GET", "/api/v1/messages/{message_id}"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW}), lambda w, m: {"message_id": w["message"].public_id}
    ),
    ("GET", "/api/v1/templates"): Rule(frozenset({Perm.INTERACTIONS_VIEW})),
    ("POST", "/api/v1/templates"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}),
        body=lambda w: {"key": "another", "name": "Another", "channel": "email", "content": _version(w)},
    ),
    ("GET", "/api/v1/templates/{key}"): Rule(frozenset({Perm.INTERACTIONS_VIEW}), _template),
    ("PATCH", "/api/v1/templates/{key}"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), _template, body=lambda w: {"name": "Renamed"}
    ),
    ("DELETE", "/api/v1/templates/{key}"): Rule(frozenset({Perm.CHANNELS_MANAGE}), _template),
    ("GET", "/api/v1/templates/{key}/versions"): Rule(frozenset({Perm.INTERACTIONS_VIEW}), _template),
    ("POST", "/api/v1/templates/{key}/versions"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), _template, body=lambda w: {**_version(w), "body_text": "Hi again"}
    ),
    ("POST", "/api/v1/templates/{key}/preview"): Rule(
        frozenset({Perm.INTERACTIONS_VIEW, Perm.CUSTOMERS_VIEW}),
        _template,
        body=lambda w: {"customer": w["customer"].public_id},
    ),
    ("GET", "/api/v1/customers/{customer_id}/consents"): Rule(frozenset({Perm.CUSTOMERS_VIEW}), _customer),
    ("POST", "/api/v1/customers/{customer_id}/consents"): Rule(
        frozenset({Perm.CUSTOMERS_EDIT}),
        _customer,
        body=lambda w: {"changes": [{"channel": "email", "purpose": "marketing", "granted": True}]},
    ),
    ("GET", "/api/v1/suppressions"): Rule(frozenset({Perm.CUSTOMERS_VIEW})),
    ("POST", "/api/v1/suppressions"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), body=lambda w: {"channel": "email", "address": "else@example.com"}
    ),
    ("DELETE", "/api/v1/suppressions/{suppression_id}"): Rule(
        frozenset({Perm.CHANNELS_MANAGE}), lambda w, m: {"suppression_id": w["suppression"].public_id}
    ),
    ("POST", "/api/v1/inbound/email"): Rule(
        frozenset({Perm.INTERACTIONS_WRITE}),
        body=lambda w: {"raw_base64": base64.b64encode(b"From: ann@example.com\r\n\r\nHi").decode()},
    ),
    ("GET", "/api/v1/promises"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/promises"): Rule(
        frozenset({Perm.CASES_WORK}),
        body=lambda w: {"customer": w["customer"].public_id, "description": "Call back", "due_at": _due_tomorrow()},
    ),
    ("GET", "/api/v1/promises/kept-rate"): Rule(frozenset({Perm.CASES_VIEW})),
    ("GET", "/api/v1/promises/{promise_id}"): Rule(frozenset({Perm.CASES_VIEW}), _promise),
    ("POST", "/api/v1/promises/{promise_id}/keep"): Rule(frozenset({Perm.CASES_VIEW, Perm.CASES_WORK}), _promise),
    ("POST", "/api/v1/promises/{promise_id}/cancel"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_WORK}), _promise, body=lambda w: {"reason": "Not needed"}
    ),
    ("POST", "/api/v1/promises/{promise_id}/reschedule"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_WORK}),
        _promise,
        body=lambda w: {"due_at": _due_tomorrow(), "reason": "Parts late"},
    ),
    ("GET", "/api/v1/customers/{customer_id}/promises-link"): Rule(
        frozenset({Perm.CUSTOMERS_VIEW, Perm.CASES_WORK}), _customer
    ),
    ("GET", "/api/v1/queues"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/queues"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"key": "billing", "name": "Billing", "members": ["alice"]}
    ),
    ("GET", "/api/v1/queues/{key}"): Rule(frozenset({Perm.CASES_VIEW}), _routing_queue),
    ("PATCH", "/api/v1/queues/{key}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), _routing_queue, body=lambda w: {"assignment_mode": "round_robin"}
    ),
    ("DELETE", "/api/v1/queues/{key}"): Rule(frozenset({Perm.CASES_CONFIGURE}), _routing_queue),
    ("PUT", "/api/v1/queues/{key}/members"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), _routing_queue, body=lambda w: {"usernames": ["bob"]}
    ),
    ("POST", "/api/v1/queues/{key}/members"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), _routing_queue, body=lambda w: {"username": "bob"}
    ),
    ("DELETE", "/api/v1/queues/{key}/members/{username}"): Rule(frozenset({Perm.CASES_CONFIGURE}), _routing_queue),
    ("GET", "/api/v1/routing/rules"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/routing/rules"): Rule(
        frozenset({Perm.CASES_CONFIGURE}),
        _routing_queue,
        body=lambda w: {"name": "Chats", "queue": "triage", "conditions": {"channels": ["chat"]}},
    ),
    ("PUT", "/api/v1/routing/rules/order"): Rule(
        frozenset({Perm.CASES_CONFIGURE}),
        _routing_rule,
        body=lambda w: {"ids": list(RoutingRule.objects.values_list("pk", flat=True))},
    ),
    ("GET", "/api/v1/routing/rules/{rule_id}"): Rule(frozenset({Perm.CASES_VIEW}), _routing_rule),
    ("PATCH", "/api/v1/routing/rules/{rule_id}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), _routing_rule, body=lambda w: {"is_active": False}
    ),
    ("DELETE", "/api/v1/routing/rules/{rule_id}"): Rule(frozenset({Perm.CASES_CONFIGURE}), _routing_rule),
    ("POST", "/api/v1/routing/preview"): Rule(
        frozenset({Perm.CASES_VIEW}), _routing_rule, body=lambda w: {"channel": "email", "text": "Where is my card?"}
    ),
    ("GET", "/api/v1/agents"): Rule(frozenset({Perm.CASES_VIEW})),
    ("GET", "/api/v1/agents/{username}/availability"): Rule(frozenset({Perm.CASES_VIEW}), _routing_queue),
    ("PUT", "/api/v1/agents/{username}/availability"): Rule(
        frozenset({Perm.CASES_WORK}), lambda w, m: {"username": m.user.username}, body=lambda w: {"status": "away"}
    ),
    ("GET", "/api/v1/cases"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/cases"): Rule(
        frozenset({Perm.CASES_WORK, Perm.CUSTOMERS_VIEW}),
        body=lambda w: {"customer": w["customer"].public_id, "subject": "Card declined again"},
    ),
    ("POST", "/api/v1/cases/bulk"): Rule(
        frozenset({Perm.CASES_WORK}),
        body=lambda w: {"case_ids": [w["case"].public_id], "actions": [{"type": "set_priority", "value": "low"}]},
    ),
    ("GET", "/api/v1/cases/{case_id}"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("PATCH", "/api/v1/cases/{case_id}"): Rule(frozenset({Perm.CASES_WORK}), _case, body=lambda w: {"subject": "New"}),
    ("POST", "/api/v1/cases/{case_id}/status"): Rule(
        frozenset({Perm.CASES_WORK}), _case, body=lambda w: {"status": "waiting_on_customer"}
    ),
    ("POST", "/api/v1/cases/{case_id}/assign"): Rule(
        frozenset({Perm.CASES_ASSIGN}),
        lambda w, m: {"case_id": w["case_unassigned"].public_id},
        body=lambda w: {"owner": "bob"},
    ),
    ("GET", "/api/v1/cases/{case_id}/handovers"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("GET", "/api/v1/cases/{case_id}/handover-preview"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("POST", "/api/v1/handovers/{handover_id}/acknowledge"): Rule(frozenset({Perm.CASES_WORK}), _handover_to),
    ("POST", "/api/v1/cases/{case_id}/merge"): Rule(
        frozenset({Perm.CASES_WORK}),
        lambda w, m: {"case_id": w["case_duplicate"].public_id},
        body=lambda w: {"into": w["case"].public_id},
    ),
    ("GET", "/api/v1/cases/{case_id}/timeline"): Rule(frozenset({Perm.CASES_VIEW, Perm.INTERACTIONS_VIEW}), _case),
    ("POST", "/api/v1/cases/{case_id}/notes"): Rule(
        frozenset({Perm.CASES_WORK, Perm.INTERACTIONS_WRITE}), _case, body=lambda w: {"body": "Called the courier"}
    ),
    ("GET", "/api/v1/cases/{case_id}/tasks"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("POST", "/api/v1/cases/{case_id}/tasks"): Rule(
        frozenset({Perm.CASES_WORK}), _case, body=lambda w: {"title": "Visit"}
    ),
    ("PUT", "/api/v1/cases/{case_id}/tasks/order"): Rule(
        frozenset({Perm.CASES_WORK}), _case, body=lambda w: {"task_ids": [w["case_task"].pk]}
    ),
    ("PATCH", "/api/v1/cases/{case_id}/tasks/{task_id}"): Rule(
        frozenset({Perm.CASES_WORK}), _case_task, body=lambda w: {"title": "Call back today"}
    ),
    ("DELETE", "/api/v1/cases/{case_id}/tasks/{task_id}"): Rule(frozenset({Perm.CASES_WORK}), _case_task),
    ("POST", "/api/v1/cases/{case_id}/tasks/{task_id}/status"): Rule(
        frozenset({Perm.CASES_WORK}), _case_task, body=lambda w: {"status": "done"}
    ),
    ("GET", "/api/v1/cases/{case_id}/conversations"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("POST", "/api/v1/cases/{case_id}/conversations"): Rule(
        frozenset({Perm.CASES_WORK, Perm.INTERACTIONS_VIEW}),
        _case,
        body=lambda w: {"conversation": w["case_free_thread"].public_id},
    ),
    ("DELETE", "/api/v1/cases/{case_id}/conversations/{conversation_id}"): Rule(
        frozenset({Perm.CASES_WORK, Perm.INTERACTIONS_VIEW}),
        lambda w, m: {"case_id": w["case"].public_id, "conversation_id": w["case_thread"].public_id},
    ),
    ("GET", "/api/v1/cases/{case_id}/links"): Rule(frozenset({Perm.CASES_VIEW}), _case),
    ("POST", "/api/v1/cases/{case_id}/links"): Rule(
        frozenset({Perm.CASES_WORK}), _case, body=lambda w: {"case": w["case_other"].public_id, "kind": "duplicate_of"}
    ),
    ("DELETE", "/api/v1/cases/{case_id}/links/{link_id}"): Rule(
        frozenset({Perm.CASES_WORK}), lambda w, m: {"case_id": w["case"].public_id, "link_id": w["case_link"].pk}
    ),
    ("GET", "/api/v1/macros"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/macros"): Rule(
        frozenset({Perm.CASES_CONFIGURE}),
        body=lambda w: {"name": "Urgent", "actions": [{"type": "set_priority", "value": "urgent"}]},
    ),
    ("GET", "/api/v1/macros/{macro_id}"): Rule(frozenset({Perm.CASES_VIEW}), lambda w, m: {"macro_id": w["macro"].pk}),
    ("PATCH", "/api/v1/macros/{macro_id}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"macro_id": w["macro"].pk}, body=lambda w: {"name": "Up"}
    ),
    ("DELETE", "/api/v1/macros/{macro_id}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"macro_id": w["macro"].pk}
    ),
    ("POST", "/api/v1/macros/{macro_id}/apply"): Rule(
        frozenset({Perm.CASES_WORK}),
        lambda w, m: {"macro_id": w["macro"].pk},
        body=lambda w: {"case_ids": [w["case"].public_id]},
    ),
    ("GET", "/api/v1/case-goals"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/case-goals"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"key": "loyalty", "name": "Loyalty"}
    ),
    ("PATCH", "/api/v1/case-goals/{key}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"key": "care"}, body=lambda w: {"name": "Customer care"}
    ),
    ("DELETE", "/api/v1/case-goals/{key}"): Rule(frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"key": "unused"}),
    ("GET", "/api/v1/case-categories"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/case-categories"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"key": "refunds", "name": "Refunds"}
    ),
    ("PATCH", "/api/v1/case-categories/{key}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"key": "billing"}, body=lambda w: {"name": "Bills"}
    ),
    ("GET", "/api/v1/case-fields"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/case-fields"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"key": "tier", "label": "Tier"}
    ),
    ("PATCH", "/api/v1/case-fields/{key}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"key": "region"}, body=lambda w: {"label": "Area"}
    ),
    ("DELETE", "/api/v1/case-fields/{key}"): Rule(frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"key": "region"}),
    ("GET", "/api/v1/case-templates"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/case-templates"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"name": "Refund", "tasks": [{"title": "Refund"}]}
    ),
    ("GET", "/api/v1/case-templates/{template_id}"): Rule(
        frozenset({Perm.CASES_VIEW}), lambda w, m: {"template_id": w["case_template"].pk}
    ),
    ("PATCH", "/api/v1/case-templates/{template_id}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}),
        lambda w, m: {"template_id": w["case_template"].pk},
        body=lambda w: {"name": "Billing v2"},
    ),
    ("PUT", "/api/v1/case-templates/{template_id}/tasks"): Rule(
        frozenset({Perm.CASES_CONFIGURE}),
        lambda w, m: {"template_id": w["case_template"].pk},
        body=lambda w: {"tasks": [{"title": "Check"}, {"title": "Refund"}]},
    ),
    ("GET", "/api/v1/case-channel-settings"): Rule(frozenset({Perm.CASES_VIEW})),
    ("PUT", "/api/v1/case-channel-settings/{channel}"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), lambda w, m: {"channel": "email"}, body=lambda w: {"opens_cases": True}
    ),
    ("GET", "/api/v1/sla/policies"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/sla/policies"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"name": "Gold", "first_response_minutes": 60}
    ),
    ("GET", "/api/v1/sla/policies/{policy_id}"): Rule(frozenset({Perm.CASES_VIEW}), _sla),
    ("PATCH", "/api/v1/sla/policies/{policy_id}"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla, body=lambda w: {"resolution_minutes": 240}
    ),
    ("DELETE", "/api/v1/sla/policies/{policy_id}"): Rule(frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla),
    ("GET", "/api/v1/sla/calendars"): Rule(frozenset({Perm.CASES_VIEW})),
    ("POST", "/api/v1/sla/calendars"): Rule(
        frozenset({Perm.CASES_CONFIGURE}), body=lambda w: {"name": "Weekend", "hours": {"sat": [["10:00", "16:00"]]}}
    ),
    ("GET", "/api/v1/sla/calendars/{calendar_id}"): Rule(frozenset({Perm.CASES_VIEW}), _sla),
    ("PATCH", "/api/v1/sla/calendars/{calendar_id}"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla, body=lambda w: {"is_default": True}
    ),
    ("DELETE", "/api/v1/sla/calendars/{calendar_id}"): Rule(frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla),
    ("POST", "/api/v1/sla/calendars/{calendar_id}/holidays"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla, body=lambda w: {"date": "2030-01-01", "name": "NY"}
    ),
    ("DELETE", "/api/v1/sla/calendars/{calendar_id}/holidays/{holiday_id}"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla
    ),
    ("GET", "/api/v1/sla/teams"): Rule(frozenset({Perm.CASES_VIEW})),
    ("PUT", "/api/v1/sla/teams/{team_id}/calendar"): Rule(
        frozenset({Perm.CASES_VIEW, Perm.CASES_CONFIGURE}), _sla, body=lambda w: {"calendar": w["sla_calendar"].pk}
    ),
    ("GET", "/api/v1/cases/{case_id}/sla"): Rule(frozenset({Perm.CASES_VIEW}), _sla),
    # the closed loop: follow-ups and loop rules
    ("POST", "/api/v1/surveys/responses"): Rule(frozenset({Perm.FEEDBACK_SEND}), body=_survey_answers),
    ("GET", "/api/v1/surveys/responses/{response_id}"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _survey_response),
    ("GET", "/api/v1/feedback/loops"): Rule(frozenset({Perm.FEEDBACK_VIEW})),
    ("GET", "/api/v1/feedback/loops/metrics"): Rule(frozenset({Perm.FEEDBACK_VIEW})),
    ("GET", "/api/v1/feedback/loops/{loop_id}"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _feedback_loop),
    ("POST", "/api/v1/feedback/loops/{loop_id}/contact"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.CASES_WORK}), _feedback_loop
    ),
    ("POST", "/api/v1/feedback/loops/{loop_id}/close"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.CASES_WORK}), _feedback_loop, body=lambda w: {"outcome": "recovered"}
    ),
    ("GET", "/api/v1/feedback/loop-rules"): Rule(frozenset({Perm.FEEDBACK_VIEW})),
    ("POST", "/api/v1/feedback/loop-rules"): Rule(
        frozenset({Perm.FEEDBACK_MANAGE}), body=lambda w: {"name": "Low CES", "conditions": {"kinds": ["ces"]}}
    ),
    ("PUT", "/api/v1/feedback/loop-rules/order"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), body=_loop_rule_order
    ),
    ("GET", "/api/v1/feedback/loop-rules/{rule_id}"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _loop_rule),
    ("PATCH", "/api/v1/feedback/loop-rules/{rule_id}"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _loop_rule, body=lambda w: {"is_active": False}
    ),
    ("DELETE", "/api/v1/feedback/loop-rules/{rule_id}"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _loop_rule
    ),
    ("GET", "/api/v1/feedback/scores"): Rule(frozenset({Perm.FEEDBACK_VIEW}), query="?kind=nps&group_by=period"),
    ("GET", "/api/v1/feedback/verbatims"): Rule(frozenset({Perm.FEEDBACK_VIEW}), query="?band=detractor"),
    ("GET", "/api/v1/feedback/drivers"): Rule(frozenset({Perm.FEEDBACK_VIEW}), query="?kind=csat"),
    ("GET", "/api/v1/surveys"): Rule(frozenset({Perm.FEEDBACK_VIEW})),
    ("POST", "/api/v1/surveys"): Rule(
        frozenset({Perm.FEEDBACK_MANAGE}), body=lambda w: {"key": "access-new", "name": "New", "kind": "csat"}
    ),
    ("GET", "/api/v1/surveys/{survey_id}"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _survey),
    ("PATCH", "/api/v1/surveys/{survey_id}"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey, body=lambda w: {"name": "Renamed"}
    ),
    ("POST", "/api/v1/surveys/{survey_id}/activate"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey
    ),
    ("POST", "/api/v1/surveys/{survey_id}/archive"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey
    ),
    ("GET", "/api/v1/surveys/{survey_id}/triggers"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _survey),
    ("POST", "/api/v1/surveys/{survey_id}/triggers"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey, body=lambda w: {"event_name": "case.closed"}
    ),
    ("PATCH", "/api/v1/surveys/{survey_id}/triggers/{trigger_id}"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey, body=lambda w: {"delay_minutes": 5}
    ),
    ("DELETE", "/api/v1/surveys/{survey_id}/triggers/{trigger_id}"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_MANAGE}), _survey
    ),
    ("POST", "/api/v1/surveys/{survey_id}/invitations"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.CUSTOMERS_VIEW, Perm.FEEDBACK_SEND, Perm.INTERACTIONS_WRITE}),
        _survey,
        body=lambda w: {"customer": w["customer"].public_id, "channel": "email"},
    ),
    ("POST", "/api/v1/surveys/{survey_id}/invitations/batch"): Rule(
        frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_SEND}),
        _survey,
        body=lambda w: {"customers": [w["customer"].public_id], "channel": "email"},
    ),
    ("GET", "/api/v1/invitations"): Rule(frozenset({Perm.FEEDBACK_VIEW})),
    ("GET", "/api/v1/invitations/{invitation_id}"): Rule(frozenset({Perm.FEEDBACK_VIEW}), _survey_invitation),
    # journeys
    ("GET", "/api/v1/journeys/examples"): Rule(frozenset({Perm.JOURNEYS_VIEW})),
    ("GET", "/api/v1/journeys/examples/{name}"): Rule(
        frozenset({Perm.JOURNEYS_VIEW}), lambda w, m: {"name": "win_back"}
    ),
    ("POST", "/api/v1/journeys/examples/{name}/install"): Rule(
        frozenset({Perm.JOURNEYS_MANAGE}), lambda w, m: {"name": "win_back"}
    ),
    ("GET", "/api/v1/journeys"): Rule(frozenset({Perm.JOURNEYS_VIEW})),
    ("POST", "/api/v1/journeys"): Rule(frozenset({Perm.JOURNEYS_MANAGE}), body=lambda w: {"source": JOURNEY_SOURCE}),
    ("GET", "/api/v1/journeys/{journey_id}"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _journey),
    ("POST", "/api/v1/journeys/{journey_id}/duplicate"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey
    ),
    ("POST", "/api/v1/journeys/{journey_id}/versions"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey, body=lambda w: {"source": JOURNEY_SOURCE}
    ),
    ("GET", "/api/v1/journeys/{journey_id}/versions/{number}"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _journey),
    ("POST", "/api/v1/journeys/{journey_id}/activate"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey
    ),
    ("POST", "/api/v1/journeys/{journey_id}/pause"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey_active
    ),
    ("POST", "/api/v1/journeys/{journey_id}/resume"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey_paused
    ),
    ("POST", "/api/v1/journeys/{journey_id}/archive"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _journey_active
    ),
    ("GET", "/api/v1/journeys/{journey_id}/analytics"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _journey),
    ("GET", "/api/v1/journeys/{journey_id}/enrolments"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _journey),
    ("POST", "/api/v1/journeys/{journey_id}/enrolments"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.CUSTOMERS_VIEW, Perm.JOURNEYS_ENROL}),
        _journey_active,
        body=lambda w: {"customer": w["other"].public_id},
    ),
    ("GET", "/api/v1/journeys/{journey_id}/enrolments/{enrolment_id}"): Rule(
        frozenset({Perm.JOURNEYS_VIEW}), _journey_enrolment
    ),
    ("POST", "/api/v1/journeys/{journey_id}/enrolments/{enrolment_id}/remove"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_ENROL}), _journey_enrolment
    ),
    ("POST", "/api/v1/journeys/{journey_id}/dry-run"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.CUSTOMERS_VIEW}),
        _journey_active,
        body=lambda w: {"customer": w["customer"].public_id},
    ),
    # automation rules
    ("GET", "/api/v1/automation/triggers"): Rule(frozenset({Perm.JOURNEYS_VIEW})),
    ("GET", "/api/v1/automation/rules"): Rule(frozenset({Perm.JOURNEYS_VIEW})),
    ("POST", "/api/v1/automation/rules"): Rule(
        frozenset({Perm.JOURNEYS_MANAGE}),
        body=lambda w: {
            "name": "Tag buyers",
            "trigger": {"source": "domain_event", "type": "case.opened"},
            "actions": [{"type": "tag", "add": ["buyer"]}],
        },
    ),
    ("PUT", "/api/v1/automation/rules/order"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}),
        _automation_rule,
        body=lambda w: {"ids": [_automation_rule(w, None)["rule_id"]]},  # type: ignore[arg-type]
    ),
    ("GET", "/api/v1/automation/rules/{rule_id}"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _automation_rule),
    ("PATCH", "/api/v1/automation/rules/{rule_id}"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_rule, body=lambda w: {"name": "Renamed"}
    ),
    ("POST", "/api/v1/automation/rules/{rule_id}/duplicate"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_rule
    ),
    ("POST", "/api/v1/automation/rules/{rule_id}/activate"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_rule
    ),
    ("POST", "/api/v1/automation/rules/{rule_id}/deactivate"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_rule
    ),
    ("POST", "/api/v1/automation/rules/{rule_id}/try"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.CUSTOMERS_VIEW}),
        _automation_rule,
        body=lambda w: {"customer": w["customer"].public_id, "properties": {"total": 5}},
    ),
    ("DELETE", "/api/v1/automation/rules/{rule_id}"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_rule
    ),
    ("GET", "/api/v1/automation/runs"): Rule(frozenset({Perm.JOURNEYS_VIEW})),
    ("GET", "/api/v1/automation/runs/{run_id}"): Rule(frozenset({Perm.JOURNEYS_VIEW}), _automation_run),
    ("POST", "/api/v1/automation/runs/{run_id}/retry"): Rule(
        frozenset({Perm.JOURNEYS_VIEW, Perm.JOURNEYS_MANAGE}), _automation_failed_run
    ),
}


def _url(path: str, params: dict[str, Any], query: str = "") -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), "x")), path) + query


def _call(client: Client, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    if body is None and method != "GET":
        body = {} if method == "POST" else None
    kwargs: dict[str, Any] = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = body
    return getattr(client, method.lower())(url, **kwargs, **headers)


def _assert_error_shape(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)


def _fingerprint() -> tuple[Any, ...]:
    """Everything any operation could write, to prove that a refused one wrote nothing."""
    return (
        list(Customer.objects.order_by("pk").values_list("pk", "name", "status", "updated_at")),
        list(Identity.objects.order_by("pk").values_list("pk", "customer_id", "is_verified")),
        list(Interaction.objects.order_by("pk").values_list("pk", "customer_id")),
        list(Merge.objects.order_by("pk").values_list("pk", "undone_at")),
        list(MergeSuggestion.objects.order_by("pk").values_list("pk", "status")),
        list(AttributeDefinition.objects.order_by("pk").values_list("pk", "key")),
        list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        AuditEntry.objects.count(),
        list(Thread.objects.order_by("pk").values_list("pk", "status", "assigned_to_id")),
        list(OutboundMessage.objects.order_by("pk").values_list("pk", "status")),
        list(Template.objects.order_by("pk").values_list("pk", "name", "is_active")),
        TemplateVersion.objects.count(),
        ConsentRecord.objects.count(),
        list(Suppression.objects.order_by("pk").values_list("pk", flat=True)),
        list(Promise.objects.order_by("pk").values_list("pk", "status", "due_at", "owner_id")),
        list(Queue.objects.order_by("pk").values_list("pk", "name", "assignment_mode", "is_default", "team_id")),
        list(QueueMember.objects.order_by("pk").values_list("pk", "queue_id", "user_id")),
        list(RoutingRule.objects.order_by("pk").values_list("pk", "name", "position", "is_active", "queue_id")),
        list(AgentAvailability.objects.order_by("pk").values_list("pk", "status", "capacity")),
        list(Case.objects.order_by("pk").values_list("pk", "status", "version", "owner_id", "priority", "subject")),
        list(CaseTask.objects.order_by("pk").values_list("pk", "case_id", "title", "status", "position")),
        list(CaseLink.objects.order_by("pk").values_list("pk", "kind")),
        list(CaseConversation.objects.order_by("pk").values_list("pk", "case_id")),
        list(Handover.objects.order_by("pk").values_list("pk", "acknowledged_at")),
        list(Goal.objects.order_by("pk").values_list("pk", "name", "is_active")),
        list(Category.objects.order_by("pk").values_list("pk", "name", "is_active")),
        list(CaseFieldDefinition.objects.order_by("pk").values_list("pk", "label")),
        list(CaseTemplate.objects.order_by("pk").values_list("pk", "name", "is_active")),
        CaseTemplateTask.objects.count(),
        list(ChannelCaseSetting.objects.order_by("pk").values_list("pk", "opens_cases")),
        list(Macro.objects.order_by("pk").values_list("pk", "name", "is_active")),
        *_feedback_loop_fingerprint(),
        *_survey_response_fingerprint(),
        *_survey_fingerprint(),
        *_journey_fingerprint(),
    )


def _feedback_loop_fingerprint() -> tuple[Any, ...]:
    from cxloop.feedback.models import Loop, LoopRule

    return (
        list(Loop.objects.order_by("pk").values_list("pk", "state", "outcome", "contacted_at", "closed_at")),
        list(LoopRule.objects.order_by("pk").values_list("pk", "name", "position", "is_active", "conditions")),
    )


def _survey_response_fingerprint() -> tuple[Any, ...]:
    from cxloop.feedback.models import Invitation, Response

    return (
        list(Response.objects.order_by("pk").values_list("pk", "score", "comment")),
        list(Invitation.objects.order_by("pk").values_list("pk", "status", "partial_answers")),
    )


@pytest.fixture
def world(db: None) -> World:
    """One of everything an operation can name."""
    system = Actor.system("test")
    AttributeDefinitionFactory(key="plan", type="text")
    customer = CustomerFactory(name="Ann")
    identity = IdentityFactory(customer=customer, value="ann@example.com")
    interaction = InteractionFactory(customer=customer)
    other = CustomerFactory(name="A. Lee")
    merged_target, merged_source = CustomerFactory(), CustomerFactory()
    merge = customer_services.merge_customers(system, merged_target, merged_source)
    first, second = CustomerFactory(), CustomerFactory()
    suggestion = customer_services.suggest_merge(
        system, first, second, probability=0.9, source="staff", evidence={"why": "test"}
    )
    inbound = channel_services.receive(RawPayload(channel="social", data=b"not json", source="test"))
    thread = conversations.open_thread(
        customer, "email", subject="Card", normalized_subject="card", external_ref="m1@example.com", at=clock.now()
    )
    messaging_services.create_template(
        system, key="welcome", name="Welcome", channel="email", content=TemplateContent(locale="en", body_text="Hi")
    )
    message = messaging_services.send_message(
        system, SendRequest(customer_id=customer.public_id, channel="email", text="Hello")
    )
    suppression, _ = messaging_services.suppress_address(system, "email", "gone@example.com", "manual")
    return {
        "thread": thread,
        "message": message,
        "suppression": suppression,
        "inbound": inbound,
        "customer": customer,
        "identity": identity,
        "interaction": interaction,
        "other": other,
        "merge": merge,
        "suggestion": suggestion,
        **_case_world(customer),
    }


def _scoped(username: str, role: str, scopes: list[str]) -> Member:
    user = User.objects.create_user(username=username, password=f"{username}-pass-123", role=role)
    _, secret = account_services.create_token(Actor.system("test"), user, name="scoped", scopes=scopes)
    return Member(user=user, token=secret, actor=Actor.for_user(user))


@pytest.fixture
def cast(alice: Member, bob: Member, charlie: Member, ada: Member) -> dict[str, Member]:
    """The cast plus tokens whose scopes are narrower than their users' roles."""
    return {
        "alice": alice,
        "bob": bob,
        "charlie": charlie,
        "ada": ada,
        "ada_read_token": _scoped("ada2", "admin", ["read"]),
        "bob_read_token": _scoped("bob2", "supervisor", ["read"]),
        "ada_write_token": _scoped("ada3", "admin", ["read", "write"]),
    }


CAST = ["alice", "bob", "charlie", "ada", "ada_read_token", "bob_read_token", "ada_write_token"]


def test_every_operation_has_an_access_rule():
    assert sorted(set(OPERATIONS) - set(ACCESS)) == [], "declare the new operation in ACCESS"
    assert sorted(set(ACCESS) - set(OPERATIONS)) == [], "remove the rule of an operation that no longer exists"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=OPERATION_IDS)
@pytest.mark.parametrize(
    "credential",
    [None, "Bearer cxl_not-a-real-token", "Bearer ", "Basic YWxpY2U6YWxpY2UtcGFzcy0xMjM=", "revoked", "deactivated"],
)
def test_every_operation_refuses_missing_or_dead_credentials(client, alice, method, path, credential):
    # given
    headers: dict[str, str] = {}
    if credential == "revoked":
        account_services.revoke_token(alice.actor, ApiToken.objects.get(user=alice.user))
        headers["HTTP_AUTHORIZATION"] = f"Bearer {alice.token}"
    elif credential == "deactivated":
        User.objects.filter(pk=alice.user.pk).update(is_active=False)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {alice.token}"
    elif credential is not None:
        headers["HTTP_AUTHORIZATION"] = credential
    before = _fingerprint()

    # when
    response = _call(client, method, _url(path, {"token_id": 1}), {} if method != "GET" else None, headers)

    # then
    _assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"
    assert _fingerprint() == before


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=OPERATION_IDS)
@pytest.mark.parametrize("who", CAST)
def test_every_operation_refuses_whom_role_or_scope_does_not_allow(client, cast, world, method, path, who):
    # given
    rule = ACCESS[(method, path)]
    member = cast[who]
    token = ApiToken.objects.select_related("user").get(token_hash=account_services.hash_token(member.token))
    allowed = rule.perms <= Actor.for_token(token).permissions
    url = _url(path, rule.params(world, member), rule.query)
    body = rule.body(world) if rule.body else None
    before = _fingerprint()

    # when
    response = _call(client, method, url, body, {"HTTP_AUTHORIZATION": f"Bearer {member.token}", **rule.extra})

    # then
    if allowed:
        assert response.status_code < 400, response.content
    else:
        _assert_error_shape(response, 403, "permission_denied")
        assert _fingerprint() == before
