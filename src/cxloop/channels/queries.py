"""Reads for the channel framework: the kept inbound payloads and their attachments."""

from __future__ import annotations

from django.db.models import QuerySet

from cxloop.channels.models import Attachment, InboundMessage, InboundStatus
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm


def list_inbound(
    actor: Actor, *, status: str = "", channel: str = "", cursor: str | None = None, limit: int = 50
) -> Page[InboundMessage]:
    actor.require(Perm.CHANNELS_MANAGE)
    qs: QuerySet[InboundMessage] = InboundMessage.objects.all()
    if status:
        if status not in InboundStatus.values:
            raise ValidationError(
                "Unknown status.", fields={"status": f"must be one of {', '.join(InboundStatus.values)}"}
            )
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    return paginate(qs, ("-received_at", "-id"), cursor, limit)


def get_inbound(actor: Actor, public_id: str) -> InboundMessage:
    actor.require(Perm.CHANNELS_MANAGE)
    try:
        return InboundMessage.objects.get(public_id=public_id)
    except InboundMessage.DoesNotExist:
        raise NotFoundError("No inbound message with that id.") from None


def quarantined_count(actor: Actor) -> int:
    if not actor.can(Perm.CHANNELS_MANAGE):
        return 0
    return InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).count()


def attachments_of(actor: Actor, interaction_ids: list[int]) -> dict[int, list[Attachment]]:
    actor.require(Perm.INTERACTIONS_VIEW)
    found: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(interaction_id__in=interaction_ids).order_by("pk"):
        found.setdefault(attachment.interaction_id, []).append(attachment)
    return found


def get_attachment(actor: Actor, public_id: str) -> Attachment:
    actor.require(Perm.INTERACTIONS_VIEW)
    try:
        return Attachment.objects.select_related("interaction").get(public_id=public_id)
    except Attachment.DoesNotExist:
        raise NotFoundError("No attachment with that id.") from None
