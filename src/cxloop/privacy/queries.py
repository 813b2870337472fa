"""Searching the audit trail (admins only)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.privacy.models import AuditEntry


def search_audit(
    actor: Actor,
    *,
    text: str = "",
    action: str = "",
    object_id: str = "",
    actor_name: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    actor.require(Perm.AUDIT_VIEW)
    since, until = clock.storable_utc(since, "since"), clock.storable_utc(until, "until")
    qs = AuditEntry.objects.all()
    if action:
        qs = qs.filter(action__startswith=action)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if actor_name:
        qs = qs.filter(actor_label__icontains=actor_name)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    if text:
        qs = qs.filter(Q(summary__icontains=text) | Q(object_id__icontains=text))
    return qs


def history_of(actor: Actor, object_type: str, object_id: str) -> QuerySet[AuditEntry]:
    """The change history of one object, for the object's own page (visible to whoever can see it)."""
    return AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
