from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "cxloop.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from cxloop.channels import registry
        from cxloop.channels.email.adapter import EmailAdapter
        from cxloop.channels.email.sender import EmailSender
        from cxloop.channels.social.adapter import SocialAdapter, SocialSender

        registry.register_adapter(EmailAdapter())
        registry.register_sender(EmailSender())
        registry.register_adapter(SocialAdapter())
        registry.register_sender(SocialSender())
