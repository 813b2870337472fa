from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer


class CasesConfig(AppConfig):
    name = "cxloop.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from cxloop.cases.services import activity, customer_links, intake
        from cxloop.core.customer_refs import register_customer_reference
        from cxloop.events.bus import subscribe

        subscribe("interaction.recorded", activity.on_interaction_recorded)
        subscribe("message.received", intake.on_message_received)
        subscribe("customer.updated", customer_links.on_customer_updated)
        register_customer_reference(
            "cases",
            customer_links.move_customer_cases,
            customer_links.restore_customer_cases,
            customer_links.export_customer_cases,
        )
        register_customer_reference(
            "promises",
            customer_links.move_customer_promises,
            customer_links.restore_customer_promises,
            customer_links.export_customer_promises,
        )

        _register_web_panels()
        _register_promises_panel()


def _register_web_panels() -> None:
    """The customer page's "Cases" panel. Its context comes from the staff UI (cxloop.web), imported on first use
    so that starting the app does not load the web views."""
    from cxloop.web.panels import PANEL_ORDER, register_customer_panel

    register_customer_panel("cases", "Cases", "web/cases/customer_panel.html", _cases_panel, order=PANEL_ORDER["cases"])


def _cases_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    from cxloop.web.views.cases import panel_context

    return panel_context(actor, customer)


def _register_promises_panel() -> None:
    """The customer page's "Promises" panel (open and missed promises, make/keep/cancel, the customer's link)."""
    from cxloop.web.panels import register_customer_panel

    register_customer_panel("promises", "Promises", "web/promises/customer_panel.html", _promises_panel, order=15)


def _promises_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    from cxloop.web.views.promises import customer_panel_context

    return customer_panel_context(actor, customer)
