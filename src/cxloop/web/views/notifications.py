"""The staff member's notifications (/notifications/): newest first, unread ones marked, one at a time or all
marked read; "Open" marks one read and goes where it points. Everyone sees only their own."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cxloop.accounts import notifications
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

PAGE_SIZE = 25


@staff_view
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    unread_only = request.GET.get("unread") == "1"
    page = notifications.list_notifications(
        actor, unread_only=unread_only, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
    )
    context = {"page": page, "unread_only": unread_only, "unread": notifications.unread_count(actor)}
    return render(request, "web/notifications/list.html", context)


@staff_view
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    actor = web_actor(request)
    notifications.mark_read(actor, notifications.get_notification(actor, notification_id))
    return redirect("web:notifications")


@staff_view
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark it read and follow its link (a path of this site; anything else leads back to the list)."""
    actor = web_actor(request)
    found = notifications.mark_read(actor, notifications.get_notification(actor, notification_id))
    safe = found.url.startswith("/") and url_has_allowed_host_and_scheme(found.url, allowed_hosts={request.get_host()})
    return redirect(found.url if safe else "web:notifications")


@staff_view
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    notifications.mark_all_read(web_actor(request))
    return redirect("web:notifications")
