"""The preference centre: a customer, holding a signed link, sees and changes their own consents.

No login: the signed token is the credential, so the page shows addresses only masked, and every
change is recorded with source "preference_centre" and audited like a staff change.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cxloop.customers.models import Customer
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import ConsentChange
from cxloop.portal import choices

_NOT_FOUND = ("This link does not work", "The link may be incomplete. Open it again from the message we sent you.")
_EXPIRED = (
    "This link has expired",
    "For your security, links to your preferences stop working after a while. "
    "Use the link in a more recent message from us, or reply to any message and we will help.",
)


def _problem(request: HttpRequest, status: int, texts: tuple[str, str]) -> HttpResponse:
    title, detail = texts
    return render(request, "portal/problem.html", {"title": title, "detail": detail}, status=status)


def _customer(request: HttpRequest, token: str) -> Customer | HttpResponse:
    try:
        return messaging_services.customer_for_token(token)
    except messaging_services.LinkExpiredError:
        return _problem(request, 400, _EXPIRED)
    except messaging_services.LinkInvalidError:
        return _problem(request, 404, _NOT_FOUND)


def _apply(request: HttpRequest, customer: Customer) -> str:
    actor = messaging_services.preference_centre_actor(request.META.get("REMOTE_ADDR"))
    changes: list[ConsentChange]
    if request.POST.get("action") == "unsubscribe_all":
        changes = [ConsentChange(channel="*", purpose="marketing", granted=False, note="unsubscribe from all")]
        done = "unsubscribed"
    else:
        changes = choices.changes_from_form(customer, request.POST)
        done = "saved"
    if changes:
        messaging_services.record_consents(actor, customer, changes, source="preference_centre")
    return done


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    found = _customer(request, token)
    if isinstance(found, HttpResponse):
        return found
    if request.method == "POST":
        done = _apply(request, found)
        return HttpResponseRedirect(f"{request.path}?done={done}")
    context = {
        "customer_name": found.name.split()[0] if found.name.strip() else "",
        "rows": choices.rows_for(found),
        "done": request.GET.get("done", ""),
    }
    return render(request, "portal/preferences.html", context)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def one_click_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe URL. RFC 8058's POST comes from the mail client without a page, so no CSRF token
    can exist; it is safe without one: the signed link is the credential and the only effect is withdrawing
    marketing. A GET (a person, or a link scanner that must not unsubscribe anyone) leads to the page.
    """
    found = _customer(request, token)
    if isinstance(found, HttpResponse):
        return found
    if request.method == "GET":
        return HttpResponseRedirect(reverse("portal:preferences", kwargs={"token": token}))
    actor = messaging_services.preference_centre_actor(request.META.get("REMOTE_ADDR"))
    messaging_services.record_consents(
        actor,
        found,
        [ConsentChange(channel="*", purpose="marketing", granted=False, note="one-click unsubscribe")],
        source="preference_centre",
    )
    return HttpResponse("You are unsubscribed from marketing messages.\n", content_type="text/plain; charset=utf-8")
