"""Writing the audit trail. Called by every other module's services inside their transaction."""

from __future__ import annotations

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
