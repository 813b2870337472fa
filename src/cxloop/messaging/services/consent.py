"""Consent per customer, channel and purpose: an append-only history whose latest record decides.

Rules: marketing needs an explicit grant on that very channel (a grant for "*" is refused, so nobody is
opted in to channels they never saw); service messages flow unless the customer withdrew them on that
channel or on "*". A withdrawal for "*" covers every channel until a later grant on one channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.messaging.events import ConsentChanged
from cxloop.messaging.models import ANY_CHANNEL, ConsentRecord, ConsentSource, Purpose
from cxloop.messaging.services.addresses import CHANNEL_KINDS
from cxloop.messaging.types import ConsentChange, ConsentState
from cxloop.privacy.services import record_audit

MAX_CHANGES = 50


def latest_record(customer_id: int, channel: str, purpose: str) -> ConsentRecord | None:
    return (
        ConsentRecord.objects.filter(customer_id=customer_id, purpose=purpose, channel__in=[channel, ANY_CHANNEL])
        .order_by("-at", "-id")
        .first()
    )


def consent_state(customer_id: int, channel: str, purpose: str) -> ConsentState:
    record = latest_record(customer_id, channel, purpose)
    if record is None:
        return ConsentState(channel=channel, purpose=purpose, allowed=purpose == Purpose.SERVICE, explicit=False)
    return ConsentState(
        channel=channel,
        purpose=purpose,
        allowed=record.granted,
        explicit=True,
        source=record.source,
        at=record.at.isoformat(),
    )


def _check(changes: Sequence[ConsentChange], source: str) -> None:
    errors: dict[str, str] = {}
    if source not in ConsentSource.values:
        errors["source"] = f"must be one of {', '.join(ConsentSource.values)}"
    if not changes:
        errors["changes"] = "give at least one change"
    if len(changes) > MAX_CHANGES:
        errors["changes"] = f"at most {MAX_CHANGES} changes at once"
    for index, change in enumerate(changes):
        prefix = f"changes[{index}]." if len(changes) > 1 else ""
        if change.channel != ANY_CHANNEL and change.channel not in CHANNEL_KINDS:
            errors[f"{prefix}channel"] = f'must be "*" or one of {", ".join(CHANNEL_KINDS)}'
        if change.purpose not in Purpose.values:
            errors[f"{prefix}purpose"] = "must be service or marketing"
        elif change.channel == ANY_CHANNEL and change.purpose == Purpose.MARKETING and change.granted:
            errors[f"{prefix}channel"] = "marketing consent is granted one channel at a time"
        if len(change.note) > 300:
            errors[f"{prefix}note"] = "must be at most 300 characters"
    if errors:
        raise ValidationError("The consent change is not valid.", fields=errors)


@transaction.atomic
def record_consents(
    actor: Actor, customer: Customer, changes: Sequence[ConsentChange], *, source: str
) -> list[ConsentRecord]:
    """Append the changes that alter the current state (a repeat of the current state is not a change)."""
    actor.require(Perm.CUSTOMERS_EDIT)
    _check(changes, source)
    if not customer.is_active:
        raise ValidationError("The customer was merged.", fields={"customer": "merged into another customer"})
    now = clock.now()
    written: list[ConsentRecord] = []
    for change in changes:
        current = latest_record(customer.pk, change.channel, change.purpose)
        if current is not None and current.granted == change.granted and current.channel == change.channel:
            continue
        written.append(
            ConsentRecord.objects.create(
                customer=customer,
                channel=change.channel,
                purpose=change.purpose,
                granted=change.granted,
                source=source,
                note=change.note,
                actor_label=actor.label,
                actor_user=actor.user,
                at=now,
            )
        )
    for record in written:
        verb = "granted" if record.granted else "withdrawn"
        record_audit(
            actor,
            "consent.changed",
            object_type="customer",
            object_id=customer.public_id,
            summary=f"{record.purpose} on {record.channel} {verb} ({source})",
            after={"channel": record.channel, "purpose": record.purpose, "granted": record.granted, "source": source},
        )
        publish(
            ConsentChanged(
                customer_id=customer.public_id,
                channel=record.channel,
                purpose=record.purpose,
                granted=record.granted,
                source=source,
            )
        )
    return written
