"""What each step kind does when an enrolment reaches it, as a Move the engine writes.

A handler runs inside the engine's transaction for that step: its side effect (a message, a case, an
invitation, a changed attribute) commits together with the history row and the enrolment's move, or not at
all. `Visit.key` (journey:<enrolment>:<seq>) is the side effect's idempotency key where the owning service takes
one, so even a replayed visit finds what the first one made. Governance stays with the owners: a message that
consent or quiet hours hold back is recorded as such and the enrolment goes on; a survey that fatigue skips
likewise. The one side effect outside the database, the webhook, carries a delivery id that stays the same
across its retries, so the receiver can drop repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.customers.models import Customer
from cxloop.journeys.conditions import Facts, evaluate
from cxloop.journeys.elements import (
    BranchStep,
    ExitStep,
    JourneyDocument,
    OpenCaseStep,
    SendMessageStep,
    SendSurveyStep,
    SetAttributeStep,
    Step,
    TagStep,
    WaitStep,
    WebhookStep,
)

WEBHOOK_ATTEMPTS = 5  # then the enrolment fails
WEBHOOK_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25), timedelta(hours=2))
WEBHOOK_RETRY_AFTER_MAX = timedelta(hours=6)


@dataclass
class Visit:
    """One run of one step: who, where, when, and the key its side effect is made under."""

    actor: Actor
    document: JourneyDocument
    journey_key: str
    enrolment_id: str  # public id
    customer: Customer
    read_facts: Callable[[], Facts]  # read when a condition needs them (tags cost a query)
    seq: int
    now: datetime
    attempts: int = 0  # failed attempts so far (webhooks)
    first_seq: int = 0  # the seq of the first attempt (the webhook's delivery id)

    @property
    def key(self) -> str:
        return f"journey:{self.enrolment_id}:{self.seq}"

    @property
    def facts(self) -> Facts:
        return self.read_facts()


@dataclass
class Move:
    """A step's result. Exactly one of `next`, `wait_until`, `retry_at`, `finish` says where the enrolment goes."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    next: str | None = None
    wait_until: datetime | None = None  # entering a wait: its timer
    waiting_for: str = ""  # a wait for an event: its type
    retry_at: datetime | None = None  # stay on this step and try again then
    finish: str = ""  # an EnrolmentState: leave the journey
    reason: str = ""


# --------------------------------------------------------------------------- time


def customer_zone(customer: Customer) -> ZoneInfo:
    """The customer's time zone, else the business's (settings.TIME_ZONE)."""
    for name in (customer.time_zone, settings.TIME_ZONE, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_time_of_day(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first moment strictly after `after` when the clock in `zone` shows `at` (UTC).

    Built from the local date each day, so a daylight-saving change in between moves the UTC time, not the
    local one. A local time the clock skips (spring forward) runs at the same wall time after the jump's offset
    (zoneinfo's fold=0 reading); a repeated one (autumn) runs at its first occurrence.
    """
    local = after.astimezone(zone)
    for days in range(3):
        day = local.date() + timedelta(days=days)
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a time of day recurs within two days")


def wait_due(step: WaitStep, start: datetime, zone: ZoneInfo) -> datetime:
    if step.duration is not None:
        return start + step.duration
    if step.time_of_day is not None:
        return next_time_of_day(start, step.time_of_day, zone)
    assert step.timeout is not None
    return start + step.timeout


def describe_wait(step: WaitStep) -> dict[str, Any]:
    from cxloop.journeys.conditions import _duration_text

    if step.duration is not None:
        return {"duration": _duration_text(step.duration)}
    if step.time_of_day is not None:
        return {"time_of_day": step.time_of_day.strftime("%H:%M")}
    assert step.timeout is not None
    return {"event": step.event_type, "timeout": _duration_text(step.timeout)}


# --------------------------------------------------------------------------- handlers


def run_step(step: Step, visit: Visit) -> Move:
    handler = _HANDLERS[type(step)]
    return handler(step, visit)


def _wait(step: Step, visit: Visit) -> Move:
    assert isinstance(step, WaitStep)
    due = wait_due(step, visit.now, customer_zone(visit.customer))
    detail = {**describe_wait(step), "until": due.isoformat()}
    return Move("waiting", detail, wait_until=due, waiting_for=step.event_type or "")


def _branch(step: Step, visit: Visit) -> Move:
    assert isinstance(step, BranchStep)
    tried: list[dict[str, Any]] = []
    for number, branch in enumerate(step.branches, start=1):
        verdict = evaluate(branch.when, visit.facts)
        tried.append({"branch": branch.label or f"branch {number}", "result": verdict.holds, "checks": verdict.checks})
        if verdict.holds:
            return Move("branch", {"taken": branch.label or f"branch {number}", "tried": tried}, next=branch.then)
    return Move("branch", {"taken": "otherwise", "tried": tried}, next=step.otherwise)


def send_request(step: SendMessageStep, visit: Visit) -> Any:
    """The messaging request of a send step (its idempotency key is the visit's history key)."""
    from cxloop.messaging.types import SendRequest

    return SendRequest(
        customer_id=visit.customer.public_id,
        channel=step.channel,
        purpose=step.purpose,
        template=step.template,
        variables={"journey": visit.journey_key},
        idempotency_key=visit.key,
        automated=True,
    )


def sent(step: SendMessageStep, result: Any) -> Move:
    """The move of a send step from what messaging answered: a message (queued, scheduled or blocked by
    governance) or the error that refused the request; either way the journey goes on."""
    detail: dict[str, Any] = {"channel": step.channel, "template": step.template}
    if isinstance(result, CxloopError):
        return Move("refused", {**detail, "error": result.code, "message": str(result)[:300]}, next=step.next)
    detail["message"] = result.public_id
    if result.status == "blocked":
        return Move("blocked", {**detail, "reason": result.reason[:300], "code": result.reason_code}, next=step.next)
    return Move("sent", {**detail, "status": result.status}, next=step.next)


def _send_message(step: Step, visit: Visit) -> Move:
    assert isinstance(step, SendMessageStep)
    from cxloop.messaging import services as messaging_services

    try:
        with transaction.atomic():
            result: Any = messaging_services.send_message(visit.actor, send_request(step, visit))
    except CxloopError as exc:
        result = exc
    return sent(step, result)


def _account_owner(customer: Customer) -> Any:
    from django.contrib.auth import get_user_model

    username = (customer.attributes or {}).get("account_owner")
    if not isinstance(username, str) or not username:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


def _open_case(step: Step, visit: Visit) -> Move:
    assert isinstance(step, OpenCaseStep)
    from cxloop.cases.services import cases as case_services
    from cxloop.cases.services import plans

    owner = _account_owner(visit.customer) if step.assignee == "account_owner" else None
    data = case_services.CaseInput(
        customer=visit.customer,
        subject=step.subject,
        description=step.goal,
        priority=step.priority,
        owner=owner,
        source_channel="journey",
    )
    try:
        with transaction.atomic():
            case = case_services.open_case(visit.actor, data, at=visit.now)
            if step.is_task:
                plans.add_task(visit.actor, case, plans.TaskInput(title=step.subject, owner=owner))
    except CxloopError as exc:
        return Move("refused", {"error": exc.code, "message": str(exc)[:300]}, next=step.next)
    detail = {"case": case.public_id, "task": step.is_task, "owner": owner.get_username() if owner else None}
    return Move("opened", detail, next=step.next)


def _last_channel(customer: Customer) -> str:
    from cxloop.messaging.models import OutboundMessage

    channel = (
        OutboundMessage.objects.filter(customer_id=customer.pk)
        .order_by("-created_at")
        .values_list("channel", flat=True)
        .first()
    )
    return channel or "email"


def _send_survey(step: Step, visit: Visit) -> Move:
    assert isinstance(step, SendSurveyStep)
    from cxloop.feedback.models import Survey, TriggerKind
    from cxloop.feedback.services import invitations

    channel = _last_channel(visit.customer) if step.channel == "last_used" else step.channel
    survey = Survey.objects.filter(key=step.survey).first()
    if survey is None:
        return Move("refused", {"survey": step.survey, "error": "survey_not_found"}, next=step.next)
    try:
        with transaction.atomic():
            invitation = invitations.invite(
                visit.actor, survey, visit.customer, channel=channel, trigger=TriggerKind.EVENT, trigger_ref=visit.key
            )
    except CxloopError as exc:
        return Move("refused", {"survey": step.survey, "error": exc.code, "message": str(exc)[:300]}, next=step.next)
    detail = {"survey": step.survey, "channel": channel, "invitation": invitation.public_id}
    return Move("invited", {**detail, "status": invitation.status}, next=step.next)


def _update_customer(visit: Visit, changes: dict[str, Any], detail: dict[str, Any], next_step: str) -> Move:
    from cxloop.customers import services as customer_services

    try:
        with transaction.atomic():
            customer_services.update_customer(visit.actor, visit.customer, changes)
    except CxloopError as exc:
        return Move("refused", {**detail, "error": exc.code, "message": str(exc)[:300]}, next=next_step)
    return Move("done", detail, next=next_step)


def _set_attribute(step: Step, visit: Visit) -> Move:
    assert isinstance(step, SetAttributeStep)
    before = (visit.customer.attributes or {}).get(step.attribute)
    detail = {"attribute": step.attribute, "value": step.value, "before": before}
    return _update_customer(visit, {"attributes": {step.attribute: step.value}}, detail, step.next)


def _tag(step: Step, visit: Visit) -> Move:
    assert isinstance(step, TagStep)
    current = list(visit.customer.tags.values_list("name", flat=True))
    removed = {name.casefold() for name in step.remove}
    tags = [name for name in current if name.casefold() not in removed]
    tags += [name for name in step.add if name.casefold() not in {t.casefold() for t in tags}]
    detail = {"added": list(step.add), "removed": list(step.remove)}
    return _update_customer(visit, {"tags": tags}, detail, step.next)


def webhook_payload(visit: Visit, step: WebhookStep) -> dict[str, Any]:
    return {
        "journey": visit.journey_key,
        "enrolment": visit.enrolment_id,
        "step": step.id,
        "customer": {"id": visit.customer.public_id, "name": visit.customer.name},
        "at": visit.now.isoformat(),
    }


def _webhook(step: Step, visit: Visit) -> Move:
    assert isinstance(step, WebhookStep)
    from cxloop.channels.outbound_webhook import is_transient, post_signed, retry_after_seconds

    delivery = f"{visit.enrolment_id}:{visit.first_seq}"
    call = post_signed(
        step.url,
        webhook_payload(visit, step),
        delivery_id=delivery,
        event="journey.step",
        secret=None if step.is_signed else "",
    )
    attempt = visit.attempts + 1
    detail: dict[str, Any] = {"url": step.url, "delivery": delivery, "attempt": attempt, "status": call.status}
    if call.ok:
        return Move("called", detail, next=step.next)
    detail["error"] = call.error[:300]
    if not is_transient(call.status):  # a 400, 404, 410…: asking again will not change it
        return Move("failed", detail, finish="failed", reason=f"webhook refused: {call.error[:200]}")
    if attempt >= WEBHOOK_ATTEMPTS:
        return Move("failed", detail, finish="failed", reason=f"webhook failed {attempt} times: {call.error[:200]}")
    wait = WEBHOOK_BACKOFF[min(attempt - 1, len(WEBHOOK_BACKOFF) - 1)]
    asked = retry_after_seconds(call, visit.now)  # a receiver's Retry-After is honoured up to 6 hours
    if asked is not None:
        wait = max(wait, min(timedelta(seconds=asked), WEBHOOK_RETRY_AFTER_MAX))
    retry = visit.now + wait
    return Move("retry", {**detail, "retry_at": retry.isoformat()}, retry_at=retry)


def _exit(step: Step, visit: Visit) -> Move:
    assert isinstance(step, ExitStep)
    return Move("exit", {"reason": step.reason}, finish="exited", reason=step.reason or "exit step")


_HANDLERS: dict[type, Callable[[Step, Visit], Move]] = {
    WaitStep: _wait,
    BranchStep: _branch,
    SendMessageStep: _send_message,
    OpenCaseStep: _open_case,
    SendSurveyStep: _send_survey,
    SetAttributeStep: _set_attribute,
    TagStep: _tag,
    WebhookStep: _webhook,
    ExitStep: _exit,
}
