from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from cxloop.core.actor import Actor
    from cxloop.customers.models import Customer
    from cxloop.events.bus import DomainEvent


class FeedbackConfig(AppConfig):
    name = "cxloop.feedback"
    label = "feedback"
    verbose_name = "Feedback"

    def ready(self) -> None:
        # Subscribers (survey triggers, closed-loop rules) register here as the services that own them land.
        _register_closed_loop()
        _register_survey_triggers()


def _register_closed_loop() -> None:
    """The closed loop reacts to answers, to staff reaching the customer and to its follow-up case; invitations,
    answers and loops follow their customer through merges and into the data export."""
    from cxloop.core.customer_refs import register_customer_reference
    from cxloop.events.bus import subscribe
    from cxloop.feedback.services import customer_links, loops

    subscribe("response.received", loops.on_response_received)
    subscribe("interaction.recorded", loops.on_interaction_recorded)
    subscribe("message.sent", loops.on_message_sent)
    subscribe("case.resolved", loops.on_case_resolved)
    subscribe("case.assigned", loops.on_case_assigned)
    subscribe("case.merged", loops.on_case_merged)
    # Invitations first: answers move only where their invitation moved.
    register_customer_reference(
        "survey_invitations",
        customer_links.move_customer_invitations,
        customer_links.restore_customer_invitations,
        customer_links.export_customer_invitations,
    )
    register_customer_reference(
        "survey_responses",
        customer_links.move_customer_responses,
        customer_links.restore_customer_responses,
        customer_links.export_customer_responses,
    )
    register_customer_reference(
        "feedback_loops",
        customer_links.move_customer_loops,
        customer_links.restore_customer_loops,
        customer_links.export_customer_loops,
    )


def _register_survey_triggers() -> None:
    """Survey triggers listen to every event (a set lookup for the names no trigger uses) and to conversations
    closing (the end of a chat); the customer page gets its "Surveys" panel with the "Send a survey" form."""
    from cxloop.events.bus import subscribe
    from cxloop.feedback.services import triggers
    from cxloop.web.panels import register_customer_panel

    subscribe("*", triggers.on_domain_event)
    subscribe("conversation.status_changed", triggers.on_conversation_status_changed)
    subscribe("customer_event.received", _on_customer_event)
    register_customer_panel("surveys", "Surveys", "web/feedback/surveys/customer_panel.html", _surveys_panel, order=21)


def _on_customer_event(event: DomainEvent) -> None:
    """A customer event fires the triggers named after its TYPE ("purchase.completed"), with its properties as the
    payload the trigger's conditions read and its event_id as the ref that keeps one event from inviting twice."""
    from cxloop.feedback.services import triggers

    data = event.payload()
    if data["type"] not in triggers.active_event_names():  # a set lookup: a batch publishes thousands
        return
    payload = {**data.get("properties", {}), "event_id": data["event_id"], "type": data["type"]}
    triggers.fire(str(data["type"]), customer_id=str(data["customer_id"]), payload=payload)


def _surveys_panel(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    from cxloop.web.views.feedback_surveys import customer_panel_context

    return customer_panel_context(actor, customer)
