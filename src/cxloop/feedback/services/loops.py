"""The closed loop: an unhappy answer opens a follow-up case, someone calls the customer back, and the loop is
closed with an outcome.

    response.received ──▶ first matching loop rule ──▶ follow-up case (SLA, owner) + Loop "open" + loop.opened
    staff message or call to the customer, or the "Customer contacted" button ──▶ "contacted" + loop.contacted
    "Close the loop" with an outcome (recovered, partly, not_recovered, no_response) ──▶ "resolved" + loop.closed

Who gets the follow-up: the agent who served the customer (Response.agent) when the rule says so and that agent
is still active; else the rule's owner and/or team; else the cases module's routing, which sees the answer's
sentiment and emotion (so a rule "emotions: anger → experienced agents" applies to the follow-up too).

Resolving the follow-up case does not close the loop: the outcome is a judgement about the customer ("are they
happy with us again?") that only a person can make, and a case resolved by a macro or a bulk action must not
record one. The owner is told to record it, and the case page shows the "Close the loop" form first while the
case is resolved and the loop is not.

Subscribers here are called after the publisher's commit and never raise into it: a follow-up that could not be
opened is logged (the answer is stored and shows on the verbatims page either way).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from cxloop.accounts.models import Team, User
from cxloop.accounts.notifications import notify
from cxloop.cases.events import CaseAssigned, CaseMerged, CaseResolved
from cxloop.cases.models import Case
from cxloop.cases.services import cases as case_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, CxloopError, NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish
from cxloop.feedback.events import LoopClosed, LoopContacted, LoopOpened, ResponseReceived
from cxloop.feedback.models import Invitation, Loop, LoopOutcome, LoopRule, LoopState, Response, SurveyKind
from cxloop.feedback.services import loop_rules
from cxloop.interactions.events import InteractionRecorded
from cxloop.interactions.models import Channel, Direction, Interaction, Thread, ThreadStatus
from cxloop.messaging.events import MessageSent
from cxloop.messaging.queries import get_message
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

SYSTEM = "feedback:loops"
NOTE_MAX = 1000
_SCALE = {SurveyKind.NPS.value: "0–10", SurveyKind.CSAT.value: "1–5", SurveyKind.CES.value: "1–7"}
_KIND_TITLE = {SurveyKind.NPS.value: "NPS", SurveyKind.CSAT.value: "CSAT", SurveyKind.CES.value: "CES"}


class LoopClosedError(ConflictError):
    """A resolved loop is final: its outcome was recorded and measured."""

    code = "loop_closed"


def _system() -> Actor:
    return Actor.system(SYSTEM)


# --- opening -------------------------------------------------------------------------------------------------------


def on_response_received(event: DomainEvent) -> None:
    """The "response.received" subscriber."""
    if not isinstance(event, ResponseReceived):
        return
    try:
        open_loop_for_response(event.response_id)
    except CxloopError as exc:
        logger.warning("no follow-up for response %s: %s %s", event.response_id, exc.message, exc.fields)


def open_loop_for_response(response_id: str, *, at: datetime | None = None) -> Loop | None:
    """Run the loop rules on one answer (by public id). Redelivery is harmless: one loop per answer."""
    response = Response.objects.filter(public_id=response_id).first()
    if response is None:
        raise NotFoundError(f"No response {response_id}.")
    return open_loop(_system(), response, at=at)


def _title(response: Response) -> str:
    kind = _KIND_TITLE.get(response.kind, "Survey")
    return f"{kind} {response.score}" if response.score is not None else f"{kind} answer"


def follow_up_subject(response: Response, customer: Customer) -> str:
    return f"Follow up: {_title(response)} from {customer.display_name}"


def follow_up_description(response: Response, rule: LoopRule) -> str:
    """The original answer, as the agent who calls the customer back needs it."""
    answered = f"{response.submitted_at:%Y-%m-%d %H:%M} UTC"
    lines = [f"Survey: {response.survey.name} ({response.kind.upper()}), answered {answered}"]
    if response.score is not None:
        scale = _SCALE.get(response.kind, "")
        lines.append(f"Score: {response.score}" + (f" (scale {scale})" if scale else ""))
    comment = response.comment.strip()
    lines.append(f'Comment: "{comment}"' if comment else "Comment: (none)")
    if response.sentiment is not None:
        label = f" ({response.sentiment_label})" if response.sentiment_label else ""
        lines.append(f"Sentiment: {response.sentiment:+.2f}{label}")
    lines.append(f"Emotion: {response.emotion or 'none found'}")
    lines.append(f"Opened by the follow-up rule: {rule.name}")
    return "\n".join(lines)


def _assignee(rule: LoopRule, response: Response) -> tuple[User | None, Team | None, bool]:
    """(owner, team, route): the serving agent, else the rule's owner/team, else routing decides."""
    agent = response.agent
    if rule.assign_to_agent and agent is not None and agent.is_active:
        return agent, agent.team, False
    if rule.owner is not None and rule.owner.is_active:
        return rule.owner, rule.team or rule.owner.team, False
    if rule.team is not None:
        return None, rule.team, False
    return None, None, True


def _original_thread(response: Response) -> Thread | None:
    """The conversation the survey was about, when it is the customer's and still open: the follow-up case takes
    it, so the agent answers in it and replies there count for the follow-up's SLA."""
    thread_ref = response.invitation.thread_ref
    if not thread_ref:
        return None
    thread = Thread.objects.filter(public_id=thread_ref, customer_id=response.customer_id).first()
    if thread is None or thread.status == ThreadStatus.CLOSED:
        return None
    return thread


def _customer_of(response: Response) -> Customer:
    """The customer, or the one they were merged into since (the follow-up goes to the surviving profile)."""
    customer = response.customer
    seen = {customer.pk}
    while not customer.is_active and customer.merged_into_id is not None and customer.merged_into_id not in seen:
        seen.add(customer.merged_into_id)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


@transaction.atomic
def open_loop(actor: Actor, response: Response, *, at: datetime | None = None) -> Loop | None:
    """Open the follow-up of `response` if a loop rule matches it; None when none does. One loop per answer: a
    second call returns the existing loop and opens nothing."""
    actor.require(Perm.CASES_WORK)
    locked = (
        Response.objects.select_for_update(of=("self",))
        .select_related("survey", "invitation", "customer", "agent")
        .get(pk=response.pk)
    )
    existing = Loop.objects.filter(response=locked).first()
    if existing is not None:
        return existing
    rule = loop_rules.first_match(locked)
    if rule is None:
        return None
    try:
        with transaction.atomic():
            return _open(actor, locked, rule, at or clock.now())
    except IntegrityError:
        # Another worker opened it between our check and our insert (possible on SQLite, which has no row locks).
        return Loop.objects.get(response=locked)


def _open(actor: Actor, response: Response, rule: LoopRule, now: datetime) -> Loop:
    customer = _customer_of(response)
    owner, team, route = _assignee(rule, response)
    case = case_services.open_case(
        actor,
        CaseInput(
            customer=customer,
            subject=follow_up_subject(response, customer)[: case_services.SUBJECT_MAX],
            description=follow_up_description(response, rule),
            goal=rule.goal,
            category=rule.category,
            priority=rule.priority,
            owner=owner,
            team=team,
            source_channel="survey",
            thread=_original_thread(response) if response.customer_id == customer.pk else None,
            route=route,
            sentiment=response.sentiment,
            emotion=response.emotion,
        ),
        at=now,
    )
    loop = Loop(
        response=response,
        rule=rule,
        customer=customer,
        case_ref=case.public_id,
        owner=case.owner,
        team=case.team,
        opened_at=now,
    )
    loop.save()
    record_audit(
        actor,
        "loop.opened",
        object_type="loop",
        object_id=loop.public_id,
        summary=f"{case.subject[:150]} (case #{case.pk})",
        after={"response": response.public_id, "case": case.public_id, "rule": rule.name, **_owner_of(loop)},
    )
    if case.owner is not None:
        notify(
            case.owner,
            "loop.opened",
            f"Follow up: {_title(response)} from {customer.display_name}",
            response.comment[:300],
            f"/cases/{case.public_id}/",
        )
    publish(
        LoopOpened(
            loop_id=loop.public_id,
            response_id=response.public_id,
            customer_id=customer.public_id,
            case_id=case.public_id,
            rule=rule.name,
            owner=case.owner.username if case.owner is not None else "",
        )
    )
    return loop


def _owner_of(loop: Loop) -> dict[str, Any]:
    return {"owner": loop.owner.username if loop.owner is not None else None, "team": loop.team_id}


# --- contacted -----------------------------------------------------------------------------------------------------


def _locked(loop: Loop) -> Loop:
    return Loop.objects.select_for_update(of=("self",)).select_related("owner").get(pk=loop.pk)


def _set_contacted(actor: Actor, loop: Loop, at: datetime, how: str) -> None:
    loop.state = LoopState.CONTACTED
    loop.contacted_at = at
    loop.save(update_fields=["state", "contacted_at", "updated_at"])
    record_audit(
        actor,
        "loop.contacted",
        object_type="loop",
        object_id=loop.public_id,
        summary=f"Customer contacted ({how})",
        before={"state": LoopState.OPEN.value},
        after={"state": LoopState.CONTACTED.value, "contacted_at": at.isoformat(), "how": how},
    )
    publish(LoopContacted(loop_id=loop.public_id, case_id=loop.case_ref))


@transaction.atomic
def mark_contacted(actor: Actor, loop: Loop, *, at: datetime | None = None) -> Loop:
    """The "Customer contacted" button: someone reached the customer (by a channel cxloop does not see, say)."""
    actor.require(Perm.CASES_WORK)
    current = _locked(loop)
    if current.state == LoopState.RESOLVED:
        raise LoopClosedError("This loop is closed already.")
    if current.state == LoopState.CONTACTED:
        return current
    at = at or clock.now()
    if at < current.opened_at:
        raise ValidationError("That is before the follow-up opened.", fields={"at": "must not be before the opening"})
    _set_contacted(actor, current, at, f"marked by {actor.label}")
    return current


def contact_recorded(customer_public_id: str, at: datetime, how: str) -> int:
    """Staff reached the customer at `at` (a message sent or a call logged): every open loop of the customer
    opened before then becomes "contacted". Returns how many did."""
    with transaction.atomic():
        loops = list(
            Loop.objects.select_for_update(of=("self",)).filter(
                customer__public_id=customer_public_id, state=LoopState.OPEN, opened_at__lte=at
            )
        )
        for loop in loops:
            _set_contacted(_system(), loop, at, how)
    return len(loops)


def _has_open_loop(customer_public_id: str) -> bool:
    """Asked for every message sent and call logged: the statement is written once (_open_loop_sql), because
    compiling `Loop.objects.filter(customer__public_id=…, state=…).exists()` each time cost ten times running it."""
    with connection.cursor() as cursor:
        cursor.execute(_open_loop_sql(connection.vendor), [customer_public_id, LoopState.OPEN])
        return cursor.fetchone() is not None


@functools.cache
def _open_loop_sql(vendor: str) -> str:
    """The query the ORM sends for the exists() above, from the models' metadata (vendor: one text per backend)."""
    quote, loop, customer = connection.ops.quote_name, Loop._meta, Customer._meta
    loop_table, customer_table = quote(loop.db_table), quote(customer.db_table)
    customer_column = quote(str(loop.get_field("customer").column))
    # Only identifiers from the models' own metadata go into the text; the values are parameters.
    return (
        f"SELECT 1 FROM {loop_table} INNER JOIN {customer_table}"  # noqa: S608
        f" ON ({loop_table}.{customer_column} = {customer_table}.{quote(str(customer.pk.column))})"
        f" WHERE {customer_table}.{quote(str(customer.get_field('public_id').column))} = %s"
        f" AND {loop_table}.{quote(str(loop.get_field('state').column))} = %s LIMIT 1"
    )


def _carried_a_survey(message_public_id: str) -> bool:
    """A survey invitation is not a follow-up, even when a person sent it."""
    return bool(message_public_id) and Invitation.objects.filter(message_ref=message_public_id).exists()


def on_interaction_recorded(event: DomainEvent) -> None:
    """ "interaction.recorded": an outbound message or a call that a person made counts as contact. Most
    interactions are inbound, automated or for customers without an open loop, and cost one cheap check here."""
    if not isinstance(event, InteractionRecorded) or event.kind != "message" or event.channel == Channel.NOTE:
        return
    if event.direction != Direction.OUTBOUND and event.channel != Channel.PHONE:
        return
    if not _has_open_loop(event.customer_id):
        return
    row = Interaction.objects.filter(public_id=event.interaction_id).values("created_by_id", "occurred_at", "metadata")
    found = row.first()
    if found is None or found["created_by_id"] is None:
        return  # automated messages (journeys, survey invitations, acknowledgements) are not a follow-up
    if _carried_a_survey(str((found["metadata"] or {}).get("message", ""))):
        return
    how = f"{event.channel} {event.direction} {event.interaction_id}"
    contact_recorded(event.customer_id, found["occurred_at"], how)


def on_message_sent(event: DomainEvent) -> None:
    """ "message.sent": a message a person sent to the customer. Usually interaction.recorded got there first;
    this covers a sent message that could not be put on the timeline."""
    if not isinstance(event, MessageSent) or event.interaction_id or not _has_open_loop(event.customer_id):
        return
    try:
        message = get_message(_system(), event.message_id)
    except NotFoundError:
        return
    if message.automated or message.created_by_id is None or _carried_a_survey(message.public_id):
        return
    contact_recorded(event.customer_id, message.sent_at or clock.now(), f"{event.channel} message {event.message_id}")


# --- closing -------------------------------------------------------------------------------------------------------


def _check_outcome(outcome: str, note: str) -> str:
    if outcome not in LoopOutcome.values:
        raise ValidationError(
            "Say how the loop ended.", fields={"outcome": f"must be one of {', '.join(LoopOutcome.values)}"}
        )
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ValidationError("The note is too long.", fields={"note": f"at most {NOTE_MAX} characters"})
    return note


@transaction.atomic
def close_loop(actor: Actor, loop: Loop, *, outcome: str, note: str = "", at: datetime | None = None) -> Loop:
    """Close the loop with its outcome. A loop closed without contact is allowed (the customer never answered:
    outcome no_response); its contacted time stays empty so time-to-contact is not flattered."""
    actor.require(Perm.CASES_WORK)
    note = _check_outcome(outcome, note)
    current = _locked(loop)
    if current.state == LoopState.RESOLVED:
        raise LoopClosedError("This loop is closed already.")
    now = at or clock.now()
    previous = current.state
    current.state, current.outcome, current.outcome_note = LoopState.RESOLVED, outcome, note
    current.closed_at, current.closed_by = now, actor.user
    current.save(update_fields=["state", "outcome", "outcome_note", "closed_at", "closed_by", "updated_at"])
    hours = round(max((now - current.opened_at).total_seconds(), 0) / 3600, 2)
    record_audit(
        actor,
        "loop.closed",
        object_type="loop",
        object_id=current.public_id,
        summary=f"Loop closed: {outcome} after {hours:g} h",
        before={"state": previous},
        after={"state": LoopState.RESOLVED.value, "outcome": outcome, "note": note or None, "hours_to_close": hours},
    )
    publish(LoopClosed(loop_id=current.public_id, case_id=current.case_ref, outcome=outcome, hours_to_close=hours))
    return current


# --- the follow-up case's life -------------------------------------------------------------------------------------


def on_case_resolved(event: DomainEvent) -> None:
    """ "case.resolved": when the follow-up case is resolved with its loop still open, tell its owner to record
    the outcome (resolving does not close the loop; see the module docstring)."""
    if not isinstance(event, CaseResolved):
        return
    loop = (
        Loop.objects.filter(case_ref=event.case_id)
        .exclude(state=LoopState.RESOLVED)
        .select_related("owner", "customer")
        .first()
    )
    if loop is None or loop.owner is None:
        return
    with transaction.atomic():
        notify(
            loop.owner,
            "loop.outcome_needed",
            f"Record how the follow-up of {loop.customer.display_name} ended",
            "The follow-up case is resolved; the loop stays open until its outcome is recorded.",
            f"/cases/{loop.case_ref}/#follow-up",
        )


def on_case_assigned(event: DomainEvent) -> None:
    """ "case.assigned": the loop belongs to whoever owns its follow-up case now (for "open loops by owner")."""
    if not isinstance(event, CaseAssigned):
        return
    if not Loop.objects.filter(case_ref=event.case_id).exclude(state=LoopState.RESOLVED).exists():
        return
    case = Case.objects.filter(public_id=event.case_id).values("owner_id", "team_id").first()
    if case is None:
        return
    with transaction.atomic():
        Loop.objects.filter(case_ref=event.case_id).exclude(state=LoopState.RESOLVED).update(
            owner_id=case["owner_id"], team_id=case["team_id"], updated_at=clock.now()
        )


def on_case_merged(event: DomainEvent) -> None:
    """ "case.merged": a follow-up case merged into another case follows it there."""
    if not isinstance(event, CaseMerged):
        return
    with transaction.atomic():
        Loop.objects.filter(case_ref=event.case_id).update(case_ref=event.into_case_id, updated_at=clock.now())
