from django.apps import AppConfig


class WebchatConfig(AppConfig):
    name = "cxloop.channels.webchat"
    label = "webchat"
    verbose_name = "Web chat"

    def ready(self) -> None:
        from cxloop.channels import registry
        from cxloop.channels.webchat import services
        from cxloop.channels.webchat.adapter import ChatAdapter
        from cxloop.channels.webchat.sender import ChatSender
        from cxloop.core.customer_refs import register_customer_reference

        registry.register_adapter(ChatAdapter())
        registry.register_sender(ChatSender())
        # A merge moves the visitor's chat sessions with the rest of the profile; an export includes them.
        register_customer_reference(
            "webchat.sessions",
            services.move_customer_sessions,
            services.restore_customer_sessions,
            services.export_customer_sessions,
        )
