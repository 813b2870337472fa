"""The messaging tables in the Django admin: read-only, for looking things up (writes go through services)."""

from __future__ import annotations

from django.contrib import admin

from cxloop.core.admin_access import ReadOnlyAdmin, ReadOnlyInline
from cxloop.messaging.models import (
    ConsentRecord,
    DeliveryEvent,
    OutboundMessage,
    Suppression,
    Template,
    TemplateVersion,
)


class TemplateVersionInline(ReadOnlyInline):
    model = TemplateVersion
    fields = ("locale", "version", "subject", "created_by", "created_at")


class DeliveryEventInline(ReadOnlyInline):
    model = DeliveryEvent
    fields = ("state", "occurred_at", "detail", "error_code", "applied")


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "channel", "purpose", "default_locale", "is_active")
    list_filter = ("channel", "purpose", "is_active")
    search_fields = ("key", "name")
    inlines = (TemplateVersionInline,)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "channel", "purpose", "status", "attempts", "created_at")
    list_filter = ("channel", "purpose", "status")
    search_fields = ("public_id", "customer__public_id", "to_address", "provider_message_id")
    ordering = ("-id",)
    inlines = (DeliveryEventInline,)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("customer", "channel", "purpose", "granted", "source", "actor_label", "at")
    list_filter = ("purpose", "granted", "source")
    search_fields = ("customer__public_id",)
    ordering = ("-at", "-id")


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "channel", "address", "reason", "source", "created_at")
    list_filter = ("channel", "reason")
    search_fields = ("address", "public_id")
