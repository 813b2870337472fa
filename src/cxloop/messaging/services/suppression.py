"""The suppression list: addresses nothing is sent to on a channel, from bounces, opt-outs or staff."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.events.bus import publish
from cxloop.messaging.errors import SuppressionNotFoundError
from cxloop.messaging.events import AddressSuppressed, SuppressionLifted
from cxloop.messaging.models import Suppression, SuppressionReason
from cxloop.messaging.services.addresses import CHANNEL_KINDS, suppression_key
from cxloop.privacy.services import record_audit


def _check_channel(channel: str) -> None:
    if channel not in CHANNEL_KINDS:
        raise ValidationError("Unknown channel.", fields={"channel": f"must be one of {', '.join(CHANNEL_KINDS)}"})


def is_suppressed(channel: str, address: str) -> Suppression | None:
    """The first suppression of this address on this channel, or None. `address` may be in any spelling."""
    try:
        key = suppression_key(channel, address)
    except ValidationError:
        return None
    return Suppression.objects.filter(channel=channel, address=key).order_by("id").first()


@transaction.atomic
def suppress_address(
    actor: Actor, channel: str, address: str, reason: str, *, source: str = "staff", note: str = ""
) -> tuple[Suppression, bool]:
    """Add (channel, address) to the list for `reason`; returns (row, created). Adding it twice is harmless."""
    actor.require(Perm.CHANNELS_MANAGE)
    _check_channel(channel)
    if reason not in SuppressionReason.values:
        raise ValidationError(
            "Unknown reason.", fields={"reason": f"must be one of {', '.join(SuppressionReason.values)}"}
        )
    if len(note) > 300:
        raise ValidationError("The note is too long.", fields={"note": "must be at most 300 characters"})
    key = suppression_key(channel, address)
    existing = Suppression.objects.filter(channel=channel, address=key, reason=reason).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = Suppression.objects.create(
                channel=channel, address=key, reason=reason, source=source[:50], note=note, created_by=actor.user
            )
    except IntegrityError:  # a concurrent call added it first
        return Suppression.objects.get(channel=channel, address=key, reason=reason), False
    record_audit(
        actor,
        "suppression.added",
        object_type="suppression",
        object_id=row.public_id,
        summary=f"{channel} {key}: {reason}",
        after={"channel": channel, "address": key, "reason": reason, "source": row.source},
    )
    publish(AddressSuppressed(suppression_id=row.public_id, channel=channel, address=key, reason=reason))
    return row, True


def _lift(actor: Actor, row: Suppression) -> None:
    record_audit(
        actor,
        "suppression.lifted",
        object_type="suppression",
        object_id=row.public_id,
        summary=f"{row.channel} {row.address}: {row.reason} lifted",
        before={"channel": row.channel, "address": row.address, "reason": row.reason, "source": row.source},
    )
    publish(
        SuppressionLifted(suppression_id=row.public_id, channel=row.channel, address=row.address, reason=row.reason)
    )
    row.delete()


@transaction.atomic
def lift_suppression(actor: Actor, public_id: str) -> None:
    actor.require(Perm.CHANNELS_MANAGE)
    row = Suppression.objects.select_for_update().filter(public_id=public_id).first()
    if row is None:
        raise SuppressionNotFoundError(f"No suppression {public_id}.")
    _lift(actor, row)


@transaction.atomic
def lift_keyword_suppression(actor: Actor, channel: str, address: str) -> int:
    """A START/UNSTOP reply lifts only what a STOP reply put there: a hard bounce or a complaint stays."""
    actor.require(Perm.CHANNELS_MANAGE)
    try:
        key = suppression_key(channel, address)
    except ValidationError:
        return 0
    rows = list(Suppression.objects.filter(channel=channel, address=key, reason=SuppressionReason.KEYWORD_STOP))
    for row in rows:
        _lift(actor, row)
    return len(rows)
