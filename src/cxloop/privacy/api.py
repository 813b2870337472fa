"""/api/v1/audit: search the audit trail (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from cxloop.api.auth import actor_of
from cxloop.core.pagination import paginate
from cxloop.privacy import queries
from cxloop.privacy.models import AuditEntry

router = Router(tags=["audit"])


class AuditFilter(Schema):
    q: str = ""
    action: str = ""
    object_id: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class AuditOut(Schema):
    id: int
    occurred_at: datetime
    actor: str
    via: str
    action: str
    object_type: str
    object_id: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @staticmethod
    def from_model(e: AuditEntry) -> AuditOut:
        return AuditOut(
            id=e.pk,
            occurred_at=e.occurred_at,
            actor=e.actor_label,
            via=e.via,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            summary=e.summary,
            before=e.before,
            after=e.after,
        )


class AuditPage(Schema):
    items: list[AuditOut]
    next_cursor: str | None


@router.get("/audit", response=AuditPage)
def search_audit(request: HttpRequest, filters: Query[AuditFilter]) -> AuditPage:
    qs = queries.search_audit(
        actor_of(request),
        text=filters.q,
        action=filters.action,
        object_id=filters.object_id,
        actor_name=filters.actor,
        since=filters.since,
        until=filters.until,
    )
    page = paginate(qs, ("-occurred_at", "-id"), filters.cursor, filters.limit)
    return AuditPage(items=[AuditOut.from_model(e) for e in page.items], next_cursor=page.next_cursor)
