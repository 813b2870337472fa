"""Inviting a customer to a survey: the fatigue rules, the one invitation per trigger, and the message.

The invitation's message goes through the outbound distribution service (messaging's send_message) and nowhere
else, so consent, suppression, quiet hours and the audit apply to surveys as to any message. What happens when a
rule says no depends on who asked: staff and API callers get an error (fatigue: 409 saying when the customer was
last asked), while an automatic invitation (a trigger) is stored "skipped" with the reason, so the survey page
can show why a customer was not asked. A message that governance blocks (no consent, suppressed address) makes
the invitation "skipped" for everybody, with the message kept as the evidence.

Invitations with a `send_at` wait as "scheduled"; `send_due_invitations` (a periodic task) claims each with a
conditional UPDATE, so any number of workers may run, and sends it in its own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django_tasks_db import DatabaseBackend

from cxloop.cases.models import Case
from cxloop.cases.queries import cases as case_queries
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, CxloopError, NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.feedback.errors import SurveyFatigueError, SurveyNotActiveError, SurveyWidgetNotAllowedError
from cxloop.feedback.events import SurveySent
from cxloop.feedback.links import survey_url
from cxloop.feedback.models import Invitation, InvitationStatus, Survey, SurveyStatus, TriggerKind
from cxloop.feedback.services.invitation_content import email_content, short_text
from cxloop.feedback.services.surveys import localized_definition
from cxloop.messaging.models import MessageStatus
from cxloop.messaging.services.consent import latest_record
from cxloop.messaging.services.sending import send_message
from cxloop.messaging.types import SendRequest
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

CHANNELS = ("email", "sms", "whatsapp", "chat", "social")
AUTOMATIC = frozenset({TriggerKind.EVENT, TriggerKind.CHAT_END, TriggerKind.WIDGET})
BATCH_MAX = 500
SEND_BATCH = 200
EXPIRE_BATCH = 5000
REF_MAX = 120


def system_actor() -> Actor:
    """Who sends what a trigger or a schedule sends (the audit trail names it "feedback")."""
    return Actor.system("feedback")


# --- fatigue ------------------------------------------------------------------------------------------------------


def _fatigue_reason(survey: Survey, customer: Customer, now: datetime, *, exclude_pk: int | None = None) -> str:
    """Why the customer may not be asked now: at most one survey per CXLOOP_SURVEY_FATIGUE_DAYS overall, and one
    of this survey per its fatigue_days. Empty when they may. Only invitations that went out count."""
    overall = int(settings.CXLOOP_SURVEY_FATIGUE_DAYS or 0)
    own = survey.fatigue_days or 0
    windows = [(days, None) for days in (overall,) if days > 0] + [(own, survey.pk) for days in (own,) if days > 0]
    if not windows:
        return ""
    longest = max(days for days, _ in windows)
    recent = Invitation.objects.filter(customer=customer, sent_at__gt=now - timedelta(days=longest))
    if exclude_pk is not None:
        recent = recent.exclude(pk=exclude_pk)
    for days, survey_pk in windows:
        rows = recent.filter(sent_at__gt=now - timedelta(days=days))
        if survey_pk is not None:
            rows = rows.filter(survey_id=survey_pk)
        last = rows.select_related("survey").order_by("-sent_at").first()
        if last is not None and last.sent_at is not None:
            scope = "any survey" if survey_pk is None else "this survey"
            next_at = last.sent_at + timedelta(days=days)
            return (
                f"The customer was last sent a survey ({last.survey.name}) on {last.sent_at:%Y-%m-%d %H:%M} UTC; "
                f"at most one of {scope} per {days} days, so not before {next_at:%Y-%m-%d %H:%M} UTC."
            )
    return ""


def last_invited_at(customer: Customer) -> datetime | None:
    row = Invitation.objects.filter(customer=customer, sent_at__isnull=False).order_by("-sent_at").first()
    return row.sent_at if row is not None else None


# --- inviting -----------------------------------------------------------------------------------------------------


def _check(survey: Survey, customer: Customer, channel: str, trigger: str, refs: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = f"must be one of {', '.join(CHANNELS)}"
    if trigger not in TriggerKind.values:
        errors["trigger"] = f"must be one of {', '.join(TriggerKind.values)}"
    for name, value in refs.items():
        if len(value) > (REF_MAX if name == "trigger_ref" else 32):
            errors[name] = "too long"
    if not customer.is_active:
        errors["customer"] = "was merged into another customer; invite that one"
    if errors:
        raise ValidationError("The invitation is not valid.", fields=errors)
    if survey.status != SurveyStatus.ACTIVE:
        raise SurveyNotActiveError(f"The survey {survey.name!r} is {survey.status}; activate it first.")


def _case(actor: Actor, case_ref: str, customer: Customer) -> Case | None:
    if not case_ref:
        return None
    try:
        case = case_queries.get_case(actor, case_ref)
    except NotFoundError:
        raise ValidationError("No such case.", fields={"case_ref": "unknown case"}) from None
    if case.customer_id != customer.pk:
        raise ValidationError("The case is another customer's.", fields={"case_ref": "not a case of this customer"})
    return case


def _existing(survey: Survey, customer: Customer, trigger_ref: str) -> Invitation | None:
    if not trigger_ref:
        return None
    return Invitation.objects.filter(survey=survey, customer=customer, trigger_ref=trigger_ref).first()


@transaction.atomic
def invite(
    actor: Actor,
    survey: Survey,
    customer: Customer,
    *,
    channel: str,
    trigger: str = TriggerKind.MANUAL,
    trigger_ref: str = "",
    case_ref: str = "",
    thread_ref: str = "",
    send_at: datetime | None = None,
    locale: str = "",
) -> Invitation:
    """Invite `customer` to `survey` on `channel`, now or at `send_at` (stored "scheduled" until then).

    One invitation per (survey, customer, trigger_ref): an automatic trigger gets the existing one back, anyone
    else a 409 `already_invited`. Staff and API sends that fatigue forbids raise SurveyFatigueError (409);
    automatic ones are stored "skipped" with the reason. With a case, the invitation carries the case's team,
    owner and goal, so answers group by them.
    """
    actor.require(Perm.FEEDBACK_SEND)
    automatic = trigger in AUTOMATIC
    refs = {"trigger_ref": trigger_ref, "case_ref": case_ref, "thread_ref": thread_ref}
    _check(survey, customer, channel, trigger, refs)
    existing = _existing(survey, customer, trigger_ref)
    if existing is not None:
        if automatic:
            return existing
        raise ConflictError(
            f"The customer was already invited for {trigger_ref} ({existing.public_id}).", code="already_invited"
        )
    case = _case(actor, case_ref, customer)
    now = clock.now()
    # One invitation decision per customer at a time, so two sends at once cannot both pass the fatigue check.
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
    if not automatic:
        reason = _fatigue_reason(survey, customer, now)
        if reason:
            raise SurveyFatigueError(reason, fields={"customer": reason})
    invitation = Invitation(
        survey=survey,
        survey_version=survey.version,
        customer=customer,
        channel=channel,
        locale=locale or customer.locale or survey.default_locale,
        status=InvitationStatus.SCHEDULED,
        trigger=trigger,
        trigger_ref=trigger_ref,
        case_ref=case.public_id if case is not None else "",
        thread_ref=thread_ref,
        team=case.team if case is not None else None,
        agent=case.owner if case is not None else None,
        goal_key=case.goal.key if case is not None else "",
        send_at=send_at,
        expires_at=(send_at or now) + timedelta(days=survey.link_valid_days),
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        existing = _existing(survey, customer, trigger_ref)  # a concurrent trigger stored it first
        if existing is None or not automatic:
            raise ConflictError("The customer was already invited for this.", code="already_invited") from None
        return existing
    if send_at is not None:
        _audit(actor, invitation, "survey.scheduled", f"for {send_at:%Y-%m-%d %H:%M} UTC")
        if send_at <= now:
            _enqueue_send(invitation.pk)
        return invitation
    _deliver(actor, invitation, automatic=automatic, now=now)
    return invitation


def _enqueue_send(invitation_pk: int) -> None:
    from cxloop.feedback.tasks import send_invitation

    if isinstance(send_invitation.get_backend(), DatabaseBackend):
        send_invitation.enqueue(invitation_pk)
    else:
        transaction.on_commit(lambda: send_invitation.enqueue(invitation_pk))


def _request(invitation: Invitation, *, automatic: bool) -> SendRequest:
    survey = invitation.survey
    definition = localized_definition(survey, invitation.locale)
    url = survey_url(invitation.public_id)
    base = SendRequest(
        customer_id=invitation.customer.public_id,
        channel=invitation.channel,
        purpose=survey.purpose,
        idempotency_key=f"survey-invitation:{invitation.public_id}",
        automated=automatic,
        locale=invitation.locale,
    )
    if invitation.channel == "email":
        content = email_content(
            survey.kind,
            survey.name,
            definition,
            url=url,
            score_url=lambda score: survey_url(invitation.public_id, score=score),
            expires_at=invitation.expires_at,
        )
        return replace(base, subject=content.subject, text=content.text, html=content.html, quiet_hours=True)
    text = short_text(survey.kind, survey.name, definition, url)
    if invitation.channel == "chat":  # the chat the customer is in, answered at once
        return replace(base, text=text, thread_id=invitation.thread_ref)
    return replace(base, text=text, quiet_hours=True)


def _deliver(actor: Actor, invitation: Invitation, *, automatic: bool, now: datetime) -> None:
    """Fatigue, then the message. The invitation ends "sent" or "skipped" (automatic sends never raise for a
    rule; staff sends raise for fatigue and for a request the channel cannot take)."""
    reason = _fatigue_reason(invitation.survey, invitation.customer, now, exclude_pk=invitation.pk)
    if reason:
        if not automatic:
            raise SurveyFatigueError(reason, fields={"customer": reason})
        _skip(actor, invitation, reason)
        return
    invitation.expires_at = now + timedelta(days=invitation.survey.link_valid_days)
    try:
        message = send_message(actor, _request(invitation, automatic=automatic))
    except ValidationError as exc:
        if not automatic:
            raise
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
        _skip(actor, invitation, f"Not sent: {detail}")
        return
    invitation.message_ref = message.public_id
    if message.status == MessageStatus.BLOCKED:
        _skip(actor, invitation, f"The message was blocked ({message.reason_code}): {message.reason}")
        return
    invitation.status, invitation.sent_at = InvitationStatus.SENT, now
    invitation.save(update_fields=["status", "sent_at", "expires_at", "message_ref", "updated_at"])
    _audit(actor, invitation, "survey.sent", f"{invitation.channel} {invitation.message_ref}")
    publish(
        SurveySent(
            invitation_id=invitation.public_id,
            survey=invitation.survey.key,
            customer_id=invitation.customer.public_id,
            channel=invitation.channel,
            trigger=invitation.trigger,
        )
    )


def _skip(actor: Actor, invitation: Invitation, reason: str) -> None:
    invitation.status, invitation.skip_reason = InvitationStatus.SKIPPED, reason[:300]
    invitation.save(update_fields=["status", "skip_reason", "message_ref", "updated_at"])
    _audit(actor, invitation, "survey.skipped", reason)


def _audit(actor: Actor, invitation: Invitation, action: str, detail: str) -> None:
    record_audit(
        actor,
        action,
        object_type="customer",
        object_id=invitation.customer.public_id,
        summary=f"{invitation.survey.key} {invitation.public_id}: {detail}",
        after={
            "invitation": invitation.public_id,
            "survey": invitation.survey.key,
            "status": invitation.status,
            "channel": invitation.channel,
            "trigger": invitation.trigger,
            "message": invitation.message_ref or None,
            "reason": invitation.skip_reason or None,
        },
    )


# --- the web widget -----------------------------------------------------------------------------------------------

WIDGET_CHANNEL = "web"
PAGE_URL_MAX = 500


def widget_actor(ip_address: str | None = None) -> Actor:
    """Who acts for a website's survey widget: it may read surveys, find or create the customer the website
    vouched for (a signed identity) and invite them; the audit names it "survey_widget" with the visitor's
    address."""
    return Actor(
        user=None,
        via="survey_widget",
        ip_address=ip_address,
        permissions=frozenset({Perm.FEEDBACK_VIEW, Perm.FEEDBACK_SEND, Perm.CUSTOMERS_EDIT, Perm.CUSTOMERS_VIEW}),
    )


def _open_widget_invitation(survey: Survey, customer: Customer, now: datetime) -> Invitation | None:
    return (
        Invitation.objects.filter(
            survey=survey,
            customer=customer,
            trigger=TriggerKind.WIDGET,
            status__in=(InvitationStatus.SENT, InvitationStatus.OPENED),
            expires_at__gt=now,
        )
        .order_by("-sent_at", "-id")
        .first()
    )


def _widget_refusal(survey: Survey, customer: Customer, now: datetime) -> str:
    """Why the widget shows this customer nothing now ("" when it may ask)."""
    if not customer.is_active:
        return "merged into another customer"
    # Not an outbound message, so no channel consent is needed; an objection to every channel still counts.
    record = latest_record(customer.pk, WIDGET_CHANNEL, survey.purpose)
    if record is not None and not record.granted:
        return f"the customer withdrew {survey.purpose} consent"
    # A survey with no fatigue limit at all must still not ask again at every page view: an answer holds until
    # the link would have expired.
    answered = Invitation.objects.filter(
        survey=survey,
        customer=customer,
        trigger=TriggerKind.WIDGET,
        status=InvitationStatus.ANSWERED,
        sent_at__gt=now - timedelta(days=survey.link_valid_days),
    )
    if answered.exists():
        return "already answered"
    return _fatigue_reason(survey, customer, now)


def check_widget_survey(survey: Survey) -> None:
    """SurveyWidgetNotAllowedError (404) unless the survey is active and allowed in the web widget."""
    if survey.status != SurveyStatus.ACTIVE or not survey.widget_enabled:
        raise SurveyWidgetNotAllowedError(f"The survey {survey.key!r} is not offered in the web widget.")


@transaction.atomic
def invite_in_widget(actor: Actor, survey: Survey, customer: Customer, *, page_url: str = "") -> Invitation | None:
    """The invitation a website's survey widget shows `customer` (whom the website vouched for), or None when
    there is nothing to ask: fatigue, an answer already given, an objection. A page view never gets an error
    for a rule, since it would land in a customer's page; the widget then shows nothing.

    One open widget invitation per customer and survey is reused, so page views and open tabs show the same
    one (and its partial answers). A new one counts as sent when shown (fatigue counts it), is audited with the
    page it was shown on and publishes `survey.sent` with channel "web" and trigger "widget".
    """
    actor.require(Perm.FEEDBACK_SEND)
    check_widget_survey(survey)
    now = clock.now()
    # One decision per customer at a time: two tabs opening at once get the same invitation.
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
    existing = _open_widget_invitation(survey, customer, now)
    if existing is not None:
        return existing
    if _widget_refusal(survey, customer, now):
        return None
    invitation = Invitation.objects.create(
        survey=survey,
        survey_version=survey.version,
        customer=customer,
        channel=WIDGET_CHANNEL,
        locale=customer.locale or survey.default_locale,
        status=InvitationStatus.SENT,
        trigger=TriggerKind.WIDGET,
        sent_at=now,
        expires_at=now + timedelta(days=survey.link_valid_days),
    )
    page = page_url.strip()[:PAGE_URL_MAX]
    _audit(actor, invitation, "survey.sent", f"web widget{' on ' + page if page else ''}")
    publish(
        SurveySent(
            invitation_id=invitation.public_id,
            survey=survey.key,
            customer_id=customer.public_id,
            channel=WIDGET_CHANNEL,
            trigger=TriggerKind.WIDGET,
        )
    )
    return invitation


# --- batches (API) ------------------------------------------------------------------------------------------------


@dataclass
class BatchItem:
    customer_id: str
    invitation: Invitation | None = None
    error: CxloopError | None = None


@dataclass
class BatchResult:
    items: list[BatchItem] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.invitation is not None and item.invitation.status == status)

    @property
    def errors(self) -> int:
        return sum(1 for item in self.items if item.error is not None)


def invite_batch(
    actor: Actor,
    survey: Survey,
    customer_ids: list[str],
    *,
    channel: str,
    trigger: str = TriggerKind.API,
    send_at: datetime | None = None,
) -> BatchResult:
    """Invite many customers, each in its own transaction: one refused (fatigue, unknown customer, no address)
    is reported on its item and the others go on. Consent blocks come back as skipped invitations."""
    actor.require(Perm.FEEDBACK_SEND)
    if not customer_ids:
        raise ValidationError("No customers given.", fields={"customer_ids": "must not be empty"})
    if len(customer_ids) > BATCH_MAX:
        raise ValidationError("Too many customers.", fields={"customer_ids": f"at most {BATCH_MAX} per batch"})
    if len(set(customer_ids)) != len(customer_ids):
        raise ValidationError("A customer is listed twice.", fields={"customer_ids": "must not repeat a customer"})
    if survey.status != SurveyStatus.ACTIVE:
        raise SurveyNotActiveError(f"The survey {survey.name!r} is {survey.status}; activate it first.")
    result = BatchResult()
    for public_id in customer_ids:
        item = BatchItem(customer_id=public_id)
        try:
            customer = customer_queries.get_customer(actor, public_id)
            item.invitation = invite(actor, survey, customer, channel=channel, trigger=trigger, send_at=send_at)
        except CxloopError as exc:
            if exc.status == 403:
                raise
            item.error = exc
        result.items.append(item)
    return result


# --- scheduled sending and expiry (periodic tasks) ----------------------------------------------------------------


def _claim(invitation_pk: int, now: datetime) -> Invitation | None:
    """Take a due scheduled invitation for this worker: the conditional UPDATE succeeds for exactly one."""
    claimed = Invitation.objects.filter(pk=invitation_pk, status=InvitationStatus.SCHEDULED, send_at__lte=now).update(
        status=InvitationStatus.SENT
    )
    if claimed != 1:
        return None
    return Invitation.objects.select_related("survey", "customer").get(pk=invitation_pk)


def send_scheduled(invitation_pk: int) -> str:
    """Send one due scheduled invitation; returns its status afterwards ("" when it was not due or was taken)."""
    actor = system_actor()
    now = clock.now()
    with transaction.atomic():
        invitation = _claim(invitation_pk, now)
        if invitation is None:
            return ""
        invitation.status = InvitationStatus.SCHEDULED  # what the row held before the claim
        if invitation.survey.status != SurveyStatus.ACTIVE:
            _skip(actor, invitation, f"The survey is {invitation.survey.status}.")
        elif not invitation.customer.is_active:
            _skip(actor, invitation, "The customer was merged into another.")
        else:
            _deliver(actor, invitation, automatic=True, now=now)
        return invitation.status


def send_due_invitations(*, limit: int = SEND_BATCH) -> dict[str, int]:
    """Send scheduled invitations whose time has come, oldest first, up to `limit` per call."""
    now = clock.now()
    due = list(
        Invitation.objects.filter(status=InvitationStatus.SCHEDULED, send_at__lte=now)
        .order_by("send_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for pk in due:
        try:
            status = send_scheduled(pk)
        except Exception:  # one bad invitation must not stop the batch; it stays scheduled for the next run
            logger.exception("sending scheduled invitation %s failed", pk)
            counts["failed"] += 1
            continue
        if status in counts:
            counts[status] += 1
    return counts


def expire_invitations(*, limit: int = EXPIRE_BATCH) -> int:
    """Invitations whose link has run out and that were not answered become "expired" (set-based, batched)."""
    now = clock.now()
    total = 0
    while True:
        ids = list(
            Invitation.objects.filter(
                Q(status=InvitationStatus.SENT) | Q(status=InvitationStatus.OPENED), expires_at__lt=now
            ).values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return total
        total += Invitation.objects.filter(
            pk__in=ids, status__in=(InvitationStatus.SENT, InvitationStatus.OPENED)
        ).update(status=InvitationStatus.EXPIRED, updated_at=now)
        if len(ids) < limit:
            return total
