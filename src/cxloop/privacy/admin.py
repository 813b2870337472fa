"""The audit trail in the Django admin: read-only, like everywhere else."""

from __future__ import annotations

from django.contrib import admin

from cxloop.core.admin_access import ReadOnlyAdmin
from cxloop.privacy.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "actor_label", "via", "action", "object_type", "object_id", "summary")
    list_filter = ("via", "object_type")
    search_fields = ("action", "object_id", "actor_label", "summary")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-id")
    raw_id_fields = ("actor_user", "actor_token")
