"""Conversations (threads) as the inbox sees them: finding the one a message continues, and its state.

Every channel threads the same way, strongest clue first: the ids of earlier messages it answers, the
running conversation it belongs to, and (email only) the subject when a mail client lost the headers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction

from cxloop.accounts.models import Team, User
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import update_rows
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.interactions.events import ConversationAssigned, ConversationStatusChanged
from cxloop.interactions.models import Interaction, Thread, ThreadStatus
from cxloop.privacy.services import record_audit

# A closed conversation picked up again within this window reopens; after it, a new one starts.
REOPEN_WINDOW = timedelta(days=7)
# How far back a subject match may reach when the reply headers were lost.
SUBJECT_WINDOW = timedelta(days=30)


def find_thread(
    customer: Customer,
    channel: str,
    *,
    reply_to_ids: tuple[str, ...] = (),
    conversation_key: str = "",
    normalized_subject: str = "",
    at: datetime | None = None,
) -> Thread | None:
    now = at or clock.now()
    if reply_to_ids:
        thread = _newest_thread([("customer", customer.pk)], replying_to=reply_to_ids[:50])
        if thread is not None:
            return thread
    if conversation_key:
        thread = _newest_thread(
            [("customer", customer.pk), ("channel", channel), ("external_ref", conversation_key[:255])]
        )
        if thread is not None and (
            thread.status != ThreadStatus.CLOSED or thread.last_activity_at >= now - REOPEN_WINDOW
        ):
            return thread
        return None
    if normalized_subject:
        return _newest_thread(
            [("customer", customer.pk), ("channel", channel), ("normalized_subject", normalized_subject[:300])],
            active_since=now - SUBJECT_WINDOW,
        )
    return None


def _newest_thread(
    equal: list[tuple[str, object]], *, replying_to: tuple[str, ...] = (), active_since: datetime | None = None
) -> Thread | None:
    """The most recently active thread whose fields equal these values (and that holds a message with one of the
    ids `replying_to`, or was active since `active_since`).

    Every inbound message asks this, so it is written out from the models' metadata: building and compiling the
    equivalent ORM query (`Thread.objects.filter(…).order_by("-last_activity_at", "-pk").first()`) cost about
    0.3 ms, ten times running it. It is the same SQL, values as parameters.
    """
    quote, meta = connection.ops.quote_name, Thread._meta
    table = quote(meta.db_table)
    column = {f.name: f"{table}.{quote(str(f.column))}" for f in meta.concrete_fields}
    # Only identifiers from the models' own metadata go into the text; every value is a parameter.
    where = [f"{column[name]} = %s" for name, _ in equal]
    params: list[object] = [value for _, value in equal]
    joins = ""
    if replying_to:
        other = Interaction._meta
        messages = quote(other.db_table)
        thread_id = quote(str(other.get_field("thread").column))
        joins = f" INNER JOIN {messages} ON ({column['id']} = {messages}.{thread_id})"
        external_id = quote(str(other.get_field("external_id").column))
        where.append(f"{messages}.{external_id} IN ({', '.join(['%s'] * len(replying_to))})")
        params.extend(replying_to)
    if active_since is not None:
        where.append(f"{column['last_activity_at']} >= %s")
        params.append(connection.ops.adapt_datetimefield_value(active_since))
    sql = (
        f"SELECT {', '.join(column.values())} FROM {table}{joins} WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {column['last_activity_at']} DESC, {column['id']} DESC LIMIT 1"
    )
    return next(iter(Thread.objects.raw(sql, params)), None)


def open_thread(
    customer: Customer,
    channel: str,
    *,
    subject: str,
    normalized_subject: str,
    external_ref: str,
    at: datetime,
    inbound: bool = False,
) -> Thread:
    """`inbound`: a customer's message opens it, so it starts as note_inbound would leave it (no second write)."""
    return Thread.objects.create(
        customer=customer,
        channel=channel,
        subject=subject[:300],
        normalized_subject=normalized_subject[:300],
        external_ref=external_ref[:255],
        last_activity_at=at,
        last_inbound_at=at if inbound else None,
    )


def apply_inbound(thread: Thread, at: datetime, *, reopen: bool = True) -> list[str]:
    """note_inbound on the object only: the fields it changed, for the caller to write (batch paths write many)."""
    last_inbound = max(thread.last_inbound_at or at, at)
    last_activity = max(thread.last_activity_at, at)
    reopens = reopen and thread.status != ThreadStatus.OPEN
    if last_inbound == thread.last_inbound_at and last_activity == thread.last_activity_at and not reopens:
        return []  # already so (a thread this message opened, or an older message arriving late): nothing to write
    thread.last_inbound_at, thread.last_activity_at = last_inbound, last_activity
    fields = ["last_inbound_at", "last_activity_at", "updated_at"]
    if reopens:
        thread.status = ThreadStatus.OPEN
        fields.append("status")
    return fields


def note_inbound(thread: Thread, at: datetime, *, reopen: bool = True) -> None:
    """The customer spoke: the conversation is ours to answer again (an auto-reply does not reopen it)."""
    fields = apply_inbound(thread, at, reopen=reopen)
    if fields:
        update_rows([thread], fields)  # save(update_fields=…) without compiling the UPDATE for every message


OUTBOUND_FIELDS = ["last_outbound_at", "last_activity_at", "status", "updated_at"]


def apply_outbound(thread: Thread, at: datetime) -> list[str]:
    """note_outbound on the object only: the fields it changed (always all of OUTBOUND_FIELDS)."""
    thread.last_outbound_at = max(thread.last_outbound_at or at, at)
    thread.last_activity_at = max(thread.last_activity_at, at)
    thread.status = ThreadStatus.WAITING
    return OUTBOUND_FIELDS


def note_outbound(thread: Thread, at: datetime) -> None:
    """We answered: the conversation now waits on the customer."""
    thread.save(update_fields=apply_outbound(thread, at))


@transaction.atomic
def set_thread_status(actor: Actor, thread: Thread, status: str) -> Thread:
    actor.require(Perm.INTERACTIONS_WRITE)
    if status not in ThreadStatus.values:
        raise ValidationError("Unknown status.", fields={"status": f"must be one of {', '.join(ThreadStatus.values)}"})
    before = thread.status
    if before == status:
        return thread
    thread.status = status
    thread.save(update_fields=["status", "updated_at"])
    record_audit(
        actor,
        "conversation.status_changed",
        object_type="conversation",
        object_id=thread.public_id,
        summary=f"{before} → {status}",
        before={"status": before},
        after={"status": status},
    )
    publish(ConversationStatusChanged(conversation_id=thread.public_id, status=status, previous=before))
    return thread


@transaction.atomic
def assign_thread(actor: Actor, thread: Thread, *, user: User | None, team: Team | None = None) -> Thread:
    """Give the conversation to an agent (and their team); agents may take one themselves."""
    taking_it = user is not None and actor.user is not None and user.pk == actor.user.pk
    if not taking_it:
        actor.require(Perm.CONVERSATIONS_ASSIGN)
    actor.require(Perm.INTERACTIONS_WRITE)
    if user is not None and not user.is_active:
        raise ValidationError("That user is deactivated.", fields={"assignee": "is not active"})
    before = {"assignee": thread.assigned_to.username if thread.assigned_to else None, "team": thread.team_id}
    thread.assigned_to = user
    thread.team = team if team is not None else (user.team if user is not None else thread.team)
    thread.save(update_fields=["assigned_to", "team", "updated_at"])
    assignee = user.username if user else ""
    after = {"assignee": assignee or None, "team": thread.team_id}
    record_audit(
        actor,
        "conversation.assigned",
        object_type="conversation",
        object_id=thread.public_id,
        summary=f"assigned to {assignee or 'nobody'}",
        before=before,
        after=after,
    )
    publish(ConversationAssigned(conversation_id=thread.public_id, assignee=assignee))
    return thread


@transaction.atomic
def close_inactive(actor: Actor, *, idle_since: datetime, statuses: tuple[str, ...] = (ThreadStatus.WAITING,)) -> int:
    """Close conversations with no activity since `idle_since` (by default those waiting on the customer).

    The customer writing again reopens them (see note_inbound), so closing never loses a conversation.
    """
    actor.require(Perm.INTERACTIONS_WRITE)
    idle = Thread.objects.filter(status__in=statuses, last_activity_at__lt=idle_since)
    ids = list(idle.values_list("public_id", flat=True)[:100_000])
    if not ids:
        return 0
    closed = Thread.objects.filter(public_id__in=ids).update(status=ThreadStatus.CLOSED, updated_at=clock.now())
    record_audit(
        actor,
        "conversation.auto_closed",
        object_type="conversation",
        object_id="",
        summary=f"{closed} conversation(s) idle since {idle_since:%Y-%m-%d %H:%M} closed",
        after={"closed": closed, "statuses": list(statuses), "idle_since": idle_since.isoformat(), "ids": ids[:1000]},
    )
    return closed


def link_thread_to_case(thread: Thread, case_ref: str) -> int:
    """The conversation now serves case `case_ref` (a public id; "" to unlink): its new messages carry the case,
    and so do its earlier ones that served no case yet. Case management calls this inside its own service, which
    checks permissions and writes the audit entry. Returns how many earlier messages were tagged."""
    Thread.objects.filter(pk=thread.pk).update(case_ref=case_ref)
    thread.case_ref = case_ref
    if not case_ref:
        return 0
    return Interaction.objects.filter(thread_id=thread.pk, case_ref="").update(case_ref=case_ref)


def move_case_refs(from_case_ref: str, to_case_ref: str) -> None:
    """Messages and conversations of a case merged into another now belong to the surviving case."""
    Thread.objects.filter(case_ref=from_case_ref).update(case_ref=to_case_ref)
    Interaction.objects.filter(case_ref=from_case_ref).update(case_ref=to_case_ref)


def move_message_to_case(interaction_id: int, from_case_ref: str, to_case_ref: str) -> None:
    """One message that arrived on a finished case's conversation belongs to the case it starts (or to none)."""
    Interaction.objects.filter(pk=interaction_id, case_ref=from_case_ref).update(case_ref=to_case_ref)
