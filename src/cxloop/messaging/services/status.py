"""What the channels tell us after sending: delivery reports, bounces and STOP/START replies.

Reports arrive late and out of order (a "sent" callback after "delivered"), so a status only moves
forward: queued < sent < delivered < read. "failed" replaces queued/sending/sent (a carrier can fail a
message it accepted) but not delivered or read. Every report is kept as a DeliveryEvent, applied or not.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish
from cxloop.messaging.events import MessageDelivered, MessageFailed, MessageRead
from cxloop.messaging.models import DeliveryEvent, MessageStatus, OutboundMessage, Purpose, SuppressionReason
from cxloop.messaging.services import consent, suppression
from cxloop.messaging.types import ConsentChange
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)

_RANK: dict[str, int] = {
    MessageStatus.SENDING: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
}
_REPORTED = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
    "undeliverable": MessageStatus.FAILED,
}


def _applies(current: str, new: str) -> bool:
    if new == MessageStatus.FAILED:
        return current in (MessageStatus.SENDING, MessageStatus.SENT)
    if current == MessageStatus.FAILED:
        return new in (MessageStatus.DELIVERED, MessageStatus.READ)  # proof it arrived after all
    return current in _RANK and _RANK[new] > _RANK[current]


def _announce(actor: Actor, message: OutboundMessage, reason: str) -> None:
    customer_id = message.customer.public_id
    event: DomainEvent
    if message.status == MessageStatus.DELIVERED:
        event = MessageDelivered(message_id=message.public_id, customer_id=customer_id, channel=message.channel)
    elif message.status == MessageStatus.READ:
        event = MessageRead(message_id=message.public_id, customer_id=customer_id, channel=message.channel)
    elif message.status == MessageStatus.FAILED:
        event = MessageFailed(
            message_id=message.public_id,
            customer_id=customer_id,
            channel=message.channel,
            reason=reason[:300],
            attempts=message.attempts,
        )
        record_audit(
            actor,
            "message.failed",
            object_type="customer",
            object_id=customer_id,
            summary=f"{message.public_id} reported failed: {reason}",
            after={"message": message.public_id, "reason": reason[:200]},
        )
    else:
        return
    publish(event)


@transaction.atomic
def apply_delivery_status(
    actor: Actor,
    channel: str,
    provider_message_id: str,
    state: str,
    *,
    occurred_at: datetime | None = None,
    error_code: str = "",
    error_message: str = "",
) -> OutboundMessage | None:
    """Apply one provider report to the message it names; None when no message of ours has that id."""
    if not provider_message_id:
        return None
    message = (
        OutboundMessage.objects.select_for_update()
        .filter(channel=channel, provider_message_id=provider_message_id)
        .order_by("id")
        .first()
    )
    if message is None:
        return None
    message.customer = Customer.objects.get(pk=message.customer_id)
    new = _REPORTED.get(state)
    applied = new is not None and _applies(message.status, new)
    detail = error_message or (f"reported {state}" if applied else f"reported {state}; status stays {message.status}")
    DeliveryEvent.objects.create(
        message=message,
        state=state[:20],
        occurred_at=occurred_at or clock.now(),
        detail=detail[:500],
        error_code=error_code[:64],
        applied=applied,
    )
    if not applied or new is None:
        return message
    message.status = new
    if new == MessageStatus.FAILED:
        message.reason = (error_message or f"reported {state}")[:300]
        message.reason_code = (error_code or state)[:40]
    message.save(update_fields=["status", "reason", "reason_code", "updated_at"])
    _announce(actor, message, message.reason)
    return message


def _actor() -> Actor:
    return Actor.system("messaging")


def on_delivery_status(event: DomainEvent) -> None:
    occurred = getattr(event, "occurred_at", "")
    try:
        moment = datetime.fromisoformat(occurred) if occurred else None
    except ValueError:
        moment = None
    apply_delivery_status(
        _actor(),
        str(getattr(event, "channel", "")),
        str(getattr(event, "provider_message_id", "")),
        str(getattr(event, "state", "")),
        occurred_at=moment if moment is not None and moment.tzinfo is not None else None,
        error_code=str(getattr(event, "error_code", "")),
        error_message=str(getattr(event, "error_message", "")),
    )


def on_address_bounced(event: DomainEvent) -> None:
    """A permanent bounce suppresses each address; the message it answers is marked failed."""
    if not getattr(event, "permanent", False):
        return
    channel = str(getattr(event, "channel", "email"))
    reason = str(getattr(event, "reason", ""))
    for address in getattr(event, "addresses", ()):
        try:
            suppression.suppress_address(
                _actor(), channel, str(address), SuppressionReason.HARD_BOUNCE, source="bounce", note=reason[:300]
            )
        except CxloopError:
            logger.warning("bounced address %r on %s could not be suppressed", address, channel)
    original = str(getattr(event, "original_message_id", ""))
    if original:
        apply_delivery_status(_actor(), channel, original, "undeliverable", error_code="bounce", error_message=reason)


def on_inbound_received(event: DomainEvent) -> None:
    """STOP-like replies suppress the address and withdraw marketing consent; START-like ones lift that suppression."""
    keyword = getattr(event, "keyword", "")
    channel, address = str(getattr(event, "channel", "")), str(getattr(event, "address", ""))
    if keyword not in ("opt_out", "opt_in") or not address:
        return
    try:
        if keyword == "opt_in":
            suppression.lift_keyword_suppression(_actor(), channel, address)
        else:
            _opt_out(channel, address, str(getattr(event, "customer_id", "")))
    except CxloopError:
        logger.warning("keyword %s from %s on %s could not be applied", keyword, address, channel)


@transaction.atomic
def _opt_out(channel: str, address: str, customer_id: str) -> None:
    suppression.suppress_address(_actor(), channel, address, SuppressionReason.KEYWORD_STOP, source="keyword")
    customer = Customer.objects.filter(public_id=customer_id).first()
    if customer is not None and customer.is_active:
        consent.record_consents(
            _actor(),
            customer,
            [ConsentChange(channel=channel, purpose=Purpose.MARKETING, granted=False, note="keyword reply")],
            source="keyword",
        )
