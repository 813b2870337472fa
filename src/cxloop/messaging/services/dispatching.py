"""Handing stored messages to their channel's sender, once each, with retries and backoff.

A message is claimed with a conditional UPDATE (queued/scheduled and due -> sending) before the sender
is called, so any number of workers, a duplicated task or the periodic sweep can never send it twice.
The sender is called outside any transaction: a slow provider must not hold database locks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, SendFailed, SendOutcome, ThreadContext
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.core.permissions import Perm
from cxloop.events.bus import publish
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Thread
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import governance
from cxloop.messaging.events import MessageBlocked, MessageFailed, MessageSent
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose
from cxloop.messaging.services.links import unsubscribe_link
from cxloop.messaging.services.sending import judge
from cxloop.privacy.services import record_audit

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


def _claim(message_id: int) -> bool:
    now = clock.now()
    return (
        OutboundMessage.objects.filter(pk=message_id, status__in=_DUE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=MessageStatus.SENDING, updated_at=now)
        == 1
    )


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


@transaction.atomic
def _hold_or_block(message: OutboundMessage) -> bool:
    """Re-judge a claimed message: consent or suppression may have changed while it waited. True: go on."""
    verdict = judge(
        message.customer, message.channel, message.to_address, message.purpose, quiet=message.respect_quiet_hours
    )
    if verdict.status == MessageStatus.QUEUED:
        return True
    message.status, message.reason, message.reason_code = verdict.status, verdict.reason[:300], verdict.reason_code
    message.next_attempt_at = verdict.not_before
    message.save(update_fields=["status", "reason", "reason_code", "next_attempt_at", "updated_at"])
    _event(message, verdict.status, verdict.reason)
    if verdict.status == MessageStatus.BLOCKED:
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
    return False


def _author(message: OutboundMessage) -> Actor:
    """Who the timeline shows as the sender: the staff member who sent it (checked when they did), else the system."""
    if message.created_by is None:
        return _actor()
    return Actor(user=message.created_by, via="messaging", permissions=frozenset({Perm.INTERACTIONS_WRITE}))


def _record_on_timeline(message: OutboundMessage, outcome: SendOutcome) -> str:
    """The outbound interaction, threaded by the provider's id so the customer's reply finds it. Never fatal:
    the message is out, and a timeline problem must not make it look unsent (which would send it again)."""
    thread = Thread.objects.filter(public_id=message.thread_ref).first() if message.thread_ref else None
    data = InteractionInput(
        channel=message.channel,
        direction="outbound",
        body=message.body_text,
        subject=message.subject,
        thread_ref=thread.external_ref if thread else "",
        external_id=outcome.provider_message_id[:255],
        metadata={"message": message.public_id, "purpose": message.purpose},
    )
    try:
        with transaction.atomic():
            recorded = interaction_services.record_interaction(_author(message), message.customer, data, thread=thread)
            return recorded.public_id
    except CxloopError:
        logger.exception("message %s was sent but could not be put on the timeline", message.public_id)
        return ""


@transaction.atomic
def _mark_sent(message: OutboundMessage, outcome: SendOutcome) -> None:
    now = clock.now()
    message.status = _OUTCOME_STATUS.get(outcome.state, MessageStatus.SENT)
    message.provider_message_id = outcome.provider_message_id[:255]
    message.sent_at, message.next_attempt_at, message.reason, message.reason_code = now, None, "", ""
    message.attempts += 1
    message.interaction_ref = _record_on_timeline(message, outcome)
    message.save(
        update_fields=[
            "status",
            "provider_message_id",
            "sent_at",
            "next_attempt_at",
            "reason",
            "reason_code",
            "attempts",
            "interaction_ref",
            "updated_at",
        ]
    )
    _event(message, MessageStatus.SENT, f"provider id {message.provider_message_id}")
    record_audit(
        _actor(),
        "message.sent",
        object_type="customer",
        object_id=message.customer.public_id,
        summary=f"{message.purpose} {message.channel} {message.public_id} to {message.to_address}",
        after={
            "message": message.public_id,
            "provider_message_id": message.provider_message_id,
            "attempts": message.attempts,
        },
    )
    publish(
        MessageSent(
            message_id=message.public_id,
            customer_id=message.customer.public_id,
            channel=message.channel,
            provider_message_id=message.provider_message_id,
            interaction_id=message.interaction_ref,
        )
    )


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


def _send(message: OutboundMessage) -> None:
    try:
        sender = registry.sender_for(message.channel)
    except CxloopError:
        _mark_failed(message, f"nothing can send on {message.channel} any more", "not_sendable", permanent=True)
        return
    try:
        outcome = sender.send(_payload(message))
    except SendFailed as exc:
        _mark_failed(message, exc.reason or str(exc), exc.code, permanent=exc.permanent)
        return
    except Exception as exc:  # noqa: BLE001 - a sender bug is retried like an outage, and logged
        logger.exception("sender for %s raised on %s", message.channel, message.public_id)
        _mark_failed(message, f"sender error: {exc.__class__.__name__}", "sender_error", permanent=False)
        return
    _mark_sent(message, outcome)


def dispatch(message_id: int) -> str:
    """Send one message if it is due and nobody else has it; returns what happened (for the task result)."""
    if not _claim(message_id):
        return "skipped"
    message = OutboundMessage.objects.select_related("customer", "created_by", "template_version__template").get(
        pk=message_id
    )
    if not _hold_or_block(message):
        return message.status
    _send(message)
    return message.status


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
