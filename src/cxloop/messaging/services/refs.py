"""Merge, unmerge and export support (registered in apps.py through core.customer_refs)."""

from __future__ import annotations

from cxloop.messaging.models import ConsentRecord, OutboundMessage


def move_customer_consents(from_customer_id: int, to_customer_id: int) -> list[int]:
    """History moves whole; the merged profile's latest record per channel and purpose then decides."""
    ids = list(ConsentRecord.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    ConsentRecord.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_consents(ids: list[int], to_customer_id: int) -> None:
    ConsentRecord.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_consents(customer_id: int) -> list[dict[str, object]]:
    rows = ConsentRecord.objects.filter(customer_id=customer_id).order_by("at", "id")
    return [
        {"channel": r.channel, "purpose": r.purpose, "granted": r.granted, "source": r.source, "at": r.at.isoformat()}
        for r in rows
    ]


def move_customer_messages(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(OutboundMessage.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    OutboundMessage.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_messages(ids: list[int], to_customer_id: int) -> None:
    OutboundMessage.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_messages(customer_id: int) -> list[dict[str, object]]:
    rows = OutboundMessage.objects.filter(customer_id=customer_id).order_by("created_at", "id")
    return [
        {
            "id": m.public_id,
            "channel": m.channel,
            "purpose": m.purpose,
            "to": m.to_address,
            "subject": m.subject,
            "text": m.body_text,
            "status": m.status,
            "created_at": m.created_at.isoformat(),
        }
        for m in rows.iterator(chunk_size=1000)
    ]
