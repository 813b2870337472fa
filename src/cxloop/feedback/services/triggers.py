"""Survey triggers: "when <event> happens, N minutes later, invite the customer on <channel>".

Three paths lead from an event to an invitation:

- case events (`case.resolved`, any `case.*` event with a case id): the case's customer, with the case's team,
  owner and goal; trigger_ref "case:<id>", so a case resolved, reopened and resolved again invites once.
  Conditions may narrow it by the case's goal, category, source channel, priority and outcome.
- `chat.ended`: a chat conversation closed by an agent (interactions' `conversation.status_changed` to "closed"
  on a chat thread); the invitation goes into that chat. trigger_ref "chat:<thread id>".
- any other domain event that carries a `customer_id` (and later the customer events of the events API, through
  `fire`): "7 days after a purchase". trigger_ref "<event name>:<the event's own id>".

Every invitation is stored "scheduled" at event time + delay, so the subscriber stays quick (it never sends in
the publisher's request); a delay of 0 enqueues the send at once, the periodic task sends the rest.

Which event names have active triggers is remembered per process for CACHE_SECONDS, so events nobody listens to
cost no query; a change of triggers clears this process's memory at once and reaches other processes within
CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction

from cxloop.cases.models import Case
from cxloop.cases.queries import cases as case_queries
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent
from cxloop.feedback.models import Invitation, Survey, SurveyStatus, SurveyTrigger, TriggerKind
from cxloop.feedback.services import invitations
from cxloop.interactions import inbox as inbox_queries
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

CHAT_ENDED = "chat.ended"
CASE_CONDITIONS = ("goals", "categories", "source_channels", "priorities", "goal_achieved")
CONDITION_KEYS = (*CASE_CONDITIONS, "payload")
DELAY_MAX = 60 * 24 * 365
LIST_MAX = 50
CACHE_SECONDS = 10.0
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# Handled by their own subscribers (apps.py), not by the generic one.
_OWN_HANDLERS = frozenset({"conversation.status_changed"})
_names_cache: dict[str, Any] = {"at": 0.0, "names": frozenset()}


@dataclass(frozen=True)
class TriggerInput:
    event_name: str
    delay_minutes: int = 0
    channel: str = ""
    conditions: dict[str, Any] = field(default_factory=dict)
    is_active: bool = True


@dataclass(frozen=True)
class TriggerChanges:
    event_name: str | None = None
    delay_minutes: int | None = None
    channel: str | None = None
    conditions: dict[str, Any] | None = None
    is_active: bool | None = None


def _string_list(value: Any, path: str, errors: dict[str, str]) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        errors[path] = "must be a non-empty list of texts"
        return []
    if len(value) > LIST_MAX:
        errors[path] = f"at most {LIST_MAX} entries"
    return [v.strip() for v in value]


def check_conditions(event_name: str, raw: Any) -> dict[str, Any]:
    """The conditions, checked; ValidationError naming each bad path (conditions.goals, conditions.payload.x)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("Conditions must be an object.", fields={"conditions": "must be an object"})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"conditions.{key}"
        if key not in CONDITION_KEYS:
            errors[path] = f"unknown condition; use {', '.join(CONDITION_KEYS)}"
        elif key in CASE_CONDITIONS and not event_name.startswith("case."):
            errors[path] = "only for case events (case.resolved, …)"
        elif key == "goal_achieved":
            if not isinstance(value, bool):
                errors[path] = "must be true or false"
            cleaned[key] = value
        elif key == "payload":
            if not isinstance(value, dict) or not value:
                errors[path] = "must be an object: event field → list of values"
                continue
            cleaned[key] = {str(name): _string_list(values, f"{path}.{name}", errors) for name, values in value.items()}
        else:
            cleaned[key] = _string_list(value, path, errors)
    if errors:
        raise ValidationError("The conditions are not valid.", fields=errors)
    return cleaned


def _check(data: TriggerInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if len(data.event_name) > 100 or not _EVENT_NAME.match(data.event_name):
        errors["event_name"] = "must be an event name such as case.resolved or purchase.completed"
    if not 0 <= data.delay_minutes <= DELAY_MAX:
        errors["delay_minutes"] = f"must be between 0 and {DELAY_MAX} (a year)"
    if data.channel and data.channel not in invitations.CHANNELS:
        errors["channel"] = f"must be empty (the customer's channel) or one of {', '.join(invitations.CHANNELS)}"
    if data.event_name == CHAT_ENDED and data.channel not in ("", "chat"):
        errors["channel"] = "the end of a chat invites in that chat"
    if errors:
        raise ValidationError("The trigger is not valid.", fields=errors)
    return check_conditions(data.event_name, data.conditions)


def _snapshot(trigger: SurveyTrigger) -> dict[str, Any]:
    return {
        "event_name": trigger.event_name,
        "delay_minutes": trigger.delay_minutes,
        "channel": trigger.channel,
        "conditions": trigger.conditions,
        "is_active": trigger.is_active,
    }


def _audit(actor: Actor, action: str, trigger: SurveyTrigger, before: dict[str, Any] | None) -> None:
    record_audit(
        actor,
        action,
        object_type="survey",
        object_id=trigger.survey.public_id,
        summary=f"{trigger.survey.key}: trigger {trigger.public_id} on {trigger.event_name}",
        before=before,
        after=_snapshot(trigger) if action != "survey.trigger_deleted" else None,
    )
    transaction.on_commit(forget_event_names)


@transaction.atomic
def create_trigger(actor: Actor, survey: Survey, data: TriggerInput) -> SurveyTrigger:
    actor.require(Perm.FEEDBACK_MANAGE)
    conditions = _check(data)
    trigger = SurveyTrigger.objects.create(
        survey=survey,
        event_name=data.event_name,
        delay_minutes=data.delay_minutes,
        channel=data.channel,
        conditions=conditions,
        is_active=data.is_active,
        created_by=actor.user,
    )
    _audit(actor, "survey.trigger_created", trigger, None)
    return trigger


@transaction.atomic
def update_trigger(actor: Actor, trigger: SurveyTrigger, changes: TriggerChanges) -> SurveyTrigger:
    actor.require(Perm.FEEDBACK_MANAGE)
    before = _snapshot(trigger)
    merged = TriggerInput(
        event_name=changes.event_name if changes.event_name is not None else trigger.event_name,
        delay_minutes=changes.delay_minutes if changes.delay_minutes is not None else trigger.delay_minutes,
        channel=changes.channel if changes.channel is not None else trigger.channel,
        conditions=changes.conditions if changes.conditions is not None else trigger.conditions,
        is_active=changes.is_active if changes.is_active is not None else trigger.is_active,
    )
    conditions = _check(merged)
    trigger.event_name, trigger.delay_minutes, trigger.channel = merged.event_name, merged.delay_minutes, merged.channel
    trigger.conditions, trigger.is_active = conditions, merged.is_active
    if _snapshot(trigger) == before:
        return trigger
    trigger.save()
    _audit(actor, "survey.trigger_updated", trigger, before)
    return trigger


@transaction.atomic
def delete_trigger(actor: Actor, trigger: SurveyTrigger) -> None:
    """Invitations it already scheduled stay scheduled (they were decided when the event happened)."""
    actor.require(Perm.FEEDBACK_MANAGE)
    before = _snapshot(trigger)
    _audit(actor, "survey.trigger_deleted", trigger, before)
    trigger.delete()


# --- which events have triggers -----------------------------------------------------------------------------------


def active_event_names() -> frozenset[str]:
    now = time.monotonic()
    if now - float(_names_cache["at"]) > CACHE_SECONDS:
        names = SurveyTrigger.objects.filter(is_active=True, survey__status=SurveyStatus.ACTIVE).values_list(
            "event_name", flat=True
        )
        _names_cache["names"], _names_cache["at"] = frozenset(names), now
    names_now: frozenset[str] = _names_cache["names"]
    return names_now


def forget_event_names() -> None:
    """Read the trigger names afresh on the next event (a trigger or a survey's status changed)."""
    _names_cache["at"] = 0.0


# --- from an event to invitations ---------------------------------------------------------------------------------


def _triggers(event_name: str) -> list[SurveyTrigger]:
    return list(
        SurveyTrigger.objects.filter(event_name=event_name, is_active=True, survey__status=SurveyStatus.ACTIVE)
        .select_related("survey")
        .order_by("id")
    )


def _payload_holds(conditions: dict[str, Any], payload: dict[str, Any]) -> bool:
    wanted: dict[str, list[str]] = conditions.get("payload") or {}
    return all(str(payload.get(name, "")) in values for name, values in wanted.items())


def _case_holds(conditions: dict[str, Any], case: Case) -> bool:
    checks = (
        ("goals", case.goal.key),
        ("categories", case.category.key if case.category is not None else ""),
        ("source_channels", case.source_channel),
        ("priorities", case.priority),
    )
    if any(key in conditions and value not in conditions[key] for key, value in checks):
        return False
    return "goal_achieved" not in conditions or case.goal_achieved is conditions["goal_achieved"]


def _channel(trigger: SurveyTrigger, preferred: str) -> str:
    if trigger.channel:
        return trigger.channel
    return preferred if preferred in invitations.CHANNELS and preferred != "chat" else "email"


def _schedule(
    trigger: SurveyTrigger,
    customer: Customer,
    *,
    kind: str,
    ref: str,
    channel: str,
    case_ref: str = "",
    thread_ref: str = "",
) -> Invitation | None:
    try:
        return invitations.invite(
            invitations.system_actor(),
            trigger.survey,
            customer,
            channel=channel,
            trigger=kind,
            trigger_ref=ref[: invitations.REF_MAX],
            case_ref=case_ref,
            thread_ref=thread_ref,
            send_at=clock.now() + timedelta(minutes=trigger.delay_minutes),
        )
    except CxloopError as exc:  # a merged customer, a case of another customer: nothing to invite
        logger.info("trigger %s did not invite %s: %s", trigger.public_id, customer.public_id, exc.message)
        return None


def fire_for_case(event_name: str, case_id: str, payload: dict[str, Any] | None = None) -> list[Invitation]:
    actor = invitations.system_actor()
    triggers = _triggers(event_name)
    if not triggers:
        return []
    try:
        case = case_queries.get_case(actor, case_id)
    except NotFoundError:
        return []
    made = []
    for trigger in triggers:
        if not _case_holds(trigger.conditions, case) or not _payload_holds(trigger.conditions, payload or {}):
            continue
        invitation = _schedule(
            trigger,
            case.customer,
            kind=TriggerKind.EVENT,
            ref=f"case:{case.public_id}",
            channel=_channel(trigger, case.source_channel),
            case_ref=case.public_id,
        )
        if invitation is not None:
            made.append(invitation)
    return made


def fire_for_chat_end(thread_id: str) -> list[Invitation]:
    actor = invitations.system_actor()
    triggers = _triggers(CHAT_ENDED)
    if not triggers:
        return []
    try:
        thread = inbox_queries.get_conversation(actor, thread_id)
    except NotFoundError:
        return []
    if thread.channel != "chat":
        return []
    made = []
    for trigger in triggers:
        invitation = _schedule(
            trigger,
            thread.customer,
            kind=TriggerKind.CHAT_END,
            ref=f"chat:{thread.public_id}",
            channel="chat",
            case_ref=thread.case_ref,
            thread_ref=thread.public_id,
        )
        if invitation is not None:
            made.append(invitation)
    return made


def _event_ref(payload: dict[str, Any]) -> str:
    """The event's own id, so the same event never invites twice: the first *_id field other than the customer's."""
    for key in ("event_id", "id"):
        if payload.get(key):
            return str(payload[key])
    for key, value in payload.items():
        if key.endswith("_id") and key != "customer_id" and value:
            return str(value)
    return ""


def fire(event_name: str, *, customer_id: str, payload: dict[str, Any] | None = None) -> list[Invitation]:
    """The generic path: invite the customer an event names, by the triggers on `event_name`. Customer events of
    the events API call this with the event's fields (and "event_id" as its own id)."""
    payload = payload or {}
    triggers = _triggers(event_name)
    if not triggers:
        return []
    try:
        customer = customer_queries.get_customer(invitations.system_actor(), customer_id)
    except NotFoundError:
        return []
    ref = _event_ref(payload)
    made = []
    for trigger in triggers:
        if not _payload_holds(trigger.conditions, payload):
            continue
        invitation = _schedule(
            trigger,
            customer,
            kind=TriggerKind.EVENT,
            ref=f"{event_name}:{ref}" if ref else "",
            channel=_channel(trigger, str(payload.get("channel", ""))),
        )
        if invitation is not None:
            made.append(invitation)
    return made


# --- bus subscribers (apps.py) ------------------------------------------------------------------------------------


def on_domain_event(event: DomainEvent) -> None:
    """Subscribed to every event: a quick set lookup for events no trigger names."""
    if event.name in _OWN_HANDLERS or not (getattr(event, "customer_id", "") or getattr(event, "case_id", "")):
        return
    if event.name not in active_event_names():
        return
    payload = event.payload()
    if event.name.startswith("case.") and payload.get("case_id"):
        fire_for_case(event.name, str(payload["case_id"]), payload)
    elif payload.get("customer_id"):
        fire(event.name, customer_id=str(payload["customer_id"]), payload=payload)


def on_conversation_status_changed(event: DomainEvent) -> None:
    payload = event.payload()
    if payload.get("status") != "closed" or CHAT_ENDED not in active_event_names():
        return
    fire_for_chat_end(str(payload.get("conversation_id", "")))
