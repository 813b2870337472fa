from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "cxloop.web"
    label = "web"

    def ready(self) -> None:
        from cxloop.web.panels import register_customer_panel
        from cxloop.web.views import contact_preferences, event_types
        from cxloop.web.views.inbox import panel_context

        register_customer_panel(
            "conversations", "Conversations", "web/inbox/customer_panel.html", panel_context, order=5
        )
        register_customer_panel(
            "contact-preferences",
            "Contact preferences",
            contact_preferences.PANEL_TEMPLATE,
            contact_preferences.panel_context,
            order=contact_preferences.PANEL_ORDER,
        )
        register_customer_panel(
            "events", "Events", event_types.PANEL_TEMPLATE, event_types.panel_context, order=event_types.PANEL_ORDER
        )
