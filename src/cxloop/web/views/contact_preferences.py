"""The customer page's "Contact preferences" panel: consent per channel and purpose with its history, the
customer's suppressed addresses, their recent outbound messages (a blocked or failed one says why), the
preference-centre link to send them, and a form for staff to record a change the customer asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import ConsentRecord, ConsentSource, Purpose
from cxloop.messaging.services.addresses import CHANNEL_KINDS
from cxloop.messaging.types import ConsentState
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.messaging_forms import ConsentForm, channel_label
from cxloop.web.responses import is_htmx, partial_or_page, staff_view

PANEL_ORDER = 60
RECENT_MESSAGES = 10
HISTORY_SHOWN = 8
PANEL_TEMPLATE = "web/customers/_contact_preferences.html"
PANEL_ANCHOR = "#panel-contact-preferences"


@dataclass(frozen=True)
class ConsentCell:
    allowed: bool
    explicit: bool
    source: str
    at: datetime | None


@dataclass(frozen=True)
class ConsentRow:
    channel: str
    label: str
    service: ConsentCell
    marketing: ConsentCell


def _cell(state: ConsentState) -> ConsentCell:
    source = ConsentSource(state.source).label if state.source in ConsentSource.values else state.source
    return ConsentCell(state.allowed, state.explicit, source, parse_datetime(state.at) if state.at else None)


def consent_rows(states: list[ConsentState]) -> list[ConsentRow]:
    by_key = {(s.channel, s.purpose): s for s in states}
    return [
        ConsentRow(
            channel,
            channel_label(channel),
            _cell(by_key[(channel, Purpose.SERVICE)]),
            _cell(by_key[(channel, Purpose.MARKETING)]),
        )
        for channel in CHANNEL_KINDS
        if (channel, Purpose.SERVICE) in by_key and (channel, Purpose.MARKETING) in by_key
    ]


def _history(records: list[ConsentRecord]) -> list[dict[str, Any]]:
    return [
        {
            "record": record,
            "channel": channel_label(record.channel),
            "purpose": Purpose(record.purpose).label if record.purpose in Purpose.values else record.purpose,
            "source": ConsentSource(record.source).label if record.source in ConsentSource.values else record.source,
        }
        for record in records
    ]


def panel_context(actor: Actor, customer: Customer, form: ConsentForm | None = None) -> dict[str, Any] | None:
    """What the panel shows; None (no panel) for someone who may not see customers."""
    if not actor.can(Perm.CUSTOMERS_VIEW):
        return None
    consent = messaging_queries.consent_summary(actor, customer)
    history = _history(consent.history)
    can_edit = actor.can(Perm.CUSTOMERS_EDIT) and customer.is_active
    recent = None
    if actor.can(Perm.INTERACTIONS_VIEW):
        recent = messaging_queries.list_messages(actor, customer=customer.public_id, limit=RECENT_MESSAGES).items
    return {
        "consent_rows": consent_rows(consent.current),
        "consent_history": history[:HISTORY_SHOWN],
        "consent_history_more": history[HISTORY_SHOWN:],
        "suppressed": messaging_queries.customer_suppressions(actor, customer),
        "recent_messages": recent,
        "can_edit_consent": can_edit,
        "consent_form": form or ConsentForm(),
    }


@staff_view
@require_POST
def consent_record(request: HttpRequest, public_id: str) -> HttpResponse:
    """Record a grant or withdrawal that the customer asked staff for (source "staff"; audited by the service)."""
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = customer_queries.get_customer(actor, public_id)
    form = ConsentForm(request.POST)
    written = None
    if form.is_valid():
        written = attempt(
            form, lambda: messaging_services.record_consents(actor, customer, [form.change()], source="staff")
        )
    if written is None:
        context = {**(panel_context(actor, customer, form) or {}), "customer": customer}
        return partial_or_page(request, PANEL_TEMPLATE, context, title="Contact preferences", status=422)
    outcome = "Recorded." if written else "No change: the customer's preference already says so."
    if not is_htmx(request):
        if written:
            messages.success(request, outcome)
        else:
            messages.info(request, outcome)
        return redirect(reverse("web:customer", args=[customer.public_id]) + PANEL_ANCHOR)
    context = {**(panel_context(actor, customer) or {}), "customer": customer, "consent_outcome": outcome}
    return render(request, PANEL_TEMPLATE, context)


@staff_view
@require_GET
def preference_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """The customer's signed preference-centre link, to copy into a message to them; only on request, because
    whoever holds it may change their consents (so only staff who may change them too get it)."""
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = customer_queries.get_customer(actor, public_id)
    context = {"customer": customer, "preference_url": messaging_services.preference_link(customer)}
    return partial_or_page(request, "web/customers/_preference_link.html", context, title="Preference-centre link")
