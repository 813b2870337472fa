"""Interactions and threads in the Django admin: read-only (every channel writes through the services)."""

from __future__ import annotations

from django.contrib import admin

from cxloop.core.admin_access import ReadOnlyAdmin
from cxloop.interactions.models import Interaction, Thread


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "channel", "direction", "occurred_at", "summary")
    list_filter = ("channel", "direction")
    search_fields = ("public_id", "customer__public_id", "external_id", "summary")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "thread", "created_by")
    ordering = ("-occurred_at", "-id")


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "channel", "subject", "last_activity_at")
    list_filter = ("channel",)
    search_fields = ("public_id", "customer__public_id", "external_ref", "subject")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    ordering = ("-last_activity_at", "-id")
