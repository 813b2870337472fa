"""The promises ledger: every commitment made to a customer ("we'll call you back Friday", "refund within 5 days")
is recorded with a due time, an owner and the channel it was made on, and followed until it is kept.

- `make_promise` records one (a due time in the future is required: a promise without one is refused).
- `keep_promise`, `cancel_promise` and `reschedule_promise` close or move it, each audited with an event.
- `sweep_promises` (the task "cases.sweep_promises", every minute) reminds owners before a promise falls due and
  marks overdue ones missed, escalating each to a supervisor of the owner's team (else an admin). It works on
  sets of rows: each batch is claimed with one conditional UPDATE and read back by its claim time, so two sweeps
  running at once never remind or escalate the same promise twice, on SQLite and PostgreSQL alike.
- `promises_link` gives the customer's signed "what we promised you" link (portal/promises).

A missed promise may still be kept: it ends as kept with `was_missed` set, so the kept-on-time rate stays honest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cxloop.accounts import notifications
from cxloop.accounts.models import User
from cxloop.cases.events import PromiseCancelled, PromiseDueSoon, PromiseKept, PromiseMade, PromiseMissed
from cxloop.cases.models import Case, CaseStatus, Promise, PromiseStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm, Role, permissions_for
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish, publish_all
from cxloop.interactions.models import Channel
from cxloop.privacy.services import AuditRecord, record_audit, record_audits

DESCRIPTION_MAX = 500
NOTE_MAX = 500
# Nobody can honestly promise further ahead than this; a date beyond it is a typing mistake.
FURTHEST_AHEAD = timedelta(days=5 * 366)
SWEEP_BATCH = 2000
LINK_SALT = "cxloop.portal.promises"
PENDING = (PromiseStatus.OPEN, PromiseStatus.MISSED)


class PromiseClosedError(ConflictError):
    """The promise was already kept or cancelled (or, for a reschedule, is no longer open)."""

    code = "promise_closed"


class PromisesLinkInvalidError(Exception):
    """The token is forged or damaged: nobody may see whose promises it claims."""


class PromisesLinkExpiredError(PromisesLinkInvalidError):
    """The signature is good but the link is older than CXLOOP_PROMISE_LINK_DAYS."""


# --- checks -----------------------------------------------------------------------------------------------------


def _check_due(due_at: datetime | None, now: datetime) -> datetime:
    if due_at is None:
        raise ValidationError("A promise needs a due time.", fields={"due_at": "required"})
    if timezone.is_naive(due_at):
        raise ValidationError("The due time needs a time zone.", fields={"due_at": "give a time zone or UTC offset"})
    due_at = clock.storable_utc(due_at, "due_at") or due_at
    if due_at <= now:
        raise ValidationError("A promise must fall due in the future.", fields={"due_at": "must be in the future"})
    if due_at > now + FURTHEST_AHEAD:
        raise ValidationError("That due time is too far ahead.", fields={"due_at": "at most 5 years ahead"})
    return due_at


def _check_text(text: str, field: str, limit: int, *, required: bool) -> str:
    text = " ".join(text.split())
    if required and not text:
        raise ValidationError(f"The {field} must not be empty.", fields={field: "required"})
    if len(text) > limit:
        raise ValidationError(f"The {field} is too long.", fields={field: f"at most {limit} characters"})
    return text


def _check_owner(actor: Actor, owner: User | None) -> User | None:
    owner = owner if owner is not None else actor.user
    if owner is None:
        return None
    if not owner.is_active:
        raise ValidationError("That user is deactivated.", fields={"owner": "is not active"})
    if Perm.CASES_WORK not in permissions_for(owner.role):
        raise ValidationError("That user cannot work with customers.", fields={"owner": "cannot own promises"})
    if actor.user is None or owner.pk != actor.user.pk:
        actor.require(Perm.CASES_ASSIGN)
    return owner


def _check_case(case: Case | None, customer: Customer) -> None:
    if case is None:
        return
    if case.customer_id != customer.pk:
        raise ValidationError("That case is another customer's.", fields={"case": "belongs to another customer"})
    if case.status == CaseStatus.CLOSED:
        raise ValidationError("That case is closed.", fields={"case": "is closed"})


def _check_channel(channel: str) -> str:
    channel = channel.strip().lower()
    if channel and channel not in Channel.values:
        raise ValidationError("Unknown channel.", fields={"channel": f"one of {', '.join(Channel.values)}"})
    return channel


def _may_change(actor: Actor, promise: Promise) -> None:
    """Cancelling or moving a commitment is for its owner or maker; anyone else needs the right to assign."""
    actor.require(Perm.CASES_WORK)
    user_id = actor.user.pk if actor.user is not None else None
    if user_id is None or user_id not in (promise.owner_id, promise.made_by_id):
        actor.require(Perm.CASES_ASSIGN)


def _locked(promise: Promise) -> Promise:
    return (
        Promise.objects.select_for_update(of=("self",)).select_related("customer", "case", "owner").get(pk=promise.pk)
    )


def _snapshot(promise: Promise) -> dict[str, Any]:
    return {
        "status": promise.status,
        "due_at": promise.due_at.isoformat(),
        "owner": promise.owner.username if promise.owner is not None else None,
        "description": promise.description,
        "was_missed": promise.was_missed,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _case_id(promise: Promise) -> str:
    return promise.case.public_id if promise.case is not None else ""


# --- the ledger -------------------------------------------------------------------------------------------------


@transaction.atomic
def make_promise(
    actor: Actor,
    *,
    customer: Customer,
    description: str,
    due_at: datetime | None,
    owner: User | None = None,
    channel: str = "",
    case: Case | None = None,
) -> Promise:
    """Record a commitment to `customer`, due at `due_at` (required, in the future), owned by `owner` (default:
    the actor; someone else needs CASES_ASSIGN), counted for the owner's team."""
    actor.require(Perm.CASES_WORK)
    now = clock.now()
    due = _check_due(due_at, now)
    text = _check_text(description, "description", DESCRIPTION_MAX, required=True)
    channel = _check_channel(channel)
    if not customer.is_active:
        raise ValidationError("That customer was merged into another.", fields={"customer": "is merged"})
    _check_case(case, customer)
    owner = _check_owner(actor, owner)
    promise = Promise.objects.create(
        customer=customer,
        case=case,
        description=text,
        due_at=due,
        owner=owner,
        team_id=owner.team_id if owner is not None else None,
        channel=channel,
        made_at=now,
        made_by=actor.user,
    )
    record_audit(
        actor,
        "promise.made",
        object_type="promise",
        object_id=promise.public_id,
        summary=f"{customer.public_id}: {text[:200]}",
        after=_snapshot(promise),
    )
    publish(
        PromiseMade(
            promise_id=promise.public_id,
            customer_id=customer.public_id,
            case_id=case.public_id if case is not None else "",
            owner=owner.username if owner is not None else "",
            due_at=_iso(due),
        )
    )
    return promise


@transaction.atomic
def keep_promise(actor: Actor, promise: Promise, note: str = "") -> Promise:
    """Mark a promise kept. A late keep (after its due time, missed or not yet swept) is recorded as late."""
    actor.require(Perm.CASES_WORK)
    note = _check_text(note, "note", NOTE_MAX, required=False)
    current = _locked(promise)
    if current.status not in PENDING:
        raise PromiseClosedError(f"This promise is already {current.status}.", fields={"status": current.status})
    before = _snapshot(current)
    now = clock.now()
    current.status = PromiseStatus.KEPT
    current.was_missed = current.was_missed or now > current.due_at
    current.kept_at = now
    current.kept_by = actor.user
    current.resolution_note = note
    current.save(update_fields=["status", "was_missed", "kept_at", "kept_by", "resolution_note", "updated_at"])
    record_audit(
        actor,
        "promise.kept",
        object_type="promise",
        object_id=current.public_id,
        summary=("kept late" if current.was_missed else "kept on time") + (f": {note[:200]}" if note else ""),
        before=before,
        after=_snapshot(current),
    )
    publish(PromiseKept(promise_id=current.public_id, case_id=_case_id(current), on_time=not current.was_missed))
    return current


@transaction.atomic
def cancel_promise(actor: Actor, promise: Promise, reason: str) -> Promise:
    """Withdraw a promise that no longer applies (the customer called it off, it was made by mistake); the reason
    is required because a cancelled promise drops out of the kept-on-time rate."""
    _may_change(actor, promise)
    reason = _check_text(reason, "reason", NOTE_MAX, required=True)
    current = _locked(promise)
    if current.status not in PENDING:
        raise PromiseClosedError(f"This promise is already {current.status}.", fields={"status": current.status})
    before = _snapshot(current)
    current.status = PromiseStatus.CANCELLED
    current.cancelled_at = clock.now()
    current.resolution_note = reason
    current.save(update_fields=["status", "cancelled_at", "resolution_note", "updated_at"])
    record_audit(
        actor,
        "promise.cancelled",
        object_type="promise",
        object_id=current.public_id,
        summary=reason[:300],
        before=before,
        after=_snapshot(current),
    )
    publish(PromiseCancelled(promise_id=current.public_id, reason=reason))
    return current


@transaction.atomic
def reschedule_promise(actor: Actor, promise: Promise, due_at: datetime | None, reason: str) -> Promise:
    """Move an open promise to a new due time, with the reason (told to the customer, one hopes). It counts as a
    new commitment: made again now, reminded again, and announced with promise.made. A missed promise cannot be
    moved after the fact: keep it (late) or cancel it."""
    _may_change(actor, promise)
    reason = _check_text(reason, "reason", NOTE_MAX, required=True)
    now = clock.now()
    due = _check_due(due_at, now)
    current = _locked(promise)
    if current.status != PromiseStatus.OPEN:
        raise PromiseClosedError(
            f"Only an open promise can be rescheduled; this one is {current.status}.", fields={"status": current.status}
        )
    before = _snapshot(current)
    current.due_at = due
    current.made_at = now
    current.reminded_at = None
    current.save(update_fields=["due_at", "made_at", "reminded_at", "updated_at"])
    record_audit(
        actor,
        "promise.rescheduled",
        object_type="promise",
        object_id=current.public_id,
        summary=reason[:300],
        before=before,
        after=_snapshot(current),
    )
    publish(
        PromiseMade(
            promise_id=current.public_id,
            customer_id=current.customer.public_id,
            case_id=_case_id(current),
            owner=current.owner.username if current.owner is not None else "",
            due_at=_iso(due),
        )
    )
    return current


# --- the sweep ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    missed: int
    notifications: int


def _page_url(case_public_id: str | None, customer_public_id: str) -> str:
    """Where a notification about a promise leads: its case when it has one (and the case page exists), else the
    customer page."""
    if case_public_id:
        try:
            return reverse("web:case", args=[case_public_id])
        except NoReverseMatch:
            pass
    try:
        return reverse("web:customer", args=[customer_public_id])
    except NoReverseMatch:
        return ""


_ROW_FIELDS = (
    "pk",
    "public_id",
    "description",
    "due_at",
    "owner_id",
    "owner__username",
    "owner__team_id",
    "team_id",
    "case__public_id",
    "customer__public_id",
    "customer__name",
)


def _claim(candidates: Q, changes: dict[str, Any], marker: Q) -> list[dict[str, Any]]:
    """Claim up to SWEEP_BATCH matching rows: pick their ids, change them with one UPDATE that repeats the
    condition, and read back those of them that carry this sweep's own time stamp (`marker`). A row another
    sweep took in between fails the repeated condition or the marker, so it is never handled twice."""
    ids = list(Promise.objects.filter(candidates).order_by("due_at", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return []
    Promise.objects.filter(candidates, pk__in=ids).update(**changes)
    return list(Promise.objects.filter(marker, pk__in=ids).order_by("due_at", "pk").values(*_ROW_FIELDS))


def _remind_batch(now: datetime, window_end: datetime) -> tuple[int, int]:
    rows = _claim(
        Q(status=PromiseStatus.OPEN, reminded_at__isnull=True, due_at__gt=now, due_at__lte=window_end),
        {"reminded_at": now},
        Q(status=PromiseStatus.OPEN, reminded_at=now),
    )
    events: list[DomainEvent] = []
    notes: list[notifications.NotificationInput] = []
    for row in rows:
        events.append(
            PromiseDueSoon(promise_id=row["public_id"], owner=row["owner__username"] or "", due_at=_iso(row["due_at"]))
        )
        if row["owner_id"] is not None:
            notes.append(
                notifications.NotificationInput(
                    user_id=row["owner_id"],
                    kind=PromiseDueSoon.name,
                    title=f"Promise due soon: {row['description']}",
                    body=f"To {row['customer__name'] or 'a customer'}, due {_iso(row['due_at'])}.",
                    url=_page_url(row["case__public_id"], row["customer__public_id"]),
                )
            )
    sent = notifications.notify_many(notes)
    publish_all(events)
    return len(rows), sent


def _escalation_targets(team_ids: set[int]) -> tuple[dict[int, int], int | None]:
    """The first active supervisor of each team (by id, so the choice is stable), and the first active admin."""
    supervisors: dict[int, int] = {}
    for team_id, user_id in (
        User.objects.filter(team_id__in=team_ids, role=Role.SUPERVISOR.value, is_active=True)
        .order_by("team_id", "pk")
        .values_list("team_id", "pk")
    ):
        supervisors.setdefault(team_id, user_id)
    admin = (
        User.objects.filter(role=Role.ADMIN.value, is_active=True).order_by("pk").values_list("pk", flat=True).first()
    )
    return supervisors, admin


def _miss_batch(now: datetime) -> tuple[int, int]:
    rows = _claim(
        Q(status=PromiseStatus.OPEN, due_at__lte=now),
        {"status": PromiseStatus.MISSED, "was_missed": True, "missed_at": now},
        Q(status=PromiseStatus.MISSED, missed_at=now),
    )
    if not rows:
        return 0, 0
    teams = {t for row in rows if (t := row["owner__team_id"] or row["team_id"]) is not None}
    supervisors, admin = _escalation_targets(teams)
    by_target: dict[int, list[int]] = defaultdict(list)
    usernames = dict(User.objects.filter(pk__in={*supervisors.values(), admin}).values_list("pk", "username"))
    events: list[DomainEvent] = []
    notes: list[notifications.NotificationInput] = []
    audits: list[AuditRecord] = []
    for row in rows:
        team_id = row["owner__team_id"] or row["team_id"]
        target = supervisors.get(team_id, admin) if team_id is not None else admin
        if target is not None:
            by_target[target].append(row["pk"])
        escalated = usernames.get(target, "") if target is not None else ""
        owner = row["owner__username"] or ""
        events.append(
            PromiseMissed(
                promise_id=row["public_id"], case_id=row["case__public_id"] or "", owner=owner, escalated_to=escalated
            )
        )
        audits.append(
            AuditRecord(
                action="promise.missed",
                object_type="promise",
                object_id=row["public_id"],
                summary=f"due {_iso(row['due_at'])}; escalated to {escalated or 'nobody'}",
            )
        )
        url = _page_url(row["case__public_id"], row["customer__public_id"])
        title = f"Promise missed: {row['description']}"
        body = f"To {row['customer__name'] or 'a customer'}, due {_iso(row['due_at'])}" + (
            f", owned by {owner}." if owner else "."
        )
        for user_id in {row["owner_id"], target} - {None}:
            notes.append(
                notifications.NotificationInput(
                    user_id=user_id, kind=PromiseMissed.name, title=title, body=body, url=url
                )
            )
    for target, ids in by_target.items():
        Promise.objects.filter(pk__in=ids).update(escalated_to_id=target)
    record_audits(Actor.system("promise-sweep"), audits)
    sent = notifications.notify_many(notes)
    publish_all(events)
    return len(rows), sent


def sweep_promises(at: datetime | None = None) -> SweepResult:
    """Remind owners of open promises falling due within CXLOOP_PROMISE_REMINDER_MINUTES, and mark the overdue
    ones missed, escalated to a supervisor of the owner's team (else an admin). Each batch is its own transaction,
    so a crash loses nothing: the rows of an unfinished batch are still open and the next sweep takes them."""
    now = at or clock.now()
    window_end = now + timedelta(minutes=int(settings.CXLOOP_PROMISE_REMINDER_MINUTES))
    reminded = missed = sent = 0
    while True:
        with transaction.atomic():
            count, told = _miss_batch(now)
        missed, sent = missed + count, sent + told
        if count < SWEEP_BATCH:
            break
    while True:
        with transaction.atomic():
            count, told = _remind_batch(now, window_end)
        reminded, sent = reminded + count, sent + told
        if count < SWEEP_BATCH:
            break
    return SweepResult(reminded=reminded, missed=missed, notifications=sent)


# --- the customer's link --------------------------------------------------------------------------------------


def promises_token(customer: Customer) -> str:
    """The signed token of the customer's "what we promised you" page (salted for this one purpose)."""
    return signing.dumps({"c": customer.public_id}, salt=LINK_SALT, compress=False)


@transaction.atomic
def promises_link(actor: Actor, customer: Customer) -> str:
    """The absolute URL of the customer's promises page, to send them. It shows only what was promised to them,
    but whoever holds it sees that, so it is given to staff who talk to customers, and the hand-out is logged."""
    actor.require(Perm.CASES_WORK)
    path = reverse("portal:promises", kwargs={"token": promises_token(customer)})
    record_audit(
        actor,
        "promise.link_issued",
        object_type="customer",
        object_id=customer.public_id,
        summary="the customer's promises link",
    )
    return str(settings.CXLOOP_BASE_URL).rstrip("/") + path


def customer_for_promises_token(token: str) -> Customer:
    """The active customer the token names (following merges), or PromisesLinkInvalidError / ...ExpiredError."""
    max_age = timedelta(days=int(settings.CXLOOP_PROMISE_LINK_DAYS))
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise PromisesLinkExpiredError(str(exc)) from exc
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise PromisesLinkInvalidError(str(exc)) from exc
    public_id = data.get("c") if isinstance(data, dict) else None
    if not isinstance(public_id, str):
        raise PromisesLinkInvalidError("the token names no customer")
    customer = Customer.objects.filter(public_id=public_id).first()
    hops = 0
    while customer is not None and not customer.is_active and customer.merged_into_id and hops < 20:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
        hops += 1
    if customer is None or not customer.is_active:
        raise PromisesLinkInvalidError("the customer no longer exists")
    return customer


def promises_page_actor(ip_address: str | None = None) -> Actor:
    """The customer reading their own promises through a signed link: no staff user, only the right to read."""
    return Actor(user=None, via="promises_page", ip_address=ip_address, permissions=frozenset({Perm.CASES_VIEW}))
