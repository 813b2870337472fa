"""WhatsApp Cloud API settings, read when needed so a changed setting (or a test's override) applies at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class WhatsAppConfig:
    token: str = ""
    app_secret: str = ""
    verify_token: str = ""
    phone_number_id: str = ""
    api_base: str = "https://graph.facebook.com/v21.0"

    @classmethod
    def from_settings(cls) -> WhatsAppConfig:
        return cls(
            token=settings.CXLOOP_WHATSAPP_TOKEN,
            app_secret=settings.CXLOOP_WHATSAPP_APP_SECRET,
            verify_token=settings.CXLOOP_WHATSAPP_VERIFY_TOKEN,
            phone_number_id=settings.CXLOOP_WHATSAPP_PHONE_NUMBER_ID,
            api_base=settings.CXLOOP_WHATSAPP_API_BASE,
        )

    @property
    def can_receive(self) -> bool:
        """Webhook posts are signed with the app secret; without it none can be trusted."""
        return bool(self.app_secret)

    @property
    def can_send(self) -> bool:
        return bool(self.token and self.phone_number_id)
