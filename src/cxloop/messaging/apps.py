from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "cxloop.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from cxloop.core.customer_refs import register_customer_reference
        from cxloop.events.bus import subscribe
        from cxloop.messaging import governance
        from cxloop.messaging.services import refs, status

        governance.check_settings()
        subscribe("delivery.status_reported", status.on_delivery_status)
        subscribe("address.bounced", status.on_address_bounced)
        subscribe("message.received", status.on_inbound_received)
        register_customer_reference(
            "messaging.consents",
            refs.move_customer_consents,
            refs.restore_customer_consents,
            refs.export_customer_consents,
        )
        register_customer_reference(
            "messaging.messages",
            refs.move_customer_messages,
            refs.restore_customer_messages,
            refs.export_customer_messages,
        )
