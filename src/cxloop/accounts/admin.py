"""Staff accounts in the Django admin: users (with their cxloop role and team), teams, and API tokens.

Users and teams are managed here by admins. Tokens are read-only and their hash is never shown; staff
create and revoke their own tokens in the UI.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from cxloop.accounts.models import ApiToken, Team, User
from cxloop.core.admin_access import ReadOnlyAdmin, RoleAccessMixin, may_administer


class EditableByAdmins(RoleAccessMixin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_administer(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_administer(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_administer(request)


@admin.register(User)
class UserAdmin(EditableByAdmins, DjangoUserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "email", "first_name", "last_name", "role", "team", "is_active", "last_login")
    list_filter = ("role", "team", "is_active")
    list_select_related = ("team",)
    # The role decides what a user may do (and whether they reach this admin); Django's group and
    # permission rows are not used by cxloop, so they are not offered here.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("cxloop access", {"fields": ("role", "team", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        ("cxloop access", {"fields": ("role", "team")}),
    )
    readonly_fields = ("last_login", "date_joined")


@admin.register(Team)
class TeamAdmin(EditableByAdmins, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")  # never token_hash
