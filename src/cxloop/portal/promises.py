"""The customer's "what we promised you" page: holding a signed link (sent by staff from the customer page), a
customer sees the commitments we made them that are still open, the late ones first and marked as late, and what
we kept for them lately.

No login: the signed token is the credential, so the page shows only what was promised to that customer (no
staff names, no case notes), read through the promise queries with an actor that may only read.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cxloop.cases.models import Promise, PromiseStatus
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.services import promises as promise_services
from cxloop.customers.models import Customer
from cxloop.interactions.models import Channel

_NOT_FOUND = ("This link does not work", "The link may be incomplete. Open it again from the message we sent you.")
_EXPIRED = (
    "This link has expired",
    "For your security, links to your promises page stop working after a while. "
    "Use the link in a more recent message from us, or reply to any message and we will help.",
)


@dataclass(frozen=True)
class ShownPromise:
    """A promise as the customer reads it: what, by when (in their time zone), how it was made, and whether late."""

    description: str
    due_at: datetime
    channel: str
    is_late: bool
    kept_at: datetime | None = None


def _zone(customer: Customer) -> tzinfo:
    for name in (customer.time_zone, settings.TIME_ZONE):
        if name:
            try:
                return zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
    return zoneinfo.ZoneInfo("UTC")


def _shown(promise: Promise, zone: tzinfo, now: datetime) -> ShownPromise:
    channel = Channel(promise.channel).label if promise.channel in Channel.values else ""
    return ShownPromise(
        description=promise.description,
        due_at=timezone.localtime(promise.due_at, zone),
        channel=channel.lower() if channel else "",
        is_late=promise.status == PromiseStatus.MISSED or promise.due_at < now,
        kept_at=timezone.localtime(promise.kept_at, zone) if promise.kept_at else None,
    )


def _problem(request: HttpRequest, status: int, texts: tuple[str, str]) -> HttpResponse:
    title, detail = texts
    return render(request, "portal/problem.html", {"title": title, "detail": detail}, status=status)


@never_cache
@require_GET
def promises_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer = promise_services.customer_for_promises_token(token)
    except promise_services.PromisesLinkExpiredError:
        return _problem(request, 400, _EXPIRED)
    except promise_services.PromisesLinkInvalidError:
        return _problem(request, 404, _NOT_FOUND)
    actor = promise_services.promises_page_actor(request.META.get("REMOTE_ADDR"))
    zone = _zone(customer)
    now = timezone.now()
    open_ones = [_shown(p, zone, now) for p in promise_queries.customer_promises(actor, customer)]
    kept = [_shown(p, zone, now) for p in promise_queries.recently_kept(actor, customer)]
    context = {
        "customer_name": customer.name.split()[0] if customer.name.strip() else "",
        "open_promises": sorted(open_ones, key=lambda p: (not p.is_late, p.due_at)),
        "kept_promises": kept,
        "zone_name": str(zone),
    }
    return render(request, "portal/promises.html", context)
