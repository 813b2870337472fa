from django.apps import AppConfig


class SmsChannelConfig(AppConfig):
    name = "cxloop.channels.sms"
    label = "channels_sms"
    verbose_name = "SMS (Twilio)"

    def ready(self) -> None:
        from cxloop.channels import registry
        from cxloop.channels.sms.adapter import TwilioSmsAdapter
        from cxloop.channels.sms.config import TwilioConfig
        from cxloop.channels.sms.sender import TwilioSender

        # Parsing needs no secret (kept payloads can be re-processed); sending needs the account.
        registry.register_adapter(TwilioSmsAdapter())
        config = TwilioConfig.from_settings()
        if config.can_send:
            registry.register_sender(TwilioSender(config))
