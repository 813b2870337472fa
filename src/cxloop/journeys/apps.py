from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer


class JourneysConfig(AppConfig):
    name = "cxloop.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        # Customer events enrol, wake and convert; a journey's change refreshes the set of event types that matter.
        from cxloop.events.bus import subscribe
        from cxloop.journeys import subscribers

        subscribe("customer_event.received", subscribers.on_customer_event)
        subscribe("interaction.recorded", subscribers.on_interaction_recorded)
        subscribe("journey.published", subscribers.invalidate)
        subscribe("journey.status_changed", subscribers.invalidate)
        _register_customer_panel()
        _register_customer_links()


def _register_customer_links() -> None:
    """Enrolments follow their customer through merges and unmerges, and into the personal-data export."""
    from cxloop.core.customer_refs import register_customer_reference
    from cxloop.journeys import customer_links

    register_customer_reference(
        "journey_enrolments",
        customer_links.move_customer_enrolments,
        customer_links.restore_customer_enrolments,
        customer_links.export_customer_enrolments,
    )


def _register_customer_panel() -> None:
    """The customer page gets a "Journeys" panel: the customer's enrolments and, for staff who may, "Enrol in…"."""
    from cxloop.web.panels import register_customer_panel

    register_customer_panel("journeys", "Journeys", "web/journeys/customer_panel.html", _journeys_panel)


def _journeys_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    from cxloop.web.views.journeys import customer_panel_context

    return customer_panel_context(actor, customer)
