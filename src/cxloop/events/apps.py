from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "cxloop.events"
    label = "events"

    def ready(self) -> None:
        # A merge moves the customer's events with the rest of the profile; an unmerge moves exactly those back.
        from cxloop.core.customer_refs import register_customer_reference
        from cxloop.events import services

        register_customer_reference(
            "customer_events",
            services.move_customer_events,
            services.restore_customer_events,
            services.export_customer_events,
        )
