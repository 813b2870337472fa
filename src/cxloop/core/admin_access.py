"""Django admin follows cxloop's roles, not Django's per-model permission rows.

Staff are never given Django model permissions; a user with the admin role (or a superuser) may use the
admin site. Domain tables are shown read-only there, because every write must go through a module's
services (validation, the audit trail, events); only accounts are edited in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm


def may_administer(request: HttpRequest) -> bool:
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser) or Actor.for_user(user).can(Perm.USERS_MANAGE)


class RoleAccessMixin:
    """Viewing (and, where a subclass allows it, editing) is for admin-role users."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_administer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_administer(request)


class ReadOnlyAdmin(RoleAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A domain table shown for looking things up; changes go through the UI or the API."""

    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over a large table on every page is not worth it

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_administer(request)
