"""Handing stored messages to their channel's sender, once each, with retries and backoff.

A message is claimed with a conditional UPDATE (queued/scheduled and due -> sending) before the sender
is called, so any number of workers, a duplicated task or the periodic sweep can never send it twice.
The sender is called outside any transaction: a slow provider must not hold database locks.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, prefetch_related_objects

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, OutboundSender, SendFailed, SendOutcome, ThreadContext
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import insert_rows, new_object, update_rows
from cxloop.core.errors import CxloopError
from cxloop.core.permissions import Perm
from cxloop.events.bus import publish, publish_all
from cxloop.interactions import services as interaction_services
from cxloop.interactions.bulk_recording import TimelineEntry, record_interactions
from cxloop.interactions.models import Thread
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import governance
from cxloop.messaging.events import MessageBlocked, MessageFailed, MessageSent
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose
from cxloop.messaging.services.judging import Facts, Subject, Verdict, judge, read_facts
from cxloop.messaging.services.links import unsubscribe_link
from cxloop.privacy.services import AuditRecord, record_audit, record_audit_entry, record_audits

logger = logging.getLogger(__name__)

_DUE = (MessageStatus.QUEUED, MessageStatus.SCHEDULED)
# A queued message whose task was lost (the process died between commit and enqueue) is picked up again.
LOST_TASK_AFTER = timedelta(minutes=5)
_OUTCOME_STATUS = {
    "queued": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
}


def _actor() -> Actor:
    return Actor.system("messaging")


def _returning_supported(connection: BaseDatabaseWrapper) -> bool:
    """UPDATE ... RETURNING: PostgreSQL, SQLite from 3.35 (Django flags it for INSERT; the same versions)."""
    return bool(connection.features.can_return_columns_from_insert)


# Read back by the claim: what judging the messages again and loading them need.
_CLAIMED = ("id", "customer", "channel", "to_address", "purpose")


def _claim(message_ids: Sequence[int]) -> dict[int, Subject]:
    """Claim the due ones of `message_ids` (queued/scheduled and due -> sending): {id: what to judge}.

    One conditional UPDATE for all of them, so concurrent claimers split the messages and none is taken twice;
    RETURNING hands back what judging and loading them need, in the same statement.
    """
    if not message_ids:
        return {}
    now = clock.now()
    connection = connections[router.db_for_write(OutboundMessage)]
    if not _returning_supported(connection):
        return _claim_each(message_ids, now)
    meta = OutboundMessage._meta
    quote = connection.ops.quote_name
    columns = {field.name: quote(str(field.column)) for field in meta.concrete_fields}
    status, updated, next_at, pk = columns["status"], columns["updated_at"], columns["next_attempt_at"], columns["id"]
    ids = list(dict.fromkeys(message_ids))
    sql = (  # identifiers from the model's metadata only; every value is a parameter
        f"UPDATE {quote(meta.db_table)} SET {status} = %s, {updated} = %s"  # noqa: S608
        f" WHERE {pk} IN ({', '.join(['%s'] * len(ids))}) AND {status} IN (%s, %s)"
        f" AND ({next_at} IS NULL OR {next_at} <= %s) RETURNING {', '.join(columns[name] for name in _CLAIMED)}"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [MessageStatus.SENDING.value, stamp, *ids, *(s.value for s in _DUE), stamp])
        return _subjects(cursor.fetchall())


def _subjects(rows: Iterable[Sequence[Any]]) -> dict[int, Subject]:
    return {pk: Subject(customer, channel, address, purpose) for pk, customer, channel, address, purpose in rows}


def _claim_each(message_ids: Sequence[int], now: datetime) -> dict[int, Subject]:
    """The claim where UPDATE cannot return rows: one conditional UPDATE per message, then read them."""
    due = Q(status__in=_DUE) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    claimed = [
        pk
        for pk in dict.fromkeys(message_ids)
        if OutboundMessage.objects.filter(due, pk=pk).update(status=MessageStatus.SENDING, updated_at=now) == 1
    ]
    names = [OutboundMessage._meta.get_field(name).attname for name in _CLAIMED]  # type: ignore[union-attr]
    return _subjects(OutboundMessage.objects.filter(pk__in=claimed).values_list(*names))


def _load(claimed: dict[int, Subject]) -> list[tuple[OutboundMessage, Facts]]:
    """The claimed messages with what sending needs, and the facts to judge them again (one statement more
    for a single message, two for a batch)."""
    if not claimed:
        return []
    facts = dict(zip(claimed, read_facts(list(claimed.values())), strict=True))
    rows = list(
        OutboundMessage.objects.select_related("customer", "created_by").filter(pk__in=list(claimed)).order_by("pk")
    )
    # Free text (most sends) has no template: its version and template are read only for those that do.
    prefetch_related_objects([m for m in rows if m.template_version_id is not None], "template_version__template")
    return [(message, facts[message.pk]) for message in rows]


def _event(message: OutboundMessage, state: str, detail: str = "", code: str = "") -> None:
    DeliveryEvent.objects.create(
        message=message, state=state, occurred_at=clock.now(), detail=detail[:500], error_code=code[:64]
    )


def _payload(message: OutboundMessage) -> OutboundPayload:
    reply = message.reply_context or {}
    version = message.template_version
    return OutboundPayload(
        message_ref=message.public_id,
        channel=message.channel,
        to=message.to_address,
        text=message.body_text,
        subject=message.subject,
        html=message.body_html,
        purpose="marketing" if message.purpose == Purpose.MARKETING else "service",
        thread=ThreadContext(
            subject=str(reply.get("subject", "")),
            in_reply_to=str(reply.get("in_reply_to", "")),
            references=tuple(str(ref) for ref in reply.get("references", [])),
            conversation_key=str(reply.get("conversation_key", "")),
        ),
        unsubscribe_url=unsubscribe_link(message.customer) if message.purpose == Purpose.MARKETING else "",
        automated=message.automated,
        metadata={
            "customer": message.customer.public_id,
            "template": f"{version.template.key}:{version.locale}:v{version.version}" if version else "",
        },
    )


def _hold_or_block(message: OutboundMessage, facts: Facts) -> bool:
    """Re-judge a claimed message: consent or suppression may have changed while it waited. True: go on."""
    verdict = judge(
        message.customer,
        message.channel,
        message.to_address,
        message.purpose,
        quiet=message.respect_quiet_hours,
        facts=facts,
    )
    if verdict.status == MessageStatus.QUEUED:
        return True
    _keep_back(message, verdict)
    return False


@transaction.atomic
def _keep_back(message: OutboundMessage, verdict: Verdict) -> None:
    message.status, message.reason, message.reason_code = verdict.status, verdict.reason[:300], verdict.reason_code
    message.next_attempt_at = verdict.not_before
    message.save(update_fields=["status", "reason", "reason_code", "next_attempt_at", "updated_at"])
    _event(message, verdict.status, verdict.reason)
    if verdict.status != MessageStatus.BLOCKED:
        return
    record_audit(
        _actor(),
        "message.blocked",
        object_type="customer",
        object_id=message.customer.public_id,
        summary=f"{message.public_id} blocked at send time: {verdict.reason}",
        after={"message": message.public_id, "reason": verdict.reason_code},
    )
    publish(
        MessageBlocked(
            message_id=message.public_id,
            customer_id=message.customer.public_id,
            channel=message.channel,
            purpose=message.purpose,
            reason_code=verdict.reason_code,
            reason=verdict.reason,
        )
    )


def _author(message: OutboundMessage) -> Actor:
    """Who the timeline shows as the sender: the staff member who sent it (checked when they did), else the system."""
    if message.created_by is None:
        return _actor()
    return Actor(user=message.created_by, via="messaging", permissions=frozenset({Perm.INTERACTIONS_WRITE}))


def _timeline_input(message: OutboundMessage, outcome: SendOutcome, thread: Thread | None) -> InteractionInput:
    return InteractionInput(
        channel=message.channel,
        direction="outbound",
        body=message.body_text,
        subject=message.subject,
        thread_ref=thread.external_ref if thread else "",
        external_id=outcome.provider_message_id[:255],
        metadata={"message": message.public_id, "purpose": message.purpose},
    )


def _record_on_timeline(message: OutboundMessage, outcome: SendOutcome) -> str:
    """The outbound interaction, threaded by the provider's id so the customer's reply finds it. Never fatal:
    the message is out, and a timeline problem must not make it look unsent (which would send it again).
    record_interaction is atomic itself, a savepoint here: a refusal leaves nothing of it behind."""
    thread = Thread.objects.filter(public_id=message.thread_ref).first() if message.thread_ref else None
    data = _timeline_input(message, outcome, thread)
    try:
        recorded = interaction_services.record_interaction(_author(message), message.customer, data, thread=thread)
    except CxloopError:
        logger.exception("message %s was sent but could not be put on the timeline", message.public_id)
        return ""
    return recorded.public_id


def _record_many_on_timeline(sent: Sequence[tuple[OutboundMessage, SendOutcome]]) -> None:
    """_record_on_timeline for a batch: threads read in one query, interactions written by
    interactions.bulk_recording. Never fatal either: an entry it refuses is logged and left off the timeline;
    if the bulk write itself fails (rolled back to its savepoint), each message goes the single way."""
    refs = {message.thread_ref for message, _ in sent if message.thread_ref}
    threads = {thread.public_id: thread for thread in Thread.objects.filter(public_id__in=refs).order_by("pk")}
    entries = []
    for message, outcome in sent:
        thread = threads.get(message.thread_ref) if message.thread_ref else None
        entries.append(
            TimelineEntry(_author(message), message.customer, _timeline_input(message, outcome, thread), thread)
        )
    try:
        results = record_interactions(entries)
    except Exception:  # noqa: BLE001 - the messages are out whatever happens here; see the docstring
        logger.exception("putting %d sent messages on the timeline at once failed; one by one instead", len(sent))
        for message, outcome in sent:
            message.interaction_ref = _record_on_timeline(message, outcome)
        return
    for (message, _), result in zip(sent, results, strict=True):
        if isinstance(result, CxloopError):
            logger.error("message %s was sent but could not be put on the timeline: %s", message.public_id, result)
            message.interaction_ref = ""
        else:
            message.interaction_ref = result.public_id


_SENT_FIELDS = (
    "status",
    "provider_message_id",
    "sent_at",
    "next_attempt_at",
    "reason",
    "reason_code",
    "attempts",
    "interaction_ref",
    "updated_at",
)


def _apply_sent(message: OutboundMessage, outcome: SendOutcome, now: datetime) -> None:
    """The message's own fields once sent (its interaction_ref is set by the timeline step)."""
    message.status = _OUTCOME_STATUS.get(outcome.state, MessageStatus.SENT)
    message.provider_message_id = outcome.provider_message_id[:255]
    message.sent_at, message.next_attempt_at, message.reason, message.reason_code = now, None, "", ""
    message.attempts += 1


def _sent_audit(message: OutboundMessage) -> AuditRecord:
    return AuditRecord(
        action="message.sent",
        object_type="customer",
        object_id=message.customer.public_id,
        summary=f"{message.purpose} {message.channel} {message.public_id} to {message.to_address}",
        after={
            "message": message.public_id,
            "provider_message_id": message.provider_message_id,
            "attempts": message.attempts,
        },
    )


def _sent_event(message: OutboundMessage) -> MessageSent:
    return MessageSent(
        message_id=message.public_id,
        customer_id=message.customer.public_id,
        channel=message.channel,
        provider_message_id=message.provider_message_id,
        interaction_id=message.interaction_ref,
    )


@transaction.atomic
def _mark_sent(message: OutboundMessage, outcome: SendOutcome) -> None:
    now = clock.now()
    _apply_sent(message, outcome, now)
    message.interaction_ref = _record_on_timeline(message, outcome)
    update_rows([message], _SENT_FIELDS)  # save(update_fields=...) without compiling the UPDATE each time
    _event(message, MessageStatus.SENT, f"provider id {message.provider_message_id}")
    record_audit_entry(_actor(), _sent_audit(message))
    publish(_sent_event(message))


@transaction.atomic
def _mark_sent_many(sent: Sequence[tuple[OutboundMessage, SendOutcome]]) -> None:
    """_mark_sent for a batch: each message still gets its interaction, delivery event, audit entry and event,
    written with one statement per table where the table allows it."""
    if not sent:
        return
    now = clock.now()
    for message, outcome in sent:
        _apply_sent(message, outcome, now)
    _record_many_on_timeline(sent)
    messages = [message for message, _ in sent]
    update_rows(messages, _SENT_FIELDS)
    insert_rows(
        [
            new_object(
                DeliveryEvent,
                message=message,
                state=MessageStatus.SENT,
                occurred_at=now,
                detail=f"provider id {message.provider_message_id}"[:500],
            )
            for message in messages
        ]
    )
    record_audits(_actor(), [_sent_audit(message) for message in messages])
    publish_all([_sent_event(message) for message in messages])


@transaction.atomic
def _mark_failed(message: OutboundMessage, reason: str, code: str, *, permanent: bool) -> None:
    message.attempts += 1
    max_attempts = int(settings.CXLOOP_SEND_MAX_ATTEMPTS)
    final = permanent or message.attempts >= max_attempts
    message.reason, message.reason_code = reason[:300], (code or ("failed" if final else "retrying"))[:40]
    if final:
        message.status, message.next_attempt_at = MessageStatus.FAILED, None
    else:
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = clock.now() + governance.backoff(message.attempts)
    message.save(update_fields=["status", "reason", "reason_code", "attempts", "next_attempt_at", "updated_at"])
    detail = reason if final else f"{reason} (attempt {message.attempts}, next at {message.next_attempt_at:%H:%M}Z)"
    _event(message, MessageStatus.FAILED if final else "retry", detail, code)
    if not final:
        return
    record_audit(
        _actor(),
        "message.failed",
        object_type="customer",
        object_id=message.customer.public_id,
        summary=f"{message.public_id} failed after {message.attempts} attempt(s): {reason}",
        after={"message": message.public_id, "reason": reason[:200], "attempts": message.attempts},
    )
    publish(
        MessageFailed(
            message_id=message.public_id,
            customer_id=message.customer.public_id,
            channel=message.channel,
            reason=reason[:300],
            attempts=message.attempts,
        )
    )


def _not_sendable(channel: str) -> SendFailed:
    return SendFailed(f"nothing can send on {channel} any more", permanent=True, code="not_sendable")


def _crashed(exc: Exception) -> SendFailed:
    """A sender bug is retried like an outage (and logged by the caller)."""
    return SendFailed(f"sender error: {exc.__class__.__name__}", code="sender_error")


def _attempt(sender: OutboundSender, message: OutboundMessage) -> SendOutcome | SendFailed:
    try:
        return sender.send(_payload(message))
    except SendFailed as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - see _crashed
        logger.exception("sender for %s raised on %s", message.channel, message.public_id)
        return _crashed(exc)


def _settle(message: OutboundMessage, result: SendOutcome | SendFailed) -> None:
    if isinstance(result, SendFailed):
        _mark_failed(message, result.reason or str(result), result.code, permanent=result.permanent)
    else:
        _mark_sent(message, result)


def _send(message: OutboundMessage) -> None:
    try:
        sender = registry.sender_for(message.channel)
    except CxloopError:
        _settle(message, _not_sendable(message.channel))
        return
    _settle(message, _attempt(sender, message))


def dispatch(message_id: int) -> str:
    """Send one message if it is due and nobody else has it; returns what happened (for the task result)."""
    loaded = _load(_claim([message_id]))
    if not loaded:
        return "skipped"
    message, facts = loaded[0]
    if not _hold_or_block(message, facts):
        return message.status
    _send(message)
    return message.status


# --- batches -------------------------------------------------------------------------------------------
# Messages claimed, sent and marked together: the bound on how many a crash mid-batch leaves in "sending"
# (to be failed as "outcome unknown" by fail_stuck_messages), and on one provider session's length.
BATCH_SIZE = 50


@runtime_checkable
class BatchSender(Protocol):
    """A sender that can hand several messages to the provider in one session (email: one SMTP connection)."""

    def send_many(self, payloads: Sequence[OutboundPayload]) -> list[SendOutcome | SendFailed]:
        """One result per payload, in order: a refused message is a SendFailed there, never an exception."""
        ...


def _results(channel: str, messages: Sequence[OutboundMessage]) -> list[SendOutcome | SendFailed]:
    try:
        sender = registry.sender_for(channel)
    except CxloopError:
        return [_not_sendable(channel)] * len(messages)
    if not isinstance(sender, BatchSender):
        return [_attempt(sender, message) for message in messages]
    try:
        results = sender.send_many([_payload(message) for message in messages])
    except Exception as exc:  # noqa: BLE001 - see _crashed
        logger.exception("sender for %s raised on a batch of %d", channel, len(messages))
        return [_crashed(exc)] * len(messages)
    if len(results) != len(messages):
        logger.error("sender for %s answered %d results for %d messages", channel, len(results), len(messages))
        return [SendFailed("sender error: wrong number of results", code="sender_error")] * len(messages)
    return results


def _dispatch_chunk(message_ids: Sequence[int], counts: Counter[str]) -> None:
    loaded = _load(_claim(message_ids))
    skipped = len(set(message_ids)) - len(loaded)
    if skipped:
        counts["skipped"] += skipped
    by_channel: dict[str, list[OutboundMessage]] = {}
    for message, facts in loaded:
        if _hold_or_block(message, facts):
            by_channel.setdefault(message.channel, []).append(message)
        else:
            counts[str(message.status)] += 1
    for channel, messages in by_channel.items():
        sent: list[tuple[OutboundMessage, SendOutcome]] = []
        for message, result in zip(messages, _results(channel, messages), strict=True):
            if isinstance(result, SendFailed):
                _settle(message, result)
                counts[str(message.status)] += 1
            else:
                sent.append((message, result))
        _mark_sent_many(sent)
        counts.update(str(message.status) for message, _ in sent)


def dispatch_batch(message_ids: Sequence[int]) -> dict[str, int]:
    """dispatch() for many messages: claimed with one UPDATE per chunk (so concurrent batches never share a
    message), judged again, sent over one provider session per channel and chunk where the sender can, and
    marked with bulk writes. Each message keeps its own outcome: one refused recipient fails only its message.
    Returns how many ended in each status, "skipped" for those not due or taken by someone else."""
    counts: Counter[str] = Counter()
    for start in range(0, len(message_ids), BATCH_SIZE):
        _dispatch_chunk(message_ids[start : start + BATCH_SIZE], counts)
    return dict(counts)


def due_message_ids(limit: int = 1000) -> list[int]:
    """Messages whose time has come: retries and quiet-hours holds that are due, and queued ones whose task was lost."""
    now = clock.now()
    due = Q(status__in=_DUE, next_attempt_at__lte=now) | Q(
        status=MessageStatus.QUEUED, next_attempt_at__isnull=True, created_at__lte=now - LOST_TASK_AFTER
    )
    return list(
        OutboundMessage.objects.filter(due).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )


STUCK_AFTER = timedelta(minutes=15)


def fail_stuck_messages(*, older_than: timedelta = STUCK_AFTER) -> int:
    """Messages left in "sending" by a worker that died mid-send become failed, never resent by themselves.

    The provider may or may not have the message, so sending it again could reach the customer twice:
    a person decides (the reason says so, and the message shows in the inbox and on the customer page).
    """
    horizon = clock.now() - older_than
    failed = 0
    for message_id in OutboundMessage.objects.filter(status=MessageStatus.SENDING, updated_at__lt=horizon).values_list(
        "pk", flat=True
    )[:1000]:
        # Claimed by a conditional update, so two workers sweeping at once fail it (and audit it) once.
        claimed = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
            status=MessageStatus.FAILED
        )
        if claimed != 1:
            continue
        message = OutboundMessage.objects.select_related("customer").get(pk=message_id)
        _mark_failed(
            message,
            "the worker stopped while sending: the provider may have it; check before sending again",
            "outcome_unknown",
            permanent=True,
        )
        failed += 1
    return failed
