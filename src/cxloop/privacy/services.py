"""Writing the audit trail. Called by every other module's services inside their transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import insert_values
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


def record_audit_entry(actor: Actor, record: AuditRecord) -> AuditEntry:
    """record_audit for an entry built as an AuditRecord (by code shared with a batch path that writes many)."""
    return record_audit(
        actor,
        record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        summary=record.summary,
        before=record.before,
        after=record.after,
    )


def record_audits(actor: Actor, records: Sequence[AuditRecord]) -> int:
    """Append many entries with bulk inserts, for batch operations that would otherwise write one row per item.

    Like `record_audit` it runs in the caller's transaction; the entries keep the order of `records`. It
    returns how many it wrote: batch callers do not read the entries back, so no objects are made.
    """
    occurred_at = clock.now()
    fields = actor.audit_fields()
    actor_values = (
        fields["actor_user"].pk if fields["actor_user"] is not None else None,
        fields["actor_token"].pk if fields["actor_token"] is not None else None,
        fields["actor_label"],
        fields["via"],
        fields["ip_address"],
    )
    return insert_values(
        AuditEntry,
        [
            "occurred_at",
            "actor_user_id",
            "actor_token_id",
            "actor_label",
            "via",
            "ip_address",
            "action",
            "object_type",
            "object_id",
            "summary",
            "before",
            "after",
        ],
        [
            (occurred_at, *actor_values, r.action, r.object_type, r.object_id, r.summary[:300], r.before, r.after)
            for r in records
        ],
    )
