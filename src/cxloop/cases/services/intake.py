"""Cases from inbound messages: what a customer's message does to case management before anyone reads it.

Subscribed to "message.received" (cases/apps.py), which the inbound pipeline publishes after commit, once per
recorded message. Only real messages count (an auto-reply or a bounce never opens or reopens anything):

- the conversation serves an active or resolved case → nothing here: the activity subscriber keeps that case up
  to date (and reopens a resolved one);
- it serves a closed case → the customer came back about a finished matter: a new case on the conversation,
  flagged a repeat of the closed one, where the channel opens cases; otherwise the conversation leaves the closed
  case (so the inbox shows it again);
- it is the first message of a new conversation → if it is about one of the customer's recent active or resolved
  cases (cases.services.repeats), it joins that case as a repeat contact; otherwise the channel's
  ChannelCaseSetting says whether it opens a case, with which goal, category and priority; a new conversation
  that opens no case is routed to a queue (cases.services.routing.route_conversation).

Redelivery is harmless: the conversation row is locked and re-read, and a conversation that already serves a
case, or a message that is not the first of its conversation, is left alone.

close_resolved_cases (the hourly task "cases.close_resolved") belongs here because it draws the line these rules
follow: a customer writing on a resolved case reopens it, on a closed one starts a new case. Resolved cases close
after CXLOOP_CASE_AUTO_CLOSE_DAYS.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from cxloop.cases.events import CaseClosed, CaseStatusChanged
from cxloop.cases.models import Case, CaseStatus, ChannelCaseSetting, Queue
from cxloop.cases.services import repeats, routing
from cxloop.channels.events import InboundReceived
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread
from cxloop.privacy.services import AuditRecord, record_audit, record_audits

logger = logging.getLogger(__name__)

SUBJECT_CHARS = 300
# Resolved cases closed per transaction by close_resolved_cases.
CLOSE_BATCH = 2000

# What handle_message did, for callers and tests.
OPENED = "opened"  # a new case was opened on the conversation
FOLDED = "folded"  # the conversation joined a recent case (repeat contact)
RELEASED = "released"  # the conversation left a closed case
IGNORED = "ignored"


@dataclass(frozen=True)
class IntakeResult:
    outcome: str
    case: Case | None = None


def _actor() -> Actor:
    return Actor.system("cases:intake")


def on_message_received(event: DomainEvent) -> None:
    """The "message.received" subscriber. A failure is logged, never raised into the pipeline (the message is
    already recorded and in the inbox; a person can still open the case)."""
    if not isinstance(event, InboundReceived) or event.kind != "message":
        return
    try:
        handle_message(event.thread_id, event.interaction_id)
    except CxloopError as exc:
        logger.warning("case intake skipped %s on %s: %s", event.interaction_id, event.thread_id, exc.message)


@functools.cache
def _first_look_sql() -> str:
    """The one read every inbound message costs here, written out from the models' metadata (identifiers only;
    values are parameters). Built with the ORM it took ~1.5 ms of Python per message, more than running it."""
    q = connection.ops.quote_name
    message, thread = q(Interaction._meta.db_table), q(Thread._meta.db_table)
    cases, settings_, queues = (
        q(Case._meta.db_table),
        q(ChannelCaseSetting._meta.db_table),
        q(Queue._meta.db_table),
    )
    return (
        f"SELECT m.id, m.thread_id, t.case_ref,"  # noqa: S608 - identifiers from the models' metadata only
        f" EXISTS(SELECT 1 FROM {message} e WHERE e.thread_id = m.thread_id AND e.id < m.id),"
        f" EXISTS(SELECT 1 FROM {cases} c WHERE c.customer_id = t.customer_id),"
        f" EXISTS(SELECT 1 FROM {settings_} s WHERE s.channel = t.channel AND s.opens_cases = %s),"
        f" EXISTS(SELECT 1 FROM {queues})"
        f" FROM {message} m JOIN {thread} t ON t.id = m.thread_id"
        f" WHERE m.public_id = %s AND t.public_id = %s"
    )


def _first_look(thread_id: str, interaction_id: str) -> tuple[int, int, str, bool, bool, bool, bool] | None:
    """The message's id and conversation, the case it serves, whether it continues the conversation, and whether
    anything could follow from it: a case of the customer's to repeat, a channel that opens cases, a queue."""
    with connection.cursor() as cursor:
        cursor.execute(_first_look_sql(), [True, interaction_id, thread_id])
        found = cursor.fetchone()
    if found is None:
        return None
    pk, thread_pk, case_ref, *flags = found
    return pk, thread_pk, case_ref, *(bool(flag) for flag in flags)  # type: ignore[return-value]


def handle_message(thread_id: str, interaction_id: str) -> IntakeResult:
    """Apply the intake rules to one recorded inbound message (see the module docstring).

    Every inbound message passes here, and most continue a conversation that needs nothing: one read without a
    transaction or lock says so. Only a message that may start or restart a case takes the locked path."""
    row = _first_look(thread_id, interaction_id)
    if row is None:
        return IntakeResult(IGNORED)
    interaction_pk, thread_pk, case_ref, continues, has_cases, opens_cases, has_queues = row
    if case_ref:
        if not Case.objects.filter(public_id=case_ref, status=CaseStatus.CLOSED).exists():
            return IntakeResult(IGNORED)  # the activity subscriber follows messages of open and resolved cases
    elif continues:
        return IntakeResult(IGNORED)  # a conversation the team already handles without a case
    elif not (has_cases or opens_cases or has_queues):
        return IntakeResult(IGNORED)  # no case to repeat, no case to open, nowhere to route it
    result = _handle_locked(thread_pk, interaction_pk) if case_ref or has_cases or opens_cases else None
    if (result is None or result.outcome in (IGNORED, RELEASED)) and has_queues:
        # A new conversation that serves no case goes to a queue by the routing rules (a case routes itself,
        # and its conversations follow the case's owner). Routing lives behind this one subscriber so a message
        # that continues a conversation costs the inbound pipeline the single read above.
        routing.route_conversation(thread_pk, interaction_id=interaction_pk)
    return result or IntakeResult(IGNORED)


@transaction.atomic
def _handle_locked(thread_pk: int, interaction_pk: int) -> IntakeResult:
    """The same rules on the locked conversation row, read again: a redelivered or concurrent event waits here and
    then finds the conversation already serving the case the first one opened."""
    thread = Thread.objects.select_for_update().select_related("customer").get(pk=thread_pk)
    interaction = Interaction.objects.get(pk=interaction_pk)
    if thread.case_ref:
        return _on_case_conversation(thread, interaction)
    if Interaction.objects.filter(thread_id=thread.pk, pk__lt=interaction.pk).exists():
        return IntakeResult(IGNORED)  # a conversation the team already handles without a case
    now = clock.now()
    match = repeats.find_recent_case(thread, interaction, at=now)
    if match is not None and match.case.status != CaseStatus.CLOSED:
        return IntakeResult(FOLDED, repeats.fold_into_case(match, thread, interaction, at=now))
    # A closed case on the same matter: a new case (if the channel opens them) is flagged a repeat of it by
    # open_case's own repeat check.
    case = _open_for(thread, interaction)
    return IntakeResult(OPENED, case) if case is not None else IntakeResult(IGNORED)


def _on_case_conversation(thread: Thread, interaction: Interaction) -> IntakeResult:
    closed = Case.objects.filter(public_id=thread.case_ref).first()
    if closed is None or closed.status != CaseStatus.CLOSED:
        return IntakeResult(IGNORED)  # the activity subscriber follows messages of open and resolved cases
    case = _open_for(thread, interaction)
    if case is not None:
        # The message that came back belongs to the new case, not to the finished one.
        conversations.move_message_to_case(interaction.pk, closed.public_id, case.public_id)
        return IntakeResult(OPENED, case)
    conversations.link_thread_to_case(thread, "")
    conversations.move_message_to_case(interaction.pk, closed.public_id, "")
    record_audit(
        _actor(),
        "case.conversation_released",
        object_type="case",
        object_id=closed.public_id,
        summary=f"#{closed.pk} is closed: conversation {thread.public_id} back in the inbox",
        before={"conversation": thread.public_id},
    )
    return IntakeResult(RELEASED)


def _subject(thread: Thread, interaction: Interaction) -> str:
    for text in (thread.subject, interaction.summary, interaction.body):
        subject = " ".join(text.split())
        if subject:
            return subject[:SUBJECT_CHARS]
    return f"Message on {thread.channel}"


def _open_for(thread: Thread, interaction: Interaction) -> Case | None:
    """Open a case on the conversation when its channel's setting says so."""
    from cxloop.cases.services import cases as case_services  # cases imports repeats, which this module imports

    setting = (
        ChannelCaseSetting.objects.filter(channel=thread.channel, opens_cases=True)
        .select_related("goal", "category")
        .first()
    )
    if setting is None:
        return None
    return case_services.open_case(
        _actor(),
        case_services.CaseInput(
            customer=thread.customer,
            subject=_subject(thread, interaction),
            goal=setting.goal,
            category=setting.category,
            priority=setting.priority,
            source_channel=thread.channel,
            thread=thread,
        ),
        at=clock.now(),
    )


def close_resolved_cases(at: datetime | None = None) -> int:
    """Close every case resolved more than CXLOOP_CASE_AUTO_CLOSE_DAYS ago (0: never); returns how many.

    In batches, each its own transaction: the rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so a case
    an agent is reopening at that moment is left for the next run, and parallel workers never close one twice.
    Resolved cases have no running SLA clock (resolving stopped them), so no clock needs touching."""
    days = int(settings.CXLOOP_CASE_AUTO_CLOSE_DAYS)
    if days <= 0:
        return 0
    now = at or clock.now()
    cutoff = now - timedelta(days=days)
    total = 0
    while True:
        closed = _close_batch(cutoff, now, days)
        total += closed
        if closed < CLOSE_BATCH:
            return total


@transaction.atomic
def _close_batch(cutoff: datetime, now: datetime, days: int) -> int:
    rows = list(
        Case.objects.select_for_update(skip_locked=True)
        .filter(status=CaseStatus.RESOLVED, resolved_at__lt=cutoff)
        .order_by("resolved_at", "id")
        .values_list("pk", "public_id")[:CLOSE_BATCH]
    )
    if not rows:
        return 0
    Case.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=CaseStatus.CLOSED, closed_at=now, version=F("version") + 1, updated_at=now
    )
    record_audits(
        _actor(),
        [
            AuditRecord(
                action="case.status_changed",
                object_type="case",
                object_id=public_id,
                summary=f"#{pk}: resolved → closed (resolved over {days} days ago)",
                before={"status": CaseStatus.RESOLVED.value},
                after={"status": CaseStatus.CLOSED.value},
            )
            for pk, public_id in rows
        ],
    )
    events: list[DomainEvent] = []
    for _, public_id in rows:
        events.append(
            CaseStatusChanged(case_id=public_id, status=CaseStatus.CLOSED.value, previous=CaseStatus.RESOLVED.value)
        )
        events.append(CaseClosed(case_id=public_id))
    publish_all(events)
    return len(rows)
