from django.apps import AppConfig


class WhatsAppChannelConfig(AppConfig):
    name = "cxloop.channels.whatsapp"
    label = "channels_whatsapp"
    verbose_name = "WhatsApp (Cloud API)"

    def ready(self) -> None:
        from cxloop.channels import registry
        from cxloop.channels.whatsapp.adapter import WhatsAppAdapter
        from cxloop.channels.whatsapp.config import WhatsAppConfig
        from cxloop.channels.whatsapp.sender import WhatsAppSender

        # Parsing needs no secret (kept payloads can be re-processed); sending needs the token.
        registry.register_adapter(WhatsAppAdapter())
        config = WhatsAppConfig.from_settings()
        if config.can_send:
            registry.register_sender(WhatsAppSender(config))
