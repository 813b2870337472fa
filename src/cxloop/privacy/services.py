"""Writing the audit trail. Called by every other module's services inside their transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.privacy.models import AuditEntry


def record_audit(
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: str,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. Runs in the caller's transaction, so it is kept only if the change is."""
    return AuditEntry.objects.create(
        occurred_at=clock.now(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:300],
        before=before,
        after=after,
        **actor.audit_fields(),
    )


@dataclass(frozen=True)
class AuditRecord:
    """One entry for `record_audits`: the same fields `record_audit` takes."""

    action: str
    object_type: str
    object_id: str
    summary: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record_audits(actor: Actor, records: Sequence[AuditRecord]) -> list[AuditEntry]:
    """Append many entries with bulk inserts, for batch operations that would otherwise write one row per item.

    Like `record_audit` it runs in the caller's transaction; the entries keep the order of `records`.
    """
    occurred_at = clock.now()
    fields = actor.audit_fields()
    entries = [
        AuditEntry(
            occurred_at=occurred_at,
            action=record.action,
            object_type=record.object_type,
            object_id=record.object_id,
            summary=record.summary[:300],
            before=record.before,
            after=record.after,
            **fields,
        )
        for record in records
    ]
    return AuditEntry.objects.bulk_create(entries, batch_size=500)
