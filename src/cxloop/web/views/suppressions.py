"""Settings → Suppression list: addresses nothing is sent to on a channel, whatever consent says.

Anyone who may see customers may read the list (it explains why a message was blocked); adding an entry by
hand and lifting one need CHANNELS_MANAGE. The messaging services audit both.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.pagination import Page
from cxloop.core.permissions import Perm
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import Suppression
from cxloop.web.actor import web_actor
from cxloop.web.forms import apply_errors, attempt
from cxloop.web.messaging_forms import SuppressionFilterForm, SuppressionForm
from cxloop.web.responses import staff_view

SUPPRESSION_PAGE = 50


def _page(
    request: HttpRequest, actor: Actor, filters: SuppressionFilterForm
) -> tuple[Page[Suppression] | None, dict[str, str]]:
    wanted = filters.filters()
    try:
        page = messaging_queries.list_suppressions(
            actor, **wanted, cursor=request.GET.get("cursor") or None, limit=SUPPRESSION_PAGE
        )
    except ValidationError as exc:
        apply_errors(filters, exc)
        return None, wanted
    return page, wanted


def _render(request: HttpRequest, actor: Actor, form: SuppressionForm, status: int = 200) -> HttpResponse:
    actor.require(Perm.CUSTOMERS_VIEW)
    filters = SuppressionFilterForm(request.GET or None)
    page, wanted = _page(request, actor, filters)
    active = {k: v for k, v in wanted.items() if v}
    context = {
        "filters": filters,
        "filtered": bool(active),
        "page": page,
        "next_url": "?" + urlencode({**active, "cursor": page.next_cursor}) if page and page.next_cursor else "",
        "form": form,
        "can_manage": actor.can(Perm.CHANNELS_MANAGE),
    }
    if page is None or (request.GET and not filters.is_valid()):
        status = 422
    return render(request, "web/suppressions/list.html", context, status=status)


@staff_view
@require_GET
def suppression_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    return _render(request, actor, SuppressionForm())


@staff_view
@require_POST
def suppression_add(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CHANNELS_MANAGE)
    form = SuppressionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        result = attempt(
            form,
            lambda: messaging_services.suppress_address(
                actor, data["channel"], data["address"], data["reason"], source="staff", note=data["note"]
            ),
        )
        if result is not None:
            row, created = result
            if created:
                messages.success(request, f"Suppressed {row.address} on {row.channel} ({row.get_reason_display()}).")
            else:
                messages.info(request, f"{row.address} was already suppressed on {row.channel} for this reason.")
            return redirect(reverse("web:suppressions") + "?" + urlencode({"channel": row.channel}))
    return _render(request, actor, form, status=422)


@staff_view
@require_POST
def suppression_lift(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    messaging_services.lift_suppression(actor, public_id)
    messages.success(request, f"Lifted the suppression {public_id}; messages may go to that address again.")
    back = request.POST.get("next", "")
    if back.startswith("?"):  # only ever our own list with its filters
        return redirect(reverse("web:suppressions") + back)
    return redirect("web:suppressions")
