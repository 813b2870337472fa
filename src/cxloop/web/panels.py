"""Sections of the customer page that other modules contribute (cases, feedback, segments, journeys).

The customer page is the centre of the product, and later modules each add what they know about the
person without the web module importing them. A module registers a panel from its AppConfig.ready():

    from cxloop.web.panels import register_customer_panel

    register_customer_panel(
        "cases", "Cases", "cases/customer_panel.html", open_cases_context, order=PANEL_ORDER["cases"]
    )

`context_fn(actor, customer)` returns the template context, or None to show nothing (for example when
the actor may not see that module's data; a PermissionDeniedError raised by it is treated the same).
Panels not registered render nothing at all: there are no placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from cxloop.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from django.http import HttpRequest

    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer

ContextFn = Callable[["Actor", "Customer"], dict[str, Any] | None]

# The reserved places, top to bottom; a module may pass any other order number too.
PANEL_ORDER: dict[str, int] = {"cases": 10, "feedback": 20, "segments": 30, "journeys": 40}


@dataclass(frozen=True)
class CustomerPanel:
    key: str
    title: str
    template: str
    context_fn: ContextFn
    order: int


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    title: str
    html: SafeString


_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(
    key: str, title: str, template: str, context_fn: ContextFn, *, order: int | None = None
) -> None:
    """Add (or replace, by key) a section of the customer page."""
    _panels[key] = CustomerPanel(
        key, title, template, context_fn, PANEL_ORDER.get(key, 100) if order is None else order
    )


def unregister_customer_panel(key: str) -> None:
    _panels.pop(key, None)


def customer_panels() -> list[CustomerPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


def render_customer_panels(request: HttpRequest, actor: Actor, customer: Customer) -> list[RenderedPanel]:
    rendered: list[RenderedPanel] = []
    for panel in customer_panels():
        try:
            context = panel.context_fn(actor, customer)
        except PermissionDeniedError:
            continue
        if context is None:
            continue
        html = render_to_string(panel.template, {**context, "customer": customer, "actor": actor}, request=request)
        rendered.append(RenderedPanel(panel.key, panel.title, SafeString(html)))
    return rendered
