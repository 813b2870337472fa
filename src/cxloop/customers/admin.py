"""The customers tables in the Django admin: read-only, for looking things up (writes go through services)."""

from __future__ import annotations

from django.contrib import admin

from cxloop.core.admin_access import ReadOnlyAdmin, ReadOnlyInline
from cxloop.customers.models import AttributeDefinition, Customer, Identity, Merge, MergeSuggestion, Tag


class IdentityInline(ReadOnlyInline):
    model = Identity
    fields = ("kind", "network", "value", "is_verified", "source", "last_seen_at")


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "name", "country", "lifecycle_stage", "status", "created_at")
    list_filter = ("status", "lifecycle_stage")
    search_fields = ("public_id", "name", "search_name", "identities__value")
    ordering = ("-id",)
    inlines = (IdentityInline,)
    exclude = ("search_name",)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "kind", "network", "value", "is_verified", "source", "last_seen_at")
    list_filter = ("kind", "is_verified")
    search_fields = ("value", "match_value", "public_id", "customer__public_id")
    list_select_related = ("customer",)
    ordering = ("-id",)


@admin.register(Merge)
class MergeAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "source", "target", "performed_by", "created_at", "undone_at")
    search_fields = ("public_id", "source__public_id", "target__public_id")
    list_select_related = ("source", "target", "performed_by")
    ordering = ("-id",)


@admin.register(MergeSuggestion)
class MergeSuggestionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer_a", "customer_b", "probability", "source", "status", "created_at")
    list_filter = ("status", "source")
    search_fields = ("public_id", "customer_a__public_id", "customer_b__public_id")
    list_select_related = ("customer_a", "customer_b")
    ordering = ("-id",)


@admin.register(AttributeDefinition)
class AttributeDefinitionAdmin(ReadOnlyAdmin):
    list_display = ("key", "label", "type", "created_at")
    search_fields = ("key", "label")


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ("name",)
    search_fields = ("name",)
